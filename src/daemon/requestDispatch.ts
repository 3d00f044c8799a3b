import { ErrorCodes, toErrorShape, type ErrorShape } from '../errors.js';
import type { ParamsOf, Method, RequestId, ResultOf } from '../ipc/protocol.js';
import { parseRequest } from '../ipc/protocol.js';
import type { ServerConnection } from '../ipc/transport.js';
import type { Log } from '../logger.js';

/** A request handed to the handlers and not answered yet. */
export interface InFlight {
  conn: ServerConnection;
  id: RequestId;
  method: Method;
  params: Record<string, unknown>;
  t0: number;
}

const SHUTTING_DOWN: ErrorShape = {
  code: ErrorCodes.SHUTTING_DOWN,
  message: 'the daemon is shutting down; retry against the next daemon',
  retryable: true,
};

export interface DispatchDeps {
  handle<M extends Method>(
    method: M,
    params: ParamsOf<M>,
    ctx: { connId: number; progress: (data: Record<string, unknown>) => void },
  ): Promise<ResultOf<M>>;
  /** Accounts a request answered E_SHUTTING_DOWN (the handlers account the ones they answer). */
  onShutDownAnswer(e: InFlight): void;
  logger: Pick<Log, 'error'>;
}

export interface RequestDispatch {
  /** Validates one raw request and runs it; the reply (or the E_SHUTTING_DOWN answer) goes to `conn`. */
  onRequest(raw: unknown, conn: ServerConnection): void;
  /** From now on a new request is answered E_SHUTTING_DOWN as it arrives; those in flight go on. */
  refuseNew(): void;
  /**
   * Refuses new requests and answers every request still in flight E_SHUTTING_DOWN at once
   * (synchronously, so no handler can settle in between). Returns how many were in flight.
   */
  shutDown(): number;
}

/**
 * Requests between the socket and the handlers. Invariant: every request gets exactly one response:
 * whoever removes it from the in-flight set (its handler settling, or shutDown) sends it; progress is
 * sent only while it is in flight.
 */
export function createRequestDispatch(deps: DispatchDeps): RequestDispatch {
  const inflight = new Set<InFlight>();
  let shuttingDown = false;

  const answerShuttingDown = (e: InFlight): void => {
    e.conn.send('response', { id: e.id, error: SHUTTING_DOWN });
    deps.onShutDownAnswer(e);
  };

  return {
    onRequest(raw, conn) {
      const req = parseRequest(raw);
      if (!req.ok) {
        conn.send('response', { id: req.id, error: req.error });
        return;
      }
      const entry: InFlight = { conn, id: req.id, method: req.method, params: req.params as Record<string, unknown>, t0: performance.now() };
      if (shuttingDown) {
        answerShuttingDown(entry);
        return;
      }
      inflight.add(entry);
      deps
        .handle(req.method, req.params, {
          connId: conn.id,
          progress: (data) => {
            if (inflight.has(entry)) conn.send('progress', { id: req.id, ...data });
          },
        })
        .then(
          (result) => {
            if (inflight.delete(entry)) conn.send('response', { id: req.id, result });
          },
          (err) => {
            if (!inflight.delete(entry)) return;
            const shape = toErrorShape(err);
            if (shape.code === ErrorCodes.INTERNAL) deps.logger.error({ err, method: req.method }, 'request failed');
            conn.send('response', { id: req.id, error: shape });
          },
        );
    },
    refuseNew() {
      shuttingDown = true;
    },
    shutDown() {
      shuttingDown = true;
      const unanswered = [...inflight];
      inflight.clear();
      for (const e of unanswered) answerShuttingDown(e);
      return unanswered.length;
    },
  };
}
