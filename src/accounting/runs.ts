import crypto from 'node:crypto';
import type Database from 'better-sqlite3';
import type { RunRow } from '../db/runsRepo.js';
import { CacheError, ErrorCodes } from '../errors.js';
import { accountingRepos } from './accountingRepos.js';

/** A scope for accounting: clients pass its id (env VOCORIZE_CACHE_RUN) and their events carry it. */
export interface RunRecord {
  id: string;
  label: string | null;
  startedAt: number;
  endedAt: number | null;
}

const MAX_LABEL = 200;

function toRecord(r: RunRow): RunRecord {
  return { id: r.id, label: r.label, startedAt: r.started_at, endedAt: r.ended_at };
}

/** Starts a run. Its id is `run-<yyyymmdd UTC>-<6 hex>`, unique in the index. */
export function startRun(db: Database.Database, o: { label?: string | null; now: number }): RunRecord {
  const label = o.label ?? null;
  if (label !== null && (label.length > MAX_LABEL || /[\0\n\r]/.test(label))) {
    throw new CacheError(ErrorCodes.BAD_REQUEST, `run label must be one line of at most ${MAX_LABEL} characters`);
  }
  const day = new Date(o.now).toISOString().slice(0, 10).replaceAll('-', '');
  const runs = accountingRepos(db).runs;
  for (let attempt = 0; attempt < 16; attempt++) {
    const id = `run-${day}-${crypto.randomBytes(3).toString('hex')}`;
    if (runs.insertIfNew(id, label, o.now)) return { id, label, startedAt: o.now, endedAt: null };
  }
  throw new CacheError(ErrorCodes.INTERNAL, `could not find a free run id for ${day} after 16 tries`);
}

/**
 * Ends a run. Unknown id: E_BAD_REQUEST naming it. Ending an ended run is a no-op that keeps the first end.
 */
export function endRun(db: Database.Database, id: string, now: number): RunRecord {
  const run = getRun(db, id);
  if (!run) throw new CacheError(ErrorCodes.BAD_REQUEST, `run ${JSON.stringify(id)} does not exist (start one with: cache-manager run start)`);
  if (run.endedAt !== null) return run;
  accountingRepos(db).runs.end(id, now);
  return { ...run, endedAt: now };
}

export function getRun(db: Database.Database, id: string): RunRecord | null {
  const row = accountingRepos(db).runs.get(id);
  return row ? toRecord(row) : null;
}

/** Runs, newest first. */
export function listRuns(db: Database.Database, o: { limit?: number } = {}): RunRecord[] {
  return accountingRepos(db).runs.newest(o.limit ?? 100).map(toRecord);
}
