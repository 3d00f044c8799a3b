import { CacheError, ErrorCodes } from '../errors.js';
import { createFrameReader } from './frameReader.js';
import { encodeFrame, isRecord, JSON_BLANK, newIpc, takeOverReads } from './wire.js';

export interface ClientConnection {
  /** Writes one message. Throws CacheError(E_UNREACHABLE) once closed; TypeError if `data` cannot be serialised. */
  send(type: 'request', data: unknown): void;
  /** Writes a pre-encoded frame (see encodeFrame). */
  sendFrame(frame: string): void;
  close(): void;
  readonly closed: boolean;
  /** Let the process exit while this connection is idle (ref() undoes it). */
  unref(): void;
  ref(): void;
}

export interface ClientConnectionOptions {
  socketPath: string;
  /** Connect timeout (default 5000 ms). */
  timeoutMs?: number;
  /** Largest frame accepted from the daemon (default 256 MiB). */
  frameLimitBytes?: number;
  onMessage(type: string, data: unknown): void;
  /** Called once when the connection ends; `error` says why when it was not close(). */
  onClose(error: CacheError | null): void;
}

let clientSeq = 0;

/** Connects to a daemon. Refused, missing or silent sockets reject with E_UNREACHABLE (retryable). */
export function openConnection(opts: ClientConnectionOptions): Promise<ClientConnection> {
  const { socketPath } = opts;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const unreachable = (why: string, cause?: unknown): CacheError =>
    new CacheError(ErrorCodes.UNREACHABLE, `no daemon answering on ${socketPath} (${why})`, {
      retryable: true,
      cause,
      details: { socket: socketPath },
    });

  return new Promise<ClientConnection>((resolve, reject) => {
    const ipc = newIpc();
    const name = `vocorize-cache-${process.pid}-${++clientSeq}`;
    ipc.connectTo(name, socketPath);
    const socket = ipc.of[name]?.socket;
    if (!socket) return reject(unreachable('node-ipc did not open a socket'));

    let connected = false;
    let closed = false;
    let closeError: CacheError | null = null;
    const timer = setTimeout(() => {
      closeError = unreachable(`no connection within ${timeoutMs} ms`);
      socket.destroy();
    }, timeoutMs);

    const fail = (err: CacheError): void => {
      if (!closeError) closeError = err;
      socket.destroy();
    };
    const reader = createFrameReader({
      limitBytes: opts.frameLimitBytes ?? 256 * 1024 * 1024,
      onFrame: (text) => {
        if (JSON_BLANK.test(text)) return;
        let msg: unknown;
        try {
          msg = JSON.parse(text);
        } catch {
          return fail(new CacheError(ErrorCodes.BAD_FRAME, `the daemon on ${socketPath} sent a frame that is not JSON`));
        }
        if (!isRecord(msg) || typeof msg.type !== 'string') {
          return fail(new CacheError(ErrorCodes.BAD_FRAME, `the daemon on ${socketPath} sent a message without a type`));
        }
        opts.onMessage(msg.type, msg.data);
      },
      onOversize: (bytes) =>
        fail(new CacheError(ErrorCodes.BAD_FRAME, `the daemon on ${socketPath} sent a frame over ${bytes} bytes`)),
    });
    takeOverReads(socket, reader);

    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected) {
        closeError ??= unreachable(err.code ?? err.message, err);
      } else {
        closeError ??= new CacheError(ErrorCodes.UNREACHABLE, `connection to the daemon on ${socketPath} failed: ${err.message}`, {
          retryable: true,
          cause: err,
        });
      }
    });
    socket.once('close', () => {
      clearTimeout(timer);
      closed = true;
      reader.stop();
      ipc.disconnect(name);
      if (!connected) {
        reject(closeError ?? unreachable('connection closed'));
        return;
      }
      opts.onClose(closeError);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      connected = true;
      const conn: ClientConnection = {
        get closed() {
          return closed;
        },
        send(type, data) {
          conn.sendFrame(encodeFrame(type, data));
        },
        sendFrame(frame) {
          if (closed || socket.destroyed) {
            throw new CacheError(ErrorCodes.UNREACHABLE, `the connection to the daemon on ${socketPath} is closed`, { retryable: true });
          }
          socket.write(frame);
        },
        close() {
          if (!closed) socket.destroy();
        },
        unref() {
          socket.unref();
        },
        ref() {
          socket.ref();
        },
      };
      resolve(conn);
    });
  });
}
