import net from 'node:net';
import { CacheError, ErrorCodes, type ErrorCode } from '../../errors.js';
import { createFrameReader } from '../../ipc/frameReader.js';
import type { Method, ParamsOf, ProgressData, ResultOf } from '../../ipc/protocol.js';

/**
 * One connection to the daemon for the fast path, on node:net alone: the same wire (node-ipc's
 * `{"type","data"}` JSON frames ended by `\f`), the same request frames and the same errors as
 * ipc/client.ts, without loading node-ipc. Calls are made one at a time.
 *
 * A connect that fails resolves null: the caller hands the command to the full CLI, which has the
 * whole story for a daemon that does not answer (autostart, lock holders, direct mode).
 */
export interface FastConnection {
  /**
   * One call. Rejects with the daemon's error (a CacheError with its code, message, retryable flag and
   * details), an E_UNREACHABLE when the connection ends first, or, when a deadline expires, an
   * E_UNREACHABLE whose `details.reason` is DEADLINE_EXPIRED.
   */
  call<M extends Method>(method: M, params: ParamsOf<M>, opts: FastCallOptions): Promise<ResultOf<M>>;
  close(): void;
}

export interface FastCallOptions {
  /** Give up after this long. */
  timeoutMs?: number;
  /** Give up when this long passes without a progress event or the answer. */
  idleTimeoutMs?: number;
  onProgress?: ((data: ProgressData) => void) | undefined;
}

/** `details.reason` of a call whose deadline expired (as ipc/client.ts's DEADLINE_EXPIRED). */
export const DEADLINE_EXPIRED = 'deadline';

/** Largest frame accepted from the daemon (as ipc/clientConnection.ts). */
const FRAME_LIMIT_BYTES = 256 * 1024 * 1024;
const JSON_BLANK = /^[ \t\n\r]*$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An error reply as a CacheError (ipc/client.ts's wireError). */
function wireError(e: unknown, socketPath: string): CacheError {
  if (!isRecord(e)) return new CacheError(ErrorCodes.INTERNAL, `the daemon on ${socketPath} sent an unreadable error`);
  const code = typeof e.code === 'string' ? e.code : ErrorCodes.INTERNAL;
  const message = typeof e.message === 'string' ? e.message : `the daemon on ${socketPath} failed with ${code}`;
  const opts: { retryable: boolean; details?: Record<string, unknown> } = { retryable: e.retryable === true };
  if (isRecord(e.details)) opts.details = e.details;
  return new CacheError(code as ErrorCode, message, opts);
}

export function fastConnect(socketPath: string, timeoutMs: number): Promise<FastConnection | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ path: socketPath });
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.once('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(null);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('close');
      resolve(connection(socket, socketPath));
    });
  });
}

function connection(socket: net.Socket, socketPath: string): FastConnection {
  let nextId = 1;
  let closedByUs = false;
  /** The one call waiting for its answer. */
  let pending: { id: number; method: string; settle(err: CacheError | null, result?: unknown): void; progress(d: ProgressData): void } | null = null;
  /** An id-less error the daemon sent (e.g. our frame was too large); explains a close that follows. */
  let frameError: CacheError | null = null;
  let closeError: CacheError | null = null;

  const fail = (err: CacheError): void => {
    closeError ??= err;
    socket.destroy();
  };
  const reader = createFrameReader({
    limitBytes: FRAME_LIMIT_BYTES,
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
      const data = msg.data;
      if (!isRecord(data)) return;
      if (msg.type === 'response') {
        if (typeof data.id !== 'number') {
          if (data.id === null && data.error !== undefined) frameError = wireError(data.error, socketPath);
          return;
        }
        if (!pending || pending.id !== data.id) return;
        if (data.error !== undefined) pending.settle(wireError(data.error, socketPath));
        else pending.settle(null, data.result);
      } else if (msg.type === 'progress' && pending && data.id === pending.id) {
        pending.progress(data as ProgressData);
      }
    },
    onOversize: (bytes) => fail(new CacheError(ErrorCodes.BAD_FRAME, `the daemon on ${socketPath} sent a frame over ${bytes} bytes`)),
  });
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    if (!reader.stopped) reader.push(chunk);
  });
  socket.on('error', (err: Error) => {
    closeError ??= new CacheError(ErrorCodes.UNREACHABLE, `connection to the daemon on ${socketPath} failed: ${err.message}`, { retryable: true, cause: err });
  });
  socket.once('close', () => {
    reader.stop();
    if (!pending) return;
    const method = pending.method;
    pending.settle(
      frameError ??
        closeError ??
        new CacheError(
          ErrorCodes.UNREACHABLE,
          closedByUs
            ? `the client closed its connection to ${socketPath} before ${method} was answered`
            : `the daemon on ${socketPath} closed the connection before answering ${method}`,
          { retryable: true },
        ),
    );
  });
  socket.unref();

  return {
    call(method, params, opts) {
      return new Promise((resolve, reject) => {
        if (pending) throw new Error('fastConnection: one call at a time');
        const id = nextId++;
        const frame = `{"type":"request","data":{"id":${id},"method":${JSON.stringify(method)},"params":${JSON.stringify(params ?? {})}}}\f`;
        const timers: { total?: NodeJS.Timeout; idle?: NodeJS.Timeout } = {};
        const expire = (ms: number, idle: boolean) => () =>
          pending?.settle(
            new CacheError(
              ErrorCodes.UNREACHABLE,
              `no answer to ${method} from the daemon on ${socketPath} within ${ms} ms${idle ? ' of the last progress' : ''}`,
              { retryable: true, details: { socket: socketPath, method, timeoutMs: ms, idle, reason: DEADLINE_EXPIRED } },
            ),
          );
        pending = {
          id,
          method,
          settle: (err, result) => {
            pending = null;
            clearTimeout(timers.total);
            clearTimeout(timers.idle);
            if (!socket.destroyed) socket.unref();
            if (err) reject(err);
            else resolve(result as ResultOf<typeof method>);
          },
          progress: (d) => {
            if (opts.idleTimeoutMs !== undefined) {
              clearTimeout(timers.idle);
              timers.idle = setTimeout(expire(opts.idleTimeoutMs, true), opts.idleTimeoutMs);
            }
            if (!opts.onProgress) return;
            try {
              opts.onProgress(d);
            } catch (err) {
              pending?.settle(err as CacheError);
            }
          },
        };
        if (socket.destroyed) {
          pending.settle(new CacheError(ErrorCodes.UNREACHABLE, `the connection to the daemon on ${socketPath} is closed`, { retryable: true }));
          return;
        }
        if (opts.timeoutMs !== undefined) timers.total = setTimeout(expire(opts.timeoutMs, false), opts.timeoutMs);
        if (opts.idleTimeoutMs !== undefined) timers.idle = setTimeout(expire(opts.idleTimeoutMs, true), opts.idleTimeoutMs);
        socket.ref();
        socket.write(frame);
      });
    },
    close() {
      closedByUs = true;
      socket.destroy();
    },
  };
}
