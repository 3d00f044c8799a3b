import fs from 'node:fs';
import net from 'node:net';
import { IPCModule } from '@achrinza/node-ipc';
import { CacheError, ErrorCodes, type ErrorShape } from '../errors.js';
import type { Log } from '../logger.js';
import { createFrameReader, FRAME_DELIMITER, type FrameReader } from './frameReader.js';
import { ensureSocketDir, probeSocket } from './socketFile.js';

/**
 * The one module that knows how bytes move: node-ipc's wire format (`{"type","data"}` JSON + `\f`)
 * over a Unix socket. Swap the transport here and nothing else changes.
 *
 * What node-ipc does and what we do (see docs/protocol.md, "Implementation notes"):
 *  - node-ipc (`@achrinza/node-ipc` 10.1.11, pinned) creates the server, listens, accepts, tracks
 *    sockets, and opens client sockets (`connectTo`, retries off);
 *  - its own frame parser is detached from every socket and replaced by `createFrameReader`, because
 *    it (a) crashes the process on a frame whose `type` is not a string (`5\f` → TypeError thrown
 *    from a socket 'data' handler), (b) buffers an unfinished frame without limit, (c) only parses
 *    when a read happens to end on `\f`, and (d) dispatches by client-chosen `type` onto its own
 *    event names ('connect', 'close', 'error');
 *  - we serialise replies ourselves (identical bytes to node-ipc's `emit`) so a result that cannot be
 *    serialised becomes an error reply instead of an exception.
 */

export type MessageType = 'request' | 'response' | 'progress';

export interface ServerConnection {
  /** Unique per server, increasing from 1. */
  readonly id: number;
  /** Sends one message; silently dropped once the connection is closing. Never throws. */
  send(type: 'response' | 'progress', data: Record<string, unknown>): void;
  /** Flushes what was sent, then closes. */
  close(): void;
}

export interface ServerOptions {
  socketPath: string;
  /** Largest frame (UTF-8 bytes before the `\f`) accepted; a bigger one gets E_BAD_FRAME and the connection is closed. */
  frameLimitBytes: number;
  logger?: Pick<Log, 'warn' | 'debug'>;
  /** Most simultaneous connections (default 1024). */
  maxConnections?: number;
  /** `raw` is the `data` of a `type: "request"` message, unvalidated. Exceptions become E_INTERNAL replies. */
  onRequest(raw: unknown, conn: ServerConnection): void;
  onConnect?(conn: ServerConnection): void;
  onDisconnect?(conn: ServerConnection): void;
}

export interface TransportServer {
  readonly socketPath: string;
  /** Stops accepting, closes every connection, removes the socket file. */
  close(): Promise<void>;
  connections(): number;
}

/** Replies queued beyond this for one connection (a client that does not read) close it. */
const MAX_UNREAD_BYTES = 256 * 1024 * 1024;
/** After a fatal frame error the peer gets this long to read the reply and hang up. */
const CLOSE_GRACE_MS = 2_000;

const noopLogger: Pick<Log, 'warn' | 'debug'> = { warn: () => undefined, debug: () => undefined };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function idOf(data: unknown): string | number | null {
  if (!isRecord(data) || !Object.prototype.hasOwnProperty.call(data, 'id')) return null;
  const id = data.id;
  if (typeof id === 'string' && id.length <= 128) return id;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return id;
  return null;
}

function errorReply(id: string | number | null, code: string, message: string): Record<string, unknown> {
  const error: ErrorShape = { code, message, retryable: false };
  return { id, error };
}

/** `{"type":T,"data":D}\f`, as node-ipc's js-message formats it. Throws if D cannot be serialised. */
export function encodeFrame(type: MessageType, data: unknown): string {
  return `${JSON.stringify({ type, data })}${FRAME_DELIMITER}`;
}

function newIpc(): IPCModule {
  const ipc = new IPCModule();
  ipc.config.silent = true;
  ipc.config.unlink = false;
  ipc.config.rawBuffer = false;
  ipc.config.encoding = 'utf8';
  ipc.config.maxRetries = 0;
  ipc.config.stopRetrying = true;
  return ipc;
}

/** Replaces node-ipc's parser on `socket` with a bounded frame reader. */
function takeOverReads(socket: net.Socket, reader: FrameReader): void {
  socket.removeAllListeners('data');
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string | Buffer) => {
    if (!reader.stopped) reader.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
  });
}

/**
 * Starts serving on `socketPath`. Refuses (E_LOCKED) when a process already answers there; replaces
 * a stale socket file; the socket directory must be private (E_UNSAFE_PERMISSIONS); socket mode 0600.
 */
export async function createServer(opts: ServerOptions): Promise<TransportServer> {
  const { socketPath, frameLimitBytes } = opts;
  const logger = opts.logger ?? noopLogger;
  ensureSocketDir(socketPath);

  const found = await probeSocket(socketPath);
  if (found === 'live') {
    throw new CacheError(ErrorCodes.LOCKED, `a daemon is already serving ${socketPath}`, { details: { socket: socketPath } });
  }
  if (found === 'stale') {
    logger.warn({ socket: socketPath }, 'replacing a stale socket (no process answered on it)');
    try {
      fs.unlinkSync(socketPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  const ipc = newIpc();
  ipc.config.maxConnections = opts.maxConnections ?? 1024;
  const conns = new Map<net.Socket, ServerConnection>();
  let nextId = 1;

  await new Promise<void>((resolve, reject) => {
    let listening = false;
    ipc.serve(socketPath, () => {
      listening = true;
      resolve();
    });
    const server = ipc.server;
    if (!server) return reject(new CacheError(ErrorCodes.INTERNAL, `node-ipc did not create a server for ${socketPath}`));
    // node-ipc publishes both server errors (listen) and per-socket errors here.
    server.on('error', (err: unknown) => {
      if (!listening) {
        const code = (err as NodeJS.ErrnoException | undefined)?.code;
        reject(
          code === 'EADDRINUSE'
            ? new CacheError(ErrorCodes.LOCKED, `a daemon is already serving ${socketPath}`, { cause: err })
            : new CacheError(ErrorCodes.INTERNAL, `cannot listen on ${socketPath}: ${String((err as Error)?.message ?? err)}`, {
                cause: err,
              }),
        );
      } else {
        logger.debug({ err: String((err as Error)?.message ?? err) }, 'socket error');
      }
    });
    server.on('connect', (socket: unknown) => {
      if (socket instanceof net.Socket) accept(socket);
    });
    server.start();
  });

  const listenedIno = (() => {
    fs.chmodSync(socketPath, 0o600);
    return fs.statSync(socketPath).ino;
  })();

  function accept(socket: net.Socket): void {
    const id = nextId++;
    let closing = false;
    let graceTimer: NodeJS.Timeout | null = null;
    // A peer may send its requests and half-close (`printf ... | socat`): keep answering, and end
    // our side once every request handed to onRequest has had its response.
    socket.allowHalfOpen = true;
    let peerEnded = false;
    let inflight = 0;

    const write = (text: string): void => {
      if (closing || socket.destroyed || !socket.writable) return;
      socket.write(text);
      if (socket.writableLength > MAX_UNREAD_BYTES) {
        logger.warn({ conn: id, queued: socket.writableLength }, 'client is not reading its replies; connection closed');
        socket.destroy();
      }
    };

    const conn: ServerConnection = {
      id,
      send(type, data) {
        if (type === 'response' && inflight > 0) inflight--;
        reply(type, data);
        if (peerEnded && inflight === 0) conn.close();
      },
      close() {
        if (closing) return;
        closing = true;
        reader.stop();
        socket.end();
        graceTimer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
        graceTimer.unref();
      },
    };

    /** Writes a message without counting it as the answer to a request. */
    function reply(type: 'response' | 'progress', data: Record<string, unknown>): void {
      let text: string;
      try {
        text = encodeFrame(type, data);
      } catch (err) {
        if (type !== 'response') return;
        logger.warn({ conn: id, err: String((err as Error)?.message ?? err) }, 'reply could not be serialised');
        text = encodeFrame(
          'response',
          errorReply(idOf(data), ErrorCodes.INTERNAL, `the reply could not be serialised: ${String((err as Error)?.message ?? err)}`),
        );
      }
      write(text);
    }

    const onFrame = (text: string): void => {
      let msg: unknown;
      try {
        msg = JSON.parse(text);
      } catch (err) {
        reply('response', errorReply(null, ErrorCodes.BAD_FRAME, `frame is not valid JSON: ${(err as Error).message.slice(0, 200)}`));
        return;
      }
      if (!isRecord(msg)) {
        reply('response', errorReply(null, ErrorCodes.BAD_FRAME, 'a message must be a JSON object {"type": "request", "data": {...}}'));
        return;
      }
      if (msg.type !== 'request') {
        const got = typeof msg.type === 'string' ? JSON.stringify(msg.type.slice(0, 64)) : typeof msg.type;
        reply('response', errorReply(idOf(msg.data), ErrorCodes.BAD_FRAME, `message type must be "request", got ${got}`));
        return;
      }
      inflight++;
      try {
        opts.onRequest(msg.data, conn);
      } catch (err) {
        logger.warn({ conn: id, err: String((err as Error)?.message ?? err) }, 'request handler threw');
        conn.send('response', errorReply(idOf(msg.data), ErrorCodes.INTERNAL, `request failed: ${String((err as Error)?.message ?? err)}`));
      }
    };

    const reader = createFrameReader({
      limitBytes: frameLimitBytes,
      onFrame,
      onOversize: (bytes) => {
        logger.warn({ conn: id, bytes, limit: frameLimitBytes }, 'frame over the size limit; connection closed');
        reply(
          'response',
          errorReply(null, ErrorCodes.BAD_FRAME, `frame exceeds the limit of ${frameLimitBytes} bytes; connection closed`),
        );
        conn.close();
      },
    });

    takeOverReads(socket, reader);
    conns.set(socket, conn);
    socket.once('end', () => {
      peerEnded = true;
      if (inflight === 0) conn.close();
    });
    socket.once('close', () => {
      if (graceTimer) clearTimeout(graceTimer);
      closing = true;
      reader.stop();
      if (conns.delete(socket)) safely(() => opts.onDisconnect?.(conn), logger, 'onDisconnect threw');
    });
    safely(() => opts.onConnect?.(conn), logger, 'onConnect threw');
  }

  let closed: Promise<void> | null = null;
  return {
    socketPath,
    connections: () => conns.size,
    close() {
      if (closed) return closed;
      closed = new Promise<void>((resolve) => {
        const server = ipc.server ? ipc.server.server : false;
        for (const socket of conns.keys()) socket.destroy();
        const finish = (): void => {
          removeIfOurs(socketPath, listenedIno);
          resolve();
        };
        if (!server || !server.listening) return finish();
        server.close(() => finish());
      });
      return closed;
    },
  };
}

function safely(fn: () => void, logger: Pick<Log, 'warn'>, msg: string): void {
  try {
    fn();
  } catch (err) {
    logger.warn({ err: String((err as Error)?.message ?? err) }, msg);
  }
}

/** Unlinks the socket file unless someone else's socket took its place. */
function removeIfOurs(socketPath: string, ino: number): void {
  try {
    if (fs.lstatSync(socketPath).ino === ino) fs.unlinkSync(socketPath);
  } catch {
    // already gone
  }
}

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
