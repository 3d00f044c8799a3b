import { renderPrometheus } from '../accounting/metrics.js';
import { endRun, startRun } from '../accounting/runs.js';
import { queryStats, zeroStats } from '../accounting/stats.js';
import type { ModelRecord } from '../cache/types.js';
import { redactConfig } from '../config/redact.js';
import { CacheError, ErrorCodes, toErrorShape } from '../errors.js';
import { faultPoint } from '../faults.js';
import type { Method, ParamsOf, ResultOf, WarmItem } from '../ipc/protocol.js';
import { PROTOCOL_VERSION } from '../ipc/protocol.js';
import type { Maintenance, MaintenanceDeps } from '../maintenance/index.js';
import { tokenizerRefFor } from '../origin/whisperKitTokenizer.js';
import type { GetResult } from './modelService.js';
import { modelNames } from './modelNames.js';
import { describeModel, findCachedModel, type CallContext, type DaemonState, type Handler } from './serviceState.js';
import { leasesOf, metricsOf, statusOf } from './statusOf.js';

export type { CallContext, DaemonState };

/** The socket protocol's methods, one handler each, over the service's state. */
export function createHandlers(state: DaemonState) {
  const { cache, leases } = state;
  const isLeased = (id: number) => leases.isLeased(id);
  // The maintenance and report modules (~25 modules) load on first use: not on the start-up or hit path.
  let maintenanceP: Promise<Maintenance> | null = null;
  const maint = (): Promise<Maintenance> =>
    (maintenanceP ??= import('../maintenance/index.js').then((m) => m.maintenance(maintDeps)));
  const report = () => import('../accounting/report.js');
  // The tier commands and the S3 SDK load on first use: a daemon without a fleet tier never loads them.
  const tier = () => import('./tierCommands.js');
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
    tierStatus: async () => (await tier()).tierStatus(state),
    tierGc: async (p, ctx) => (await tier()).tierGc(state, p, ctx),
    tierPush: async (p, ctx) => (await tier()).tierPush(state, p, ctx),
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
