import type { ModelsRepo } from '../db/modelsRepo.js';
import type { Log } from '../logger.js';
import type { ModelTable } from './modelTable.js';

/**
 * Accesses recorded in memory at once and written to the index in batches, at most `flushMs` after the
 * first unflushed one. After close() accesses still update memory but are never written.
 */
export interface Touches {
  touch(modelId: number, now?: number, hit?: boolean): void;
  /** Writes the pending accesses now. */
  flush(): void;
  /** Forgets the pending access of a model (removed, or just re-read from the index). */
  drop(modelId: number): void;
  /** Flushes, then stops writing. */
  close(): void;
}

export function createTouches(opts: {
  table: ModelTable;
  models: ModelsRepo;
  flushMs: number;
  clock: () => number;
  log: Log;
}): Touches {
  const { table, models, clock, log } = opts;
  const pending = new Map<number, { id: number; lastAccess: number; hits: number }>();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  function flush(): void {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (pending.size === 0 || closed) return;
    const batch = [...pending.values()];
    pending.clear();
    try {
      models.touchMany(batch);
    } catch (err) {
      log.error({ error: (err as Error).message, models: batch.length }, 'could not record accesses');
    }
  }

  return {
    touch(modelId, now, hit = true) {
      const m = table.live(modelId);
      if (!m) return;
      const t = now ?? clock();
      if (t > m.lastAccess) m.lastAccess = t;
      const n = hit ? 1 : 0;
      m.hits += n;
      const p = pending.get(modelId);
      if (p) {
        p.hits += n;
        p.lastAccess = m.lastAccess;
      } else {
        pending.set(modelId, { id: modelId, lastAccess: m.lastAccess, hits: n });
      }
      if (!timer && !closed) {
        timer = setTimeout(flush, opts.flushMs);
        timer.unref();
      }
    },
    flush,
    drop: (modelId) => void pending.delete(modelId),
    close() {
      flush();
      closed = true;
    },
  };
}
