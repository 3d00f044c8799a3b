import { collectMetrics, renderPrometheus } from '../accounting/metrics.js';
import type { Recorder } from '../accounting/recorder.js';
import { endRun, startRun } from '../accounting/runs.js';
import { queryStats, zeroStats } from '../accounting/stats.js';
import type { OpenedCache } from '../cache/maintenanceApi.js';
import type { ModelRecord } from '../cache/types.js';
import { redactConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/types.js';
import { CacheError, ErrorCodes, toErrorShape } from '../errors.js';
import type { Method, ModelView, ParamsOf, ResultOf, WarmItem } from '../ipc/protocol.js';
import { PROTOCOL_VERSION } from '../ipc/protocol.js';
import type { Maintenance, MaintenanceDeps } from '../maintenance/index.js';
import { canonicalRef, parseModelRef } from '../origin/modelRef.js';
import type { Origin } from '../origin/types.js';
import { tokenizerRefFor } from '../origin/whisperKitTokenizer.js';
import { faultPoint } from '../faults.js';
import type { Leases } from './leases.js';
import type { Logger } from '../logger.js';
import type { GetResult, ModelService } from './modelService.js';
import { modelNames } from './modelNames.js';
import { shortModelKey } from '../accounting/displayName.js';

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
}

export interface CallContext {
  connId: number;
  progress: (data: Record<string, unknown>) => void;
}

type Handler<M extends Method> = (params: ParamsOf<M>, ctx: CallContext) => ResultOf<M> | Promise<ResultOf<M>>;

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
  const t = state.cache.totals();
  const s = queryStats(state.cache.db, { now: state.clock() });
  const last = state.cache.lastVerify();
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
    hits: s.hits,
    misses: s.misses,
    errors: s.errors,
    hitRate: s.hitRate,
    lastVerify: last
      ? { ts: last.ts, mode: last.mode, ok: last.ok, corrupted: last.corrupted, missing: last.missing, orphans: last.orphans }
      : null,
  };
}

export function createHandlers(state: DaemonState) {
  const { cache, leases } = state;
  const isLeased = (id: number) => leases.isLeased(id);
  // The maintenance and report modules (~25 modules) load on first use: not on the start-up or hit path.
  let maintenanceP: Promise<Maintenance> | null = null;
  const maint = (): Promise<Maintenance> =>
    (maintenanceP ??= import('../maintenance/index.js').then((m) => m.maintenance(maintDeps)));
  const report = () => import('../accounting/report.js');
  const maintDeps: MaintenanceDeps = {
    cache,
    isLeased,
    clock: state.clock,
    logger: state.logger,
    refetch: (m: ModelRecord) =>
      state.service
        .get(`${m.repo}@${m.commit}${m.subfolder ? `:${m.subfolder}` : ''}`, { lease: false, client: 'repair' })
        .then((r) => ({ hit: r.hit })),
    retentionMs: () => state.config().accounting.retentionMs,
    flushAccounting: () => state.recorder.flush(),
    onStage: (stage, name) => faultPoint(stage, name),
  };

  const table: { [M in Method]: Handler<M> } = {
    hello: () => ({ protocol: PROTOCOL_VERSION, version: state.version, pid: process.pid, socket: state.socketPath }),
    get: (p, ctx) =>
      state.service.get(p.model, {
        client: p.client,
        run: p.run,
        connId: p.leaseScope === 'ttl' ? null : ctx.connId,
        lease: p.lease ?? true,
        onProgress: p.progress ? (d) => ctx.progress(d) : undefined,
        offline: p.offline,
      }),
    release: (p) => ({ released: leases.release(p.lease) }),
    leases: () => leasesOf(state),
    warm: async (p, ctx) => {
      const names = p.models && p.models.length > 0 ? p.models : Object.keys(state.config().models);
      if (names.length === 0) {
        const file = state.config().source.path ?? 'the config (none is in effect: built-in defaults)';
        throw new CacheError(ErrorCodes.USAGE, `nothing to warm: name models (cache-manager warm <model>...) or add aliases to "models" in ${file}`);
      }
      const results: WarmItem[] = [];
      for (const name of names) {
        try {
          const r = await state.service.get(name, {
            client: p.client ?? 'warm',
            run: p.run,
            connId: ctx.connId,
            lease: false,
            onProgress: (d) => ctx.progress(d),
            offline: p.offline,
          });
          results.push({ model: name, ok: true, hit: r.hit, path: r.path, bytes: r.bytes });
        } catch (err) {
          results.push({ model: name, ok: false, error: toErrorShape(err) });
        }
      }
      return { results };
    },
    list: () => {
      const leased = leases.leasedModels();
      const names = modelNames(cache, state.config().models);
      return { models: cache.list().map((m) => describeModel(m, leased.has(m.id), names(m.key))) };
    },
    status: () => statusOf(state),
    pin: (p) => {
      const m = findCachedModel(state, p.model);
      cache.setPinned(m.id, true);
      return { model: m.key, pinned: true };
    },
    unpin: (p) => {
      const m = findCachedModel(state, p.model);
      cache.setPinned(m.id, false);
      return { model: m.key, pinned: false };
    },
    evict: (p) => {
      const m = findCachedModel(state, p.model);
      if (m.pinned) throw new CacheError(ErrorCodes.IN_USE, `${m.key} is pinned; unpin it first (cache-manager unpin ${p.model})`);
      if (leases.isLeased(m.id)) {
        throw new CacheError(ErrorCodes.IN_USE, `${m.key} is leased by a client; release it first`, { retryable: true });
      }
      const freed = cache.evict(m.id, 'evict');
      return { model: m.key, freedBytes: freed };
    },
    verify: async (p, ctx) =>
      (await maint()).verify({ models: p.models?.map((t) => findCachedModel(state, t).id), quick: p.quick ?? false, repair: p.repair ?? false, onProgress: (d) => ctx.progress(d) }),
    clean: async (p) =>
      (await maint()).clean({
        dryRun: p.dryRun ?? false,
        corrupted: p.corrupted ?? false,
        partial: p.partial ?? false,
        olderThanMs: p.olderThanMs ?? null,
        all: p.all ?? false,
        models: p.models?.map((t) => findCachedModel(state, t).id) ?? [],
      }),
    optimize: async () => (await maint()).optimize(),
    restore: async (p) => {
      const r = await state.service.get(p.model, { lease: true, client: 'restore', offline: p.offline });
      let t: GetResult | null = null;
      try {
        const m = cache.getModel(r.model);
        if (!m) throw new CacheError(ErrorCodes.INTERNAL, `model ${r.model} vanished during restore`);
        let tokenizer: ModelRecord | undefined;
        if (p.withTokenizer) {
          t = await state.service.get(tokenizerRefFor(m, p.layout), { lease: true, client: 'restore', offline: p.offline });
          tokenizer = cache.getModel(t.model) ?? undefined;
          if (!tokenizer) throw new CacheError(ErrorCodes.INTERNAL, `model ${t.model} vanished during restore`);
        }
        const done = await (await maint()).restore({ model: m, to: p.to, layout: p.layout ?? 'plain', ref: r.ref, tokenizer });
        return { to: p.to, ...done, hit: r.hit };
      } finally {
        if (r.lease) leases.release(r.lease.id);
        if (t?.lease) leases.release(t.lease.id);
      }
    },
    import: async (p) => {
      const before = new Set(cache.list().filter((m) => m.state === 'ready').map((m) => m.key));
      const r = await (await maint()).importHfCache({ from: p.from });
      return { ...r, imported: r.imported.map((m) => ({ ...m, alreadyCached: before.has(m.model) })) };
    },
    stats: (p) => {
      state.recorder.flush();
      if (p.zero) zeroStats(cache.db, state.clock());
      const names = modelNames(cache, state.config().models);
      return queryStats(cache.db, { sinceMs: p.sinceMs, run: p.run, by: p.by, now: state.clock(), names });
    },
    metrics: (p) => {
      const m = metricsOf(state);
      return p.format === 'prometheus' ? { format: 'prometheus', text: renderPrometheus(m) } : m;
    },
    report: async (p) => {
      const { buildReport, renderReportHtml, renderReportJson, renderReportMarkdown } = await report();
      state.recorder.flush();
      const data = buildReport(cache.db, {
        sinceMs: p.sinceMs,
        run: p.run,
        now: state.clock(),
        targets: { hitRate: 0.8, lookupMs: 1000 },
        names: modelNames(cache, state.config().models),
      });
      const format = p.format ?? 'md';
      const text =
        format === 'html' ? renderReportHtml(data) : format === 'json' ? renderReportJson(data) : renderReportMarkdown(data);
      return { format, text, data };
    },
    runStart: (p) => startRun(cache.db, { label: p.label ?? null, now: state.clock() }),
    runEnd: (p) => {
      state.recorder.flush();
      endRun(cache.db, p.id, state.clock());
      return { id: p.id, ended: true };
    },
    config: () => ({ config: redactConfig(state.config()) }),
    shutdown: () => {
      setImmediate(() => state.requestShutdown());
      return { stopping: true };
    },
  };

  return {
    handle<M extends Method>(method: M, params: ParamsOf<M>, ctx: CallContext): Promise<ResultOf<M>> {
      try {
        const fn: Handler<M> = table[method];
        return Promise.resolve(fn(params, ctx));
      } catch (err) {
        return Promise.reject(err);
      }
    },
  };
}
