import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { createRecorder } from '../../src/accounting/recorder.js';
import { queryStats, zeroStats } from '../../src/accounting/stats.js';
import { endRun, getRun, listRuns, startRun } from '../../src/accounting/runs.js';
import { CacheError, ErrorCodes } from '../../src/errors.js';
import { DAY, EXPECTED, HOUR, insertEvents, MODELS, T0, useTestDb, workload } from './helpers.js';

const t = useTestDb();

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
function medianOf(xs: number[]): number {
  const s = sorted(xs);
  const mid = s.length / 2;
  return s.length % 2 ? s[Math.floor(mid)]! : (s[mid - 1]! + s[mid]!) / 2;
}

describe('scripted workload: 3 models, 40 gets', () => {
  it('gives exactly the expected hits, misses, hit rate and bytes, also after reopening the file', () => {
    const rec = createRecorder(t.db, { flushIntervalMs: 60_000, flushBatch: 1000, clock: () => T0 });
    for (const e of workload()) rec.record(e);
    rec.close();

    const check = (d: Database.Database) => {
      const s = queryStats(d, { now: T0 + 5 * DAY });
      expect(s.hits).toBe(EXPECTED.hits);
      expect(s.misses).toBe(EXPECTED.misses);
      expect(s.errors).toBe(EXPECTED.errors);
      expect(s.requests).toBe(40);
      expect(s.hitRate).toBeCloseTo(EXPECTED.hitRate, 12);
      expect(s.bytesServed).toBe(EXPECTED.bytesServed);
      expect(s.bytesDownloaded).toBe(EXPECTED.bytesDownloaded);
      expect(s.bytesAvoided).toBe(EXPECTED.bytesAvoided);
      expect(s.timeSavedMs).toBe(EXPECTED.timeSavedMs);
      expect(s.modelsTouched).toBe(3);
      const hitMs = workload().filter((e) => e.outcome === 'hit').map((e) => e.durationMs);
      expect(s.medianHitMs).toBeCloseTo(medianOf(hitMs), 9);
      expect(s.missPenaltyMs).toBeCloseTo(EXPECTED.missMsTotal / 4 - medianOf(hitMs), 9);
      expect(s.lookupP99Ms).toBeCloseTo(1.0, 9);
      expect(s.lookupSample).toBe(33);
      expect(s.since).toBeNull();
      expect(s.approximations).toEqual([]);
    };
    check(t.db);
    t.db.close();
    const again = new Database(t.file);
    try {
      check(again);
    } finally {
      again.close();
    }
  });

  it('breaks down by model, client and day, each summing to the totals', () => {
    insertEvents(t.db, workload());
    const now = T0 + 5 * DAY;
    const byModel = queryStats(t.db, { now, by: 'model' }).breakdown!;
    const row = (k: string) => byModel.find((r) => r.model === k)!;
    expect(row(MODELS.tiny.key)).toMatchObject({ hits: 14, misses: 1, errors: 0, bytesDownloaded: 40e6, bytesAvoided: 560e6, timeSavedMs: 28_000 });
    expect(row(MODELS.base.key)).toMatchObject({ hits: 10, misses: 2, bytesDownloaded: 300e6, bytesAvoided: 1.5e9 });
    expect(row(MODELS.large.key)).toMatchObject({ hits: 9, misses: 1, errors: 0, bytesAvoided: 13.5e9 });
    expect(row('mlx-community/whisper-large-v3-turbo@main')).toMatchObject({ hits: 0, misses: 0, errors: 3, hitRate: null });
    expect(row(MODELS.base.key).hitRate).toBeCloseTo(10 / 12, 12);

    const byDay = queryStats(t.db, { now, by: 'day' }).breakdown!;
    expect(byDay.map((r) => r.day)).toEqual(['2026-01-10', '2026-01-11', '2026-01-12', '2026-01-13']);
    expect(byDay.map((r) => r.requests)).toEqual([9, 12, 12, 7]);

    const byClient = queryStats(t.db, { now, by: 'client' }).breakdown!;
    expect(byClient.map((r) => r.client)).toEqual(['ci', 'dev']);
    for (const [rows, key] of [
      [byModel, 'hits'],
      [byDay, 'misses'],
      [byClient, 'bytesServed'],
      [byDay, 'bytesAvoided'],
    ] as const) {
      expect(rows.reduce((a, r) => a + (r[key] as number), 0)).toBe(
        key === 'hits' ? EXPECTED.hits : key === 'misses' ? EXPECTED.misses : key === 'bytesServed' ? EXPECTED.bytesServed : EXPECTED.bytesAvoided,
      );
    }
  });

  it('an empty index gives zeros and a null hit rate, not an error', () => {
    const s = queryStats(t.db, { now: T0 });
    expect(s).toMatchObject({ hits: 0, misses: 0, errors: 0, hitRate: null, bytesServed: 0, missPenaltyMs: null, medianHitMs: null, modelsTouched: 0 });
  });
});

describe('runs', () => {
  it('ids look like run-<yyyymmdd>-<6 hex>, are unique, and carry the label', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const r = startRun(t.db, { label: `r${i}`, now: T0 + i });
      expect(r.id).toMatch(/^run-20260110-[0-9a-f]{6}$/);
      ids.add(r.id);
    }
    expect(ids.size).toBe(50);
    expect(listRuns(t.db, { limit: 3 }).map((r) => r.label)).toEqual(['r49', 'r48', 'r47']);
  });

  it('two overlapping runs are accounted separately', () => {
    const a = startRun(t.db, { label: 'unit', now: T0 });
    const b = startRun(t.db, { label: 'integration', now: T0 + HOUR });
    const w = workload();
    // Interleave: every 3rd event outside any run, the rest alternate a / b, while both runs are open.
    const tagged = w.map((e, i) => ({ ...e, run: i % 3 === 2 ? undefined : i % 2 === 0 ? a.id : b.id }));
    insertEvents(t.db, tagged);
    endRun(t.db, a.id, T0 + 6 * DAY);
    const now = T0 + 7 * DAY;
    for (const id of [a.id, b.id]) {
      const mine = tagged.filter((e) => e.run === id);
      const s = queryStats(t.db, { run: id, now });
      const hits = mine.filter((e) => e.outcome === 'hit').length;
      const misses = mine.filter((e) => e.outcome === 'miss').length;
      expect(s.hits).toBe(hits);
      expect(s.misses).toBe(misses);
      expect(s.errors).toBe(mine.filter((e) => e.outcome === 'error').length);
      expect(s.hitRate).toBeCloseTo(hits / (hits + misses), 12);
      expect(s.bytesDownloaded).toBe(mine.reduce((x, e) => x + e.bytesDownloaded, 0));
      expect(s.bytesAvoided).toBe(mine.filter((e) => e.outcome === 'hit').reduce((x, e) => x + e.bytesServed, 0));
      expect(s.timeSavedMs).toBe(mine.reduce((x, e) => x + (e.savedMs ?? 0), 0));
      expect(s.modelsTouched).toBe(new Set(mine.filter((e) => e.outcome !== 'error').map((e) => e.model)).size);
      expect(s.run).toBe(id);
      expect(s.runInfo?.id).toBe(id);
    }
    const sa = queryStats(t.db, { run: a.id, now });
    const sb = queryStats(t.db, { run: b.id, now });
    const all = queryStats(t.db, { now });
    expect(sa.hits + sb.hits).toBeLessThan(all.hits);
    expect(sa.runInfo).toMatchObject({ label: 'unit', endedAt: T0 + 6 * DAY });
    expect(sb.runInfo).toMatchObject({ label: 'integration', endedAt: null });
  });

  it('ending an unknown run is a clear E_BAD_REQUEST; ending twice keeps the first end', () => {
    let err: unknown;
    try {
      endRun(t.db, 'run-20260110-ffffff', T0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CacheError);
    expect((err as CacheError).code).toBe(ErrorCodes.BAD_REQUEST);
    expect((err as CacheError).message).toContain('run-20260110-ffffff');
    const r = startRun(t.db, { now: T0 });
    expect(r.label).toBeNull();
    expect(endRun(t.db, r.id, T0 + 10).endedAt).toBe(T0 + 10);
    expect(endRun(t.db, r.id, T0 + 99).endedAt).toBe(T0 + 10);
    expect(getRun(t.db, r.id)?.endedAt).toBe(T0 + 10);
    expect(() => startRun(t.db, { label: 'two\nlines', now: T0 })).toThrow(/one line/);
  });
});

describe('stats --zero', () => {
  it('default stats count from the last reset; history is kept; --since and --run still see it', () => {
    const w = workload();
    const run = startRun(t.db, { now: T0 });
    insertEvents(t.db, w.slice(0, 20).map((e) => ({ ...e, run: run.id })));
    const resetAt = w[19]!.ts! + 1;
    expect(zeroStats(t.db, resetAt)).toEqual({ resetAt });
    insertEvents(t.db, w.slice(20));

    const after = w.slice(20);
    const s = queryStats(t.db, { now: T0 + 5 * DAY });
    expect(s.since).toBe(resetAt);
    expect(s.sinceFrom).toBe('reset');
    expect(s.resetAt).toBe(resetAt);
    expect(s.hits).toBe(after.filter((e) => e.outcome === 'hit').length);
    expect(s.misses).toBe(after.filter((e) => e.outcome === 'miss').length);
    expect(s.requests).toBe(20);

    // History kept: the rows are there, an explicit window and the run still count them.
    expect((t.db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n).toBe(40);
    expect(queryStats(t.db, { now: T0 + 5 * DAY, sinceMs: 0 }).requests).toBe(40);
    expect(queryStats(t.db, { now: T0 + 5 * DAY, run: run.id }).requests).toBe(20);

    // A second reset moves the point forward.
    zeroStats(t.db, T0 + 10 * DAY);
    expect(queryStats(t.db, { now: T0 + 10 * DAY }).requests).toBe(0);
  });
});
