import type { Method, ParamsOf } from '../ipc/protocol.js';

/**
 * How long the CLI waits for the daemon's answer to one call. Every call has a deadline, so a stopped
 * or wedged daemon can never hang the CLI:
 *  - cheap methods (answered from memory or one index query): a total deadline;
 *  - methods that fetch, hash or move model files: an idle deadline, restarted by each progress event
 *    the daemon sends for the call. get, warm and verify report progress while they work; the others
 *    send none today, so their idle deadline is long enough for a whole cache's worth of work.
 */
export type CallDeadline = { kind: 'total'; ms: number } | { kind: 'idle'; ms: number };

export const CHEAP_CALL_MS = 10_000;
export const PROGRESS_IDLE_MS = 300_000;
export const SILENT_WORK_IDLE_MS = 1_800_000;

const deadlines: { [M in Method]: CallDeadline } = {
  hello: { kind: 'total', ms: CHEAP_CALL_MS },
  status: { kind: 'total', ms: CHEAP_CALL_MS },
  list: { kind: 'total', ms: CHEAP_CALL_MS },
  leases: { kind: 'total', ms: CHEAP_CALL_MS },
  release: { kind: 'total', ms: CHEAP_CALL_MS },
  pin: { kind: 'total', ms: CHEAP_CALL_MS },
  unpin: { kind: 'total', ms: CHEAP_CALL_MS },
  evict: { kind: 'total', ms: CHEAP_CALL_MS },
  stats: { kind: 'total', ms: CHEAP_CALL_MS },
  metrics: { kind: 'total', ms: CHEAP_CALL_MS },
  report: { kind: 'total', ms: 60_000 },
  runStart: { kind: 'total', ms: CHEAP_CALL_MS },
  runEnd: { kind: 'total', ms: CHEAP_CALL_MS },
  config: { kind: 'total', ms: CHEAP_CALL_MS },
  shutdown: { kind: 'total', ms: CHEAP_CALL_MS },
  get: { kind: 'idle', ms: PROGRESS_IDLE_MS },
  warm: { kind: 'idle', ms: PROGRESS_IDLE_MS },
  verify: { kind: 'idle', ms: PROGRESS_IDLE_MS },
  clean: { kind: 'idle', ms: SILENT_WORK_IDLE_MS },
  optimize: { kind: 'idle', ms: SILENT_WORK_IDLE_MS },
  restore: { kind: 'idle', ms: SILENT_WORK_IDLE_MS },
  import: { kind: 'idle', ms: SILENT_WORK_IDLE_MS },
  tierStatus: { kind: 'idle', ms: SILENT_WORK_IDLE_MS },
  tierGc: { kind: 'idle', ms: PROGRESS_IDLE_MS },
  tierPush: { kind: 'idle', ms: PROGRESS_IDLE_MS },
};

export function callDeadline(method: Method): CallDeadline {
  return deadlines[method];
}

/**
 * Methods the CLI may send again, once, to the next daemon when the first answers E_SHUTTING_DOWN:
 * repeating them leaves the cache as one call would (get and warm fetch only what is missing; pin and
 * unpin set a flag; runEnd keeps the first end; tierPush skips what the tier holds; the rest only read). Not retried: runStart (a second
 * run), stats --zero (a second reset point), verify --repair, clean, tierGc, optimize, evict, import, restore,
 * release (their first attempt may have done part of the work) and shutdown.
 */
export function retryableOnNextDaemon<M extends Method>(method: M, params: ParamsOf<M>): boolean {
  switch (method) {
    case 'hello':
    case 'status':
    case 'list':
    case 'leases':
    case 'metrics':
    case 'report':
    case 'config':
    case 'get':
    case 'warm':
    case 'pin':
    case 'unpin':
    case 'runEnd':
    case 'tierStatus':
    case 'tierPush':
      return true;
    case 'stats':
      return (params as ParamsOf<'stats'>).zero !== true;
    case 'verify':
      return (params as ParamsOf<'verify'>).repair !== true;
    default:
      return false;
  }
}
