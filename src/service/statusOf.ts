import { collectMetrics } from '../accounting/metrics.js';
import { queryStats } from '../accounting/stats.js';
import type { ResultOf } from '../ipc/protocol.js';
import { modelNames } from './modelNames.js';
import type { DaemonState } from './serviceState.js';

/** The unexpired leases, each with the model it holds and who holds it. */
export function leasesOf(state: DaemonState): ResultOf<'leases'> {
  const names = modelNames(state.cache, state.config().models);
  const now = state.clock();
  return {
    leases: state.leases.list().map((l) => {
      const key = state.cache.getModel(l.modelId)?.key ?? `(model ${l.modelId})`;
      return {
        id: l.id,
        model: key,
        name: names(key),
        holder: { client: l.client, connection: l.connId, scope: l.connId === null ? 'ttl' : 'connection' },
        takenAt: l.takenAt,
        ageMs: Math.max(0, now - l.takenAt),
        expiresAt: l.expiresAt,
      };
    }),
  };
}

export function metricsOf(state: DaemonState) {
  state.recorder.flush();
  const t = state.cache.totals();
  const last = state.cache.lastVerify();
  return collectMetrics(
    state.cache.db,
    {
      cacheBytes: t.usedBytes,
      limitBytes: t.limitBytes,
      models: t.models,
      leases: state.leases.count(),
      lastVerify: last ? { ts: last.ts, ok: last.ok } : null,
    },
    { names: modelNames(state.cache, state.config().models) },
  );
}

export function statusOf(state: DaemonState): ResultOf<'status'> {
  state.recorder.flush();
  const s = queryStats(state.cache.db, { now: state.clock() });
  const last = state.cache.lastVerify();
  return {
    ...cacheStatusOf(state),
    hits: s.hits,
    misses: s.misses,
    errors: s.errors,
    hitRate: s.hitRate,
    lastVerify: last
      ? { ts: last.ts, mode: last.mode, ok: last.ok, corrupted: last.corrupted, missing: last.missing, orphans: last.orphans }
      : null,
  };
}

/** The part of the status answered from memory alone (no index read): daemon, sizes, counts, config. */
export function cacheStatusOf(
  state: DaemonState,
): Omit<ResultOf<'status'>, 'hits' | 'misses' | 'errors' | 'hitRate' | 'lastVerify'> {
  const t = state.cache.totals();
  const cfg = state.config();
  return {
    daemon: {
      running: true,
      pid: process.pid,
      version: state.version,
      socket: state.socketPath,
      uptimeMs: state.clock() - state.startedAt,
    },
    cacheDir: cfg.cacheDir,
    usedBytes: t.usedBytes,
    reservedBytes: t.reservedBytes,
    limitBytes: t.limitBytes,
    lowWatermark: t.lowWatermark,
    models: t.models,
    blobs: t.blobs,
    pinned: t.pinned,
    damaged: t.damaged,
    leases: state.leases.count(),
    downloadsInFlight: state.service.inFlight(),
    offline: cfg.offline,
    origins: cfg.origins.map((o) => (o.type === 'huggingface' ? `huggingface ${o.endpoint}` : `directory ${o.path}`)),
    hubUrl: state.hubEndpoint?.url ?? null,
    hubSecretFile: state.hubEndpoint?.secretFile ?? null,
  };
}
