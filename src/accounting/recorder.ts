import type Database from 'better-sqlite3';
import type { EventRow } from '../db/eventsRepo.js';
import { accountingRepos } from './accountingRepos.js';

/** One `get` as the daemon saw it: a hit transferred no file from an origin, a miss at least one, an error returned no path. */
export interface RequestRecord {
  /** Epoch ms; defaults to the recorder's clock at record() time. */
  ts?: number | undefined;
  /** The snapshot key when known, else the requested reference. */
  model: string;
  outcome: 'hit' | 'miss' | 'error';
  bytesServed: number;
  bytesDownloaded: number;
  durationMs: number;
  client?: string | null | undefined;
  run?: string | null | undefined;
  errorCode?: string | null | undefined;
  /** For hits: the last measured fetch time of the model. */
  savedMs?: number | undefined;
  /** Bytes of files taken from the shared tier (`bytesDownloaded` counts the origin's bytes only). */
  bytesFromTier?: number | undefined;
  /** A miss whose every transferred file came from the tier (no origin byte). */
  tierHit?: boolean | undefined;
}

export interface RecorderOptions {
  /** Buffered records are written at most this long after the first of them arrived. */
  flushIntervalMs: number;
  /** A flush happens as soon as this many records are buffered. */
  flushBatch: number;
  clock?: () => number;
  /** Called when a timer-driven flush fails (the records stay buffered for the next flush). */
  onError?: (err: unknown) => void;
  /** Test hook: runs inside a flush's transaction after its inserts, before the commit. */
  onFlush?: (rows: number) => void;
}

export interface Recorder {
  /** Buffers one event in memory: no I/O unless the batch is now full. */
  record(e: RequestRecord): void;
  /** Writes every buffered event in one transaction. Throws if the write fails (events stay buffered). */
  flush(): void;
  /** Flushes and stops the timer; later record() calls are dropped (the index is going away). */
  close(): void;
  /** Events buffered and not yet written. */
  pending(): number;
}

/** Buffered events beyond this many are dropped (oldest first) if the index keeps refusing writes. */
const MAX_BUFFER = 100_000;

/**
 * Batched accounting writer. Invariants:
 *  - a record() is a push onto an array, so a hit costs no write and no fsync of its own;
 *  - each flush is ONE transaction running ONE prepared INSERT per buffered event;
 *  - a failed flush loses nothing: the events stay buffered (bounded by MAX_BUFFER);
 *  - the timer is unref'd: it never keeps the process alive; close() flushes what is left.
 */
export function createRecorder(db: Database.Database, opts: RecorderOptions): Recorder {
  const clock = opts.clock ?? Date.now;
  const batch = Math.max(1, Math.floor(opts.flushBatch));
  const interval = Math.max(1, opts.flushIntervalMs);
  const events = accountingRepos(db).events;
  const writeAll = (rows: EventRow[]): void => events.insertBatch(rows, opts.onFlush);

  let buffer: EventRow[] = [];
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  function flush(): void {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (buffer.length === 0) return;
    const rows = buffer;
    buffer = [];
    try {
      writeAll(rows);
    } catch (err) {
      buffer = rows.concat(buffer);
      if (buffer.length > MAX_BUFFER) buffer = buffer.slice(buffer.length - MAX_BUFFER);
      if (!closed) arm();
      throw err;
    }
  }

  function arm(): void {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = null;
      try {
        flush();
      } catch (err) {
        opts.onError?.(err);
      }
    }, interval);
    timer.unref();
  }

  return {
    record(e) {
      if (closed) return;
      buffer.push(toRow(e, clock));
      if (buffer.length >= batch) flush();
      else arm();
    },
    flush,
    close() {
      if (closed) return;
      try {
        flush();
      } finally {
        closed = true;
        if (timer) clearTimeout(timer);
        timer = null;
      }
    },
    pending: () => buffer.length,
  };
}

function toRow(e: RequestRecord, clock: () => number): EventRow {
  return {
    ts: Math.trunc(e.ts ?? clock()),
    model: e.model,
    outcome: e.outcome,
    bytes_served: nonNegInt(e.bytesServed),
    bytes_downloaded: nonNegInt(e.bytesDownloaded),
    duration_ms: nonNeg(e.durationMs),
    client: e.client || null,
    run_id: e.run || null,
    error_code: e.errorCode ?? null,
    saved_ms: e.outcome === 'hit' ? nonNeg(e.savedMs ?? 0) : 0,
    bytes_from_tier: nonNegInt(e.bytesFromTier ?? 0),
    tier_hit: e.outcome === 'miss' && e.tierHit === true ? 1 : 0,
  };
}

function nonNeg(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}

function nonNegInt(n: number): number {
  return Math.round(nonNeg(n));
}
