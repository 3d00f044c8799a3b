import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type Database from 'better-sqlite3';
import { collectMetrics } from '../../src/accounting/metrics.js';
import { createRecorder } from '../../src/accounting/recorder.js';
import { buildReport } from '../../src/accounting/report.js';
import { rollupEvents } from '../../src/accounting/rollup.js';
import { listRuns, startRun } from '../../src/accounting/runs.js';
import { queryStats, zeroStats } from '../../src/accounting/stats.js';
import { DAY, insertEvents, openTestDb, T0, workload } from './helpers.js';

let t: ReturnType<typeof openTestDb>;
let db: Database.Database;
beforeEach(() => {
  t = openTestDb();
  db = t.db;
});
afterEach(() => t.cleanup());

const GAUGES = { cacheBytes: 0, limitBytes: 1, models: 0, leases: 0 };
const TARGETS = { hitRate: 0.8, lookupMs: 50 };

/** Every accounting entry point once per shape of scope: what a long-lived daemon calls again and again. */
function everything(now: number): void {
  for (const q of [{}, { sinceMs: T0 }, { run: 'r' }, { sinceMs: T0, run: 'r' }]) {
    queryStats(db, { ...q, now });
    queryStats(db, { ...q, now, by: 'client' });
    buildReport(db, { ...q, now, targets: TARGETS });
  }
  collectMetrics(db, GAUGES);
  collectMetrics(db, GAUGES, { run: 'r' });
  listRuns(db);
  startRun(db, { label: 'x', now });
  zeroStats(db, now);
  rollupEvents(db, { olderThanMs: 2 * DAY, now });
}

describe('accounting statements are prepared once per connection', () => {
  it('the recorder prepares nothing when it flushes', () => {
    const rec = createRecorder(db, { flushIntervalMs: 3_600_000, flushBatch: 5, clock: () => T0 });
    const prepare = vi.spyOn(db, 'prepare');
    for (const e of workload()) rec.record(e);
    rec.close();
    expect(prepare).not.toHaveBeenCalled();
  });

  it('stats, report, metrics, runs, resets and rollup prepare nothing the second time round', () => {
    insertEvents(db, workload());
    const prepare = vi.spyOn(db, 'prepare');
    everything(T0 + 5 * DAY);
    expect(prepare).toHaveBeenCalled();
    prepare.mockClear();
    everything(T0 + 6 * DAY);
    expect(prepare).not.toHaveBeenCalled();
  });
});
