import type { Recorder } from '../accounting/recorder.js';
import { shortModelKey } from '../accounting/displayName.js';
import type { OpenedCache } from '../cache/maintenanceApi.js';
import type { ModelRecord } from '../cache/types.js';
import type { ResolvedConfig } from '../config/types.js';
import { CacheError, ErrorCodes } from '../errors.js';
import type { Method, ModelView, ParamsOf, ResultOf } from '../ipc/protocol.js';
import type { Logger } from '../logger.js';
import { canonicalRef, parseModelRef } from '../origin/modelRef.js';
import type { Origin } from '../origin/types.js';
import type { Leases } from './leases.js';
import type { HubService } from './hubService.js';
import type { ModelService } from './modelService.js';

/** What the method handlers work on: everything openService opened, for one daemon (or CLI in direct mode). */
export interface DaemonState {
  config: () => ResolvedConfig;
  cache: OpenedCache;
  leases: Leases;
  service: ModelService;
  recorder: Recorder;
  origins: () => Origin[];
  logger: Logger;
  clock: () => number;
  startedAt: number;
  version: string;
  socketPath: string;
  requestShutdown: () => void;
  /** What the Hub-compatible endpoint asks of the cache. */
  hub: HubService;
  /** Set by the daemon while its Hub-compatible endpoint listens; null otherwise. */
  hubEndpoint: { url: string; secretFile: string } | null;
}

export interface CallContext {
  connId: number;
  progress: (data: Record<string, unknown>) => void;
}

export type Handler<M extends Method> = (params: ParamsOf<M>, ctx: CallContext) => ResultOf<M> | Promise<ResultOf<M>>;

/** Public shape of a model in list/status answers. */
export function describeModel(m: ModelRecord, leased: boolean, name: string = shortModelKey(m.key)): ModelView {
  return {
    model: m.key,
    name,
    repo: m.repo,
    subfolder: m.subfolder,
    commit: m.commit,
    path: m.path,
    origin: m.origin,
    bytes: m.size,
    files: m.fileCount,
    createdAt: m.createdAt,
    lastAccess: m.lastAccess,
    hits: m.hits,
    pinned: m.pinned,
    leased,
    state: m.state,
  };
}

/**
 * Finds a cached model from what a user typed: a snapshot key, an alias or a reference.
 * Throws E_UNKNOWN_MODEL when nothing cached matches.
 */
export function findCachedModel(state: DaemonState, text: string): ModelRecord {
  const direct = state.cache.getModel(text);
  if (direct) return direct;
  const ref = parseModelRef(text, state.config().models);
  const canon = canonicalRef(ref);
  const look = state.cache.lookup(canon);
  if (look.hit) return look.model;
  if (look.ref) {
    const sub = look.ref.subfolder ? `:${look.ref.subfolder}` : '';
    const m = state.cache.getModel(`${look.ref.repo}${sub}@${look.ref.commit}`);
    if (m) return m;
  }
  const candidates = state.cache
    .list()
    .filter((m) => m.repo === ref.repo && m.subfolder === ref.subfolder)
    .sort((a, b) => b.lastAccess - a.lastAccess);
  if (candidates[0]) return candidates[0];
  throw new CacheError(ErrorCodes.UNKNOWN_MODEL, `${text} is not in the cache (run: cache-manager get ${text})`);
}
