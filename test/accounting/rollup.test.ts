import { describe, expect, it } from 'vitest';
import { collectMetrics } from '../../src/accounting/metrics.js';
import { rollupEvents } from '../../src/accounting/rollup.js';
import { startRun } from '../../src/accounting/runs.js';
import { queryStats, type Stats } from '../../src/accounting/stats.js';
import { DAY, EXPECTED, insertEvents, T0, useTestDb, workload } from './helpers.js';

const t = useTestDb();

const NOW = T0 + 40 * DAY;
const EXACT = ['hits', 'misses', 'errors', 'requests', 'hitRate', 'bytesServed', 'bytesDownloaded', 'bytesAvoided', 'timeSavedMs', 'modelsTouched'] as const;
const pick = (s: Stats | Record<string, unknown>) => Object.fromEntries(EXACT.map((k) => [k, (s as Record<string, unknown>)[k]]));
const EXACT_ROW = ['requests', 'hits', 'misses', 'errors', 'hitRate', 'bytesServed', 'bytesDownloaded', 'bytesAvoided', 'timeSavedMs'];
const pickRows = (rows: Array<Record<string, unknown>>, key: string) =>
  rows.map((r) => Object.fromEntries([key, ...EXACT_ROW].map((k) => [k, r[k]])));
const count = (table: string) => (t.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
const gauges = { cacheBytes: 0, limitBytes: 5e9, models: 3, leases: 0, lastVerify: null };

function snapshot(run?: string) {
  return {
    total: pick(queryStats(t.db, { now: NOW, run })),
    byDay: pickRows(queryStats(t.db, { now: NOW, run, by: 'day' }).breakdown!, 'day'),
    byModel: pickRows(queryStats(t.db, { now: NOW, run, by: 'model' }).breakdown!, 'model'),
    byClient: pickRows(queryStats(t.db, { now: NOW, run, by: 'client' }).breakdown!, 'client'),
  };
}

describe('rollupEvents', () => {
  it('moves old events into daily totals and leaves per-day hit rates and every total unchanged', () => {
    const run = startRun(t.db, { now: T0 });
    insertEvents(t.db, workload().map((e, i) => ({ ...e, run: i % 4 === 0 ? run.id : undefined })));
    const before = snapshot();
    const beforeRun = snapshot(run.id);
    const metricsBefore = collectMetrics(t.db, gauges);
    expect(before.total.hits).toBe(EXPECTED.hits);

    // Keep the newest 1.5 days raw: day 0, day 1 and half of day 2 are rolled up (a day split across both tables).
    const cutoff = T0 + 2 * DAY + 12 * 3_600_000;
    const r = rollupEvents(t.db, { olderThanMs: NOW - cutoff, now: NOW });
    const rolled = workload().filter((e) => e.ts! < cutoff).length;
    expect(r).toEqual({ rowsRolled: rolled, daysTouched: 3 });
    expect(count('events')).toBe(40 - rolled);
    expect(count('daily_totals')).toBeGreaterThan(0);

    expect(snapshot()).toEqual(before);
    expect(snapshot(run.id)).toEqual(beforeRun);
    const metricsAfter = collectMetrics(t.db, gauges);
    expect(metricsAfter.requests).toEqual(metricsBefore.requests);
    expect(metricsAfter.bytesAvoided).toBe(metricsBefore.bytesAvoided);
    expect(metricsAfter.downloadSeconds.count).toBe(metricsBefore.downloadSeconds.count);
    expect(metricsAfter.downloadSeconds.sum).toBeCloseTo(metricsBefore.downloadSeconds.sum, 9);

    // Mean miss time survives exactly; the median-based figures are flagged as approximate.
    const after = queryStats(t.db, { now: NOW });
    expect(after.approximations).toContain('medianHitMs');
    expect(after.missPenaltyMs! + after.medianHitMs!).toBeCloseTo(EXPECTED.missMsTotal / EXPECTED.misses, 9);

    // Rolling again with the same cutoff changes nothing; a later cutoff adds into the same rows.
    expect(rollupEvents(t.db, { olderThanMs: NOW - cutoff, now: NOW })).toEqual({ rowsRolled: 0, daysTouched: 0 });
    const r2 = rollupEvents(t.db, { olderThanMs: 0, now: NOW });
    expect(r2.rowsRolled).toBe(40 - rolled);
    expect(count('events')).toBe(0);
    expect(snapshot()).toEqual(before);
    const all = queryStats(t.db, { now: NOW });
    expect(all.lookupSample).toBe(0);
    expect(all.lookupP95Ms).toBeNull();
    // With no raw hit left, the median hit time falls back to the mean hit time.
    const hitMs = workload().filter((e) => e.outcome === 'hit').map((e) => e.durationMs);
    expect(all.medianHitMs).toBeCloseTo(hitMs.reduce((a, b) => a + b, 0) / hitMs.length, 9);
  });

  it('a window that starts on a day boundary counts rolled-up days exactly', () => {
    insertEvents(t.db, workload());
    const since = T0 + DAY; // 2026-01-11 00:00 UTC
    const before = pick(queryStats(t.db, { now: NOW, sinceMs: since }));
    rollupEvents(t.db, { olderThanMs: NOW - (T0 + 3 * DAY), now: NOW });
    expect(pick(queryStats(t.db, { now: NOW, sinceMs: since }))).toEqual(before);
    expect(before.requests).toBe(31);
  });

  it('is one transaction: a failure leaves the events where they were', () => {
    insertEvents(t.db, workload());
    t.db.exec(`CREATE TRIGGER no_totals BEFORE INSERT ON daily_totals WHEN NEW.day = '2026-01-11' BEGIN SELECT RAISE(ABORT, 'refused'); END`);
    expect(() => rollupEvents(t.db, { olderThanMs: 0, now: NOW })).toThrow(/refused/);
    expect(count('events')).toBe(40);
    expect(count('daily_totals')).toBe(0);
  });
});
