import { describe, expect, it } from 'vitest';
import { createRecorder } from '../../src/accounting/recorder.js';
import { T0, useTestDb, workload } from './helpers.js';

const t = useTestDb();

const rows = () => (t.db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('recorder', () => {
  it('buffers until the batch is full, then writes the whole batch at once', () => {
    const rec = createRecorder(t.db, { flushIntervalMs: 3_600_000, flushBatch: 10, clock: () => T0 });
    const w = workload();
    for (const e of w.slice(0, 9)) rec.record(e);
    expect(rec.pending()).toBe(9);
    expect(rows()).toBe(0);
    rec.record(w[9]!);
    expect(rec.pending()).toBe(0);
    expect(rows()).toBe(10);
    for (const e of w.slice(10, 15)) rec.record(e);
    expect(rows()).toBe(10);
    rec.close();
    expect(rows()).toBe(15);
    expect(rec.pending()).toBe(0);
    // After close the index may be gone: records are dropped, not thrown.
    rec.record(w[15]!);
    expect(rec.pending()).toBe(0);
    expect(rows()).toBe(15);
  });

  it('writes what it was given: fields, defaults from the clock, clamped numbers', () => {
    const rec = createRecorder(t.db, { flushIntervalMs: 3_600_000, flushBatch: 100, clock: () => T0 + 123 });
    rec.record({ model: 'm@1', outcome: 'hit', bytesServed: 10, bytesDownloaded: 0, durationMs: 0.25, client: 'ci', run: 'run-x', savedMs: 900 });
    rec.record({ model: 'm@1', outcome: 'miss', bytesServed: 10, bytesDownloaded: 10, durationMs: Number.NaN, savedMs: 900 });
    rec.record({ ts: T0, model: 'ref', outcome: 'error', bytesServed: -5, bytesDownloaded: 0, durationMs: 3, errorCode: 'E_OFFLINE', client: '' });
    rec.flush();
    const got = t.db.prepare('SELECT ts, model, outcome, bytes_served, duration_ms, client, run_id, error_code, saved_ms FROM events ORDER BY id').all();
    expect(got).toEqual([
      { ts: T0 + 123, model: 'm@1', outcome: 'hit', bytes_served: 10, duration_ms: 0.25, client: 'ci', run_id: 'run-x', error_code: null, saved_ms: 900 },
      // saved time belongs to hits only; a NaN duration becomes 0
      { ts: T0 + 123, model: 'm@1', outcome: 'miss', bytes_served: 10, duration_ms: 0, client: null, run_id: null, error_code: null, saved_ms: 0 },
      { ts: T0, model: 'ref', outcome: 'error', bytes_served: 0, duration_ms: 3, client: null, run_id: null, error_code: 'E_OFFLINE', saved_ms: 0 },
    ]);
    rec.close();
  });

  it('flushes on its (unref-ed) timer', async () => {
    const rec = createRecorder(t.db, { flushIntervalMs: 20, flushBatch: 1000, clock: () => T0 });
    for (const e of workload().slice(0, 5)) rec.record(e);
    expect(rows()).toBe(0);
    await until(() => rows() === 5);
    expect(rec.pending()).toBe(0);
    rec.close();
  });

  it('a failed flush loses nothing: the events stay buffered and go in with the next flush', () => {
    const rec = createRecorder(t.db, { flushIntervalMs: 3_600_000, flushBatch: 1000, clock: () => T0 });
    for (const e of workload().slice(0, 7)) rec.record(e);
    t.db.exec('ALTER TABLE events RENAME TO events_away');
    expect(() => rec.flush()).toThrow();
    expect(rec.pending()).toBe(7);
    t.db.exec('ALTER TABLE events_away RENAME TO events');
    rec.flush();
    expect(rec.pending()).toBe(0);
    expect(rows()).toBe(7);
    rec.close();
  });
});
