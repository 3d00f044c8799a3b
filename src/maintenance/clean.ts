import type { OpenedCache } from '../cache/maintenanceApi.js';
import type { ModelRecord } from '../cache/types.js';
import { createBlobsRepo } from '../db/blobsRepo.js';
import { createFilesRepo } from '../db/filesRepo.js';
import { removeDeadRow, removeEntry, removeOrphanBlob } from './removeOrphans.js';
import { listEntries, scanOrphans } from './scanOrphans.js';
import { STALE_MS, type CleanOptions, type CleanResult, type MaintenanceDeps } from './types.js';

/**
 * clean: removes what the selectors name (no selector = corrupted + quarantined + partial leftovers).
 * Never a leased model; a pinned one only when named. A dry run removes nothing and reports exactly
 * what a real run would (bytes of a model = its blobs no other remaining model references).
 */
export async function clean(deps: MaintenanceDeps, o: CleanOptions): Promise<CleanResult> {
  const { cache } = deps;
  const none = !o.corrupted && !o.partial && o.olderThanMs === null && !o.all && o.models.length === 0;
  const corrupted = o.corrupted || none;
  const partial = o.partial || none;
  const now = deps.clock();

  const { chosen, skipped } = chooseModels(deps, o, corrupted, now);
  const scan = partial ? scanOrphans(cache, { now, staleMs: deps.staleMs ?? STALE_MS }) : null;
  const quarantined = corrupted ? listEntries(cache.layout.quarantine) : [];

  const removed: CleanResult['removed'] = [];
  const wouldFree = freedBySimulation(cache, chosen.map((c) => c.model.id));
  for (const { model } of chosen) {
    if (o.dryRun) {
      removed.push({ kind: 'model', name: model.key, bytes: wouldFree.get(model.id) ?? 0 });
      continue;
    }
    const bytes = cache.evict(model.id, 'clean');
    removed.push({ kind: 'model', name: model.key, bytes });
    deps.onStage?.('clean-step', model.key);
    deps.logger.info({ model: model.key, bytes }, 'clean: model removed');
  }

  const act = (kind: string, name: string, bytes: number, fn: () => boolean): void => {
    if (o.dryRun || fn()) removed.push({ kind, name, bytes });
  };
  for (const q of quarantined) act('quarantine', q.path, q.bytes, () => removeEntry(q.path));
  if (scan) {
    for (const t of scan.temp) act('temp', t.path, t.bytes, () => removeEntry(t.path));
    // Resumable downloads only when asked by name (`--partial`), and never one a download is writing.
    if (o.partial) {
      for (const t of scan.partials) if (!cache.isLiveTemp(t.path)) act('partial download', t.path, t.bytes, () => removeEntry(t.path));
    }
    for (const b of scan.blobs) act('blob', b.digest, b.bytes, () => removeOrphanBlob(cache, b));
    for (const d of scan.snapshots) act('snapshot', d.path, d.bytes, () => removeEntry(d.path));
    for (const r of scan.deadRows) if (r.refcount === 0) act('row', r.digest, 0, () => removeDeadRow(cache, r.digest));
  }
  if (!o.dryRun && removed.length > 0) cache.flush();

  return { dryRun: o.dryRun, removed, skipped, freedBytes: removed.reduce((a, r) => a + r.bytes, 0) };
}

interface Chosen {
  model: ModelRecord;
  explicit: boolean;
}

/** Step 1: the models the selectors name, minus leased ones (always) and pinned ones (unless named). */
function chooseModels(deps: MaintenanceDeps, o: CleanOptions, corrupted: boolean, now: number) {
  const named = new Set(o.models);
  const picked = new Map<number, Chosen>();
  const cutoff = o.olderThanMs === null ? null : now - o.olderThanMs;
  for (const m of deps.cache.list()) {
    const explicit = named.has(m.id);
    const selected =
      explicit || o.all || (corrupted && m.state === 'damaged') || (cutoff !== null && m.lastAccess < cutoff);
    if (selected) picked.set(m.id, { model: m, explicit });
  }
  const chosen: Chosen[] = [];
  const skipped: CleanResult['skipped'] = [];
  for (const c of picked.values()) {
    if (deps.isLeased(c.model.id)) skipped.push({ model: c.model.key, reason: 'leased by a client (in use)' });
    else if (c.model.pinned && !c.explicit) skipped.push({ model: c.model.key, reason: 'pinned (name it to remove it)' });
    else chosen.push(c);
  }
  chosen.sort((a, b) => a.model.lastAccess - b.model.lastAccess || a.model.id - b.model.id);
  return { chosen, skipped };
}

/**
 * Bytes each removal would free, in order: a blob counts for the model whose removal drops its last
 * reference (eviction deletes blobs whose refcount reaches 0).
 */
function freedBySimulation(cache: OpenedCache, ids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  if (ids.length === 0) return out;
  const refs = new Map(createBlobsRepo(cache.db).refcounts().map((r) => [r.digest, r.refcount]));
  const files = createFilesRepo(cache.db);
  for (const id of ids) {
    let bytes = 0;
    for (const f of files.blobSizesOfModel(id)) {
      const left = (refs.get(f.blob) ?? 1) - 1;
      refs.set(f.blob, left);
      if (left === 0) bytes += f.size;
    }
    out.set(id, bytes);
  }
  return out;
}
