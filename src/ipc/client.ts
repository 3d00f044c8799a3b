import { CacheError, ErrorCodes, type ErrorCode } from '../errors.js';
import type { Method, ParamsOf, ProgressData, ResultOf } from './protocol.js';
import { openConnection, type ClientConnection } from './clientConnection.js';

export interface CallOptions {
  /** Progress events for this call (`data` includes the request `id`), delivered before the result. */
  onProgress?(data: ProgressData): void;
  /** Give up after this long (E_UNREACHABLE, retryable). Default: wait as long as the connection lives. */
  timeoutMs?: number;
  /**
   * Give up when this long passes without a progress event or the answer (E_UNREACHABLE, retryable):
   * each progress event for this call restarts the wait. Combined with timeoutMs, the first to expire wins.
   */
  idleTimeoutMs?: number;
}

/** `details.reason` of the E_UNREACHABLE a call rejects with when its deadline (timeoutMs or idleTimeoutMs) expires. */
export const DEADLINE_EXPIRED = 'deadline';

export interface CacheClient {
  readonly socketPath: string;
  /**
   * One request. Concurrent calls share the connection and are matched by id. Error replies reject
   * with a CacheError carrying the daemon's code, message and retryable flag.
   */
  call<M extends Method>(method: M, params: ParamsOf<M>, opts?: CallOptions): Promise<ResultOf<M>>;
  /** Closes the connection (the daemon drops this connection's leases); pending calls reject. */
  close(): Promise<void>;
  readonly closed: boolean;
}

export interface ConnectOptions {
  socketPath: string;
  /** Connect timeout (default 5000 ms). */
  timeoutMs?: number;
}

interface Pending {
  method: string;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  onProgress: ((data: ProgressData) => void) | undefined;
  timer: NodeJS.Timeout | undefined;
  idle: { ms: number; timer: NodeJS.Timeout | undefined; expire(): void } | undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function wireError(e: unknown, socketPath: string): CacheError {
  if (!isRecord(e)) return new CacheError(ErrorCodes.INTERNAL, `the daemon on ${socketPath} sent an unreadable error`);
  const code = typeof e.code === 'string' ? e.code : ErrorCodes.INTERNAL;
  const message = typeof e.message === 'string' ? e.message : `the daemon on ${socketPath} failed with ${code}`;
  const opts: { retryable: boolean; details?: Record<string, unknown> } = { retryable: e.retryable === true };
  if (isRecord(e.details)) opts.details = e.details;
  return new CacheError(code as ErrorCode, message, opts);
}

/**
 * Connects to the daemon at `socketPath`. Rejects with CacheError(E_UNREACHABLE, retryable) when no
 * daemon answers. The connection does not keep the process alive while no call is pending.
 */
export async function connect(opts: ConnectOptions): Promise<CacheClient> {
  const { socketPath } = opts;
  const pending = new Map<number, Pending>();
  let nextId = 1;
  /** An id-less error the daemon sent (e.g. our frame was too large); explains a close that follows. */
  let frameError: CacheError | null = null;
  let closedByUs = false;
  let resolveClosed!: () => void;
  const closedP = new Promise<void>((r) => (resolveClosed = r));

  const settle = (id: number): Pending | undefined => {
    const p = pending.get(id);
    if (!p) return undefined;
    pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if (p.idle?.timer) clearTimeout(p.idle.timer);
    if (pending.size === 0 && !conn.closed) conn.unref();
    return p;
  };

  const rejectAll = (why: (method: string) => CacheError): void => {
    for (const id of [...pending.keys()]) {
      const p = settle(id);
      p?.reject(why(p.method));
    }
  };

  const onMessage = (type: string, data: unknown): void => {
    if (!isRecord(data)) return;
    const id = data.id;
    if (type === 'response') {
      if (typeof id !== 'number') {
        if (id === null && data.error !== undefined) frameError = wireError(data.error, socketPath);
        return;
      }
      const p = settle(id);
      if (!p) return;
      if (data.error !== undefined) p.reject(wireError(data.error, socketPath));
      else p.resolve(data.result);
    } else if (type === 'progress' && typeof id === 'number') {
      const p = pending.get(id);
      if (p?.idle) {
        clearTimeout(p.idle.timer);
        p.idle.timer = setTimeout(p.idle.expire, p.idle.ms);
      }
      if (!p?.onProgress) return;
      try {
        p.onProgress(data as ProgressData);
      } catch (err) {
        settle(id)?.reject(err);
      }
    }
  };

  const conn: ClientConnection = await openConnection({
    socketPath,
    timeoutMs: opts.timeoutMs,
    onMessage,
    onClose: (err) => {
      rejectAll(
        (method) =>
          frameError ??
          err ??
          new CacheError(
            ErrorCodes.UNREACHABLE,
            closedByUs
              ? `the client closed its connection to ${socketPath} before ${method} was answered`
              : `the daemon on ${socketPath} closed the connection before answering ${method}`,
            { retryable: true },
          ),
      );
      resolveClosed();
    },
  });
  conn.unref();

  return {
    socketPath,
    get closed() {
      return conn.closed;
    },
    call<M extends Method>(method: M, params: ParamsOf<M>, callOpts: CallOptions = {}): Promise<ResultOf<M>> {
      return new Promise<ResultOf<M>>((resolve, reject) => {
        const id = nextId++;
        let frame: string;
        try {
          frame = `{"type":"request","data":{"id":${id},"method":${JSON.stringify(method)},"params":${JSON.stringify(params ?? {})}}}\f`;
          conn.sendFrame(frame);
        } catch (err) {
          reject(err);
          return;
        }
        const p: Pending = {
          method,
          resolve: resolve as (v: unknown) => void,
          reject,
          onProgress: callOpts.onProgress,
          timer: undefined,
          idle: undefined,
        };
        const expire = (ms: number, idle: boolean) => () => {
          settle(id)?.reject(
            new CacheError(
              ErrorCodes.UNREACHABLE,
              `no answer to ${method} from the daemon on ${socketPath} within ${ms} ms${idle ? ' of the last progress' : ''}`,
              { retryable: true, details: { socket: socketPath, method, timeoutMs: ms, idle, reason: DEADLINE_EXPIRED } },
            ),
          );
        };
        if (callOpts.timeoutMs !== undefined) p.timer = setTimeout(expire(callOpts.timeoutMs, false), callOpts.timeoutMs);
        if (callOpts.idleTimeoutMs !== undefined) {
          const ms = callOpts.idleTimeoutMs;
          const idle = { ms, timer: undefined as NodeJS.Timeout | undefined, expire: expire(ms, true) };
          idle.timer = setTimeout(idle.expire, ms);
          p.idle = idle;
        }
        if (pending.size === 0) conn.ref();
        pending.set(id, p);
      });
    },
    close() {
      closedByUs = true;
      conn.close();
      return closedP;
    },
  };
}
