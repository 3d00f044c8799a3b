import path from 'node:path';
import type { ModelRow, ModelsRepo } from '../db/modelsRepo.js';
import type { RefRow, RefsRepo } from '../db/refsRepo.js';
import { modelKeyOf, type Layout } from '../store/layout.js';
import type { Log } from '../logger.js';
import type { Lookup, ModelRecord, RefRecord } from './types.js';

/**
 * The models and refs of the index, held in memory so lookups do no I/O. Invariants: byId, byKey and
 * the snapshot dir maps describe the same set of models; every change is written to the index first
 * (by the caller, or here for pins, damage and refs) and then mirrored here. Records handed out are copies.
 */
export interface ModelTable {
  /** Loads every model and ref from the index (start-up). */
  load(): void;
  /** Mirrors a row the index now holds; returns the live record. */
  remember(row: ModelRow): ModelRecord;
  /** Drops a model from memory (its rows are already gone). */
  forget(id: number): void;
  /** The live record (not a copy), for the cache's own bookkeeping. */
  live(idOrKey: number | string): ModelRecord | undefined;
  /** Snapshot dir of a model, relative to snapshots/ ('/'-separated). */
  dirOf(id: number): string | undefined;
  readonly size: number;
  values(): IterableIterator<ModelRecord>;

  getModel(idOrKey: number | string): ModelRecord | null;
  list(): ModelRecord[];
  modelAt(p: string): ModelRecord | null;
  lookup(ref: string): Lookup;
  getRef(ref: string): RefRecord | null;
  putRef(rec: RefRecord): void;
  setPinned(id: number, pinned: boolean): void;
  markDamaged(id: number): void;
  /** Whether the model's files were checked since the cache opened and nothing has distrusted them since. */
  isTrusted(id: number): boolean;
  trust(id: number): void;
  distrust(id: number): void;
}

export function createModelTable(layout: Layout, models: ModelsRepo, refsRepo: RefsRepo, log: Log): ModelTable {
  const byId = new Map<number, ModelRecord>();
  const byKey = new Map<string, ModelRecord>();
  const dirs = new Map<number, string>();
  /** Snapshot dir (relative to snapshots/, `<repo parts>/<commit>`) → model id. */
  const idOfDir = new Map<string, number>();
  const refs = new Map<string, RefRecord>();
  /** Ready models whose files matched their fingerprints; never persisted (empty at every open). */
  const trusted = new Set<number>();

  function load(): void {
    // Hot at start-up (10,000 models): tuples, and the snapshot path by concatenation (dir is written
    // by snapshotDirName, already normal and relative).
    const root = layout.snapshots + path.sep;
    for (const t of models.allTuples()) {
      const rec: ModelRecord = {
        id: t[0],
        key: t[1],
        repo: t[2],
        subfolder: t[3],
        commit: t[4],
        path: root + t[5],
        origin: t[6],
        size: t[7],
        fileCount: t[8],
        createdAt: t[9],
        lastAccess: t[10],
        hits: t[11],
        pinned: t[12] === 1,
        state: t[13],
        fetchMs: t[14],
      };
      byId.set(rec.id, rec);
      byKey.set(rec.key, rec);
      dirs.set(rec.id, t[5]);
      idOfDir.set(t[5], rec.id);
    }
    for (const r of refsRepo.all()) refs.set(r.ref, refFromRow(r));
  }

  function remember(row: ModelRow): ModelRecord {
    const rec: ModelRecord = {
      id: row.id,
      key: row.key,
      repo: row.repo,
      subfolder: row.subfolder,
      commit: row.commit_sha,
      path: path.join(layout.snapshots, row.dir),
      origin: row.origin,
      size: row.size,
      fileCount: row.file_count,
      createdAt: row.created_at,
      lastAccess: row.last_access,
      hits: row.hits,
      pinned: row.pinned === 1,
      state: row.state,
      fetchMs: row.fetch_ms,
    };
    const old = byId.get(rec.id);
    if (old && old.key !== rec.key) byKey.delete(old.key);
    byId.set(rec.id, rec);
    byKey.set(rec.key, rec);
    const oldDir = dirs.get(rec.id);
    if (oldDir !== undefined && oldDir !== row.dir) idOfDir.delete(oldDir);
    dirs.set(rec.id, row.dir);
    idOfDir.set(row.dir, rec.id);
    return rec;
  }

  function forget(id: number): void {
    trusted.delete(id);
    const m = byId.get(id);
    if (!m) return;
    byId.delete(id);
    byKey.delete(m.key);
    const dir = dirs.get(id);
    if (dir !== undefined && idOfDir.get(dir) === id) idOfDir.delete(dir);
    dirs.delete(id);
  }

  const live = (idOrKey: number | string) => (typeof idOrKey === 'number' ? byId.get(idOrKey) : byKey.get(idOrKey));

  return {
    load,
    remember,
    forget,
    live,
    dirOf: (id) => dirs.get(id),
    get size() {
      return byId.size;
    },
    values: () => byId.values(),

    getModel(idOrKey) {
      const m = live(idOrKey);
      return m ? { ...m } : null;
    },
    list: () => [...byId.values()].map((m) => ({ ...m })),
    modelAt(p) {
      // Snapshot dirs are exactly two levels deep: <repo parts joined by -->/<commit>.
      const root = layout.snapshots + path.sep;
      if (!p.startsWith(root)) return null;
      const parts = p.slice(root.length).split(path.sep);
      if (parts.length < 2) return null;
      const id = idOfDir.get(`${parts[0]}/${parts[1]}`);
      const m = id === undefined ? undefined : byId.get(id);
      return m ? { ...m } : null;
    },
    lookup(ref) {
      const r = refs.get(ref);
      if (!r) return { hit: false, reason: 'unresolved', ref: null };
      const m = byKey.get(modelKeyOf(r.repo, r.subfolder, r.commit));
      if (!m) return { hit: false, reason: 'not-cached', ref: { ...r } };
      if (m.state === 'damaged') return { hit: false, reason: 'damaged', ref: { ...r } };
      return { hit: true, model: { ...m } };
    },
    getRef(ref) {
      const r = refs.get(ref);
      return r ? { ...r } : null;
    },
    putRef(rec) {
      refsRepo.upsert({
        ref: rec.ref,
        repo: rec.repo,
        revision: rec.revision,
        subfolder: rec.subfolder,
        commit_sha: rec.commit,
        origin: rec.origin,
        resolved_at: rec.resolvedAt,
      });
      refs.set(rec.ref, { ...rec });
    },
    setPinned(id, pinned) {
      const m = byId.get(id);
      if (!m) return;
      models.setPinned(id, pinned);
      m.pinned = pinned;
    },
    isTrusted: (id) => trusted.has(id),
    trust(id) {
      if (byId.get(id)?.state === 'ready') trusted.add(id);
    },
    distrust(id) {
      trusted.delete(id);
    },
    markDamaged(id) {
      trusted.delete(id);
      const m = byId.get(id);
      if (!m || m.state === 'damaged') return;
      models.setState(id, 'damaged');
      m.state = 'damaged';
      log.warn({ model: m.key }, 'model marked damaged');
    },
  };
}

function refFromRow(r: RefRow): RefRecord {
  return {
    ref: r.ref,
    repo: r.repo,
    revision: r.revision,
    subfolder: r.subfolder,
    commit: r.commit_sha,
    origin: r.origin,
    resolvedAt: r.resolved_at,
  };
}
