import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { optimize } from '../../src/maintenance/optimize.js';
import { verify } from '../../src/maintenance/verify.js';
import { addModel, bytes, DAY, makeSandbox, plantOrphanBlob, plantTempFile, sha256, type Sandbox } from './fixtures.js';

let sb: Sandbox;
afterEach(() => sb?.close());

/** Hit rate per UTC day, from raw events plus rolled-up daily totals (what a report computes). */
function hitRateByDay(db: Sandbox['cache']['db']): Record<string, number> {
  const rows = db
    .prepare(
      `SELECT day, SUM(h) AS h, SUM(m) AS m FROM (
         SELECT strftime('%Y-%m-%d', ts / 1000, 'unixepoch') AS day, SUM(outcome = 'hit') AS h, SUM(outcome = 'miss') AS m FROM events GROUP BY 1
         UNION ALL SELECT day, SUM(hits), SUM(misses) FROM daily_totals GROUP BY 1)
       GROUP BY day ORDER BY day`,
    )
    .all() as Array<{ day: string; h: number; m: number }>;
  return Object.fromEntries(rows.map((r) => [r.day, r.h / (r.h + r.m)]));
}

describe('optimize', () => {
  it('sweeps temp files and orphan blobs, reporting the bytes freed, and verify passes after', async () => {
    sb = makeSandbox();
    await addModel(sb.cache, { repo: 'org/a', files: { 'a.bin': bytes(5000, 'a') } });
    const { layout } = sb.cache;
    const orphan = bytes(3000, 'orphan');
    const orphanPath = plantOrphanBlob(layout, orphan);
    const stale = plantTempFile(layout, 'blob-left-behind', bytes(700, 't'), sb.clock.now - 2 * 3600_000);
    // A committed blob never admitted (refcount 0), old enough that no download holds it.
    const pending = bytes(1200, 'pending');
    const w = await sb.cache.openWriter({ size: pending.length, sha256: sha256(pending) });
    await w.write(pending);
    await w.commit();
    // A snapshot tree no model owns (its index row lost).
    const strayTree = path.join(layout.snapshots, 'org--gone', 'c0ffee');
    fs.mkdirSync(path.join(strayTree, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(strayTree, 'sub', 'w.bin'), bytes(400, 'gone'));
    sb.clock.now += 7 * 3600_000;

    const before = await verify(sb.deps(), { quick: true, repair: false });
    expect(before.ok).toBe(false);
    expect(before.orphans.snapshots.map((s) => s.path)).toContain(path.dirname(strayTree));
    expect(before.orphans.blobs.map((b) => b.digest).sort()).toEqual([sha256(orphan), sha256(pending)].sort());

    const r = await optimize(sb.deps());
    expect(r.sweptTempBytes).toBe(700);
    expect(r.orphanBlobs).toBe(2);
    expect(r.orphanBytes).toBe(3000 + 1200);
    expect(r.orphanSnapshots).toBe(1);
    expect(r.orphanSnapshotBytes).toBe(400);
    expect(fs.existsSync(path.dirname(strayTree))).toBe(false);
    expect(r.freedBytes).toBeGreaterThanOrEqual(700 + 3000 + 1200 + 400);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(orphanPath)).toBe(false);
    expect(sb.cache.totals().usedBytes).toBe(5000);
    expect((await verify(sb.deps(), { quick: false, repair: false })).ok).toBe(true);
  });

  it('evicts least recently used models down to the low watermark, never a leased or pinned one', async () => {
    sb = makeSandbox({ limitBytes: 100_000, lowWatermark: 0.6 });
    const t0 = sb.clock.now;
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      sb.clock.now = t0 + i * 1000;
      ids.push((await addModel(sb.cache, { repo: `org/m${i}`, files: { 'w.bin': bytes(18_000, `m${i}`) } })).id);
    }
    sb.clock.now = t0 + 10_000;
    sb.leased.add(ids[0]!);
    sb.cache.setPinned(ids[1]!, true);
    const r = await optimize(sb.deps());
    // 90 kB used, target 60 kB: m2 and m3 go (m0 leased, m1 pinned).
    expect(r.evictedModels).toBe(2);
    expect(r.evictedBytes).toBe(36_000);
    expect(sb.cache.list().map((m) => m.id).sort()).toEqual([ids[0], ids[1], ids[4]].sort());
    expect(sb.cache.listEvictions().map((e) => e.reason)).toEqual(['lru', 'lru']);
  });

  it('rolls events older than the retention into daily totals (hit rate per day unchanged) and compacts the index', async () => {
    sb = makeSandbox();
    const db = sb.cache.db;
    const insert = db.prepare(
      'INSERT INTO events (ts, model, outcome, bytes_served, bytes_downloaded, duration_ms, client, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const now = sb.clock.now;
    db.transaction(() => {
      for (let d = 0; d < 60; d++) {
        for (let i = 0; i < 40; i++) {
          const outcome = i % (d % 4 === 0 ? 2 : 5) === 0 ? 'miss' : 'hit';
          insert.run(now - d * DAY - i * 1000, `org/m${i % 3}@c`, outcome, 100, outcome === 'miss' ? 100 : 0, 1.5, i % 2 ? 'ci' : null, null);
        }
      }
      // Garbage pages for VACUUM to reclaim.
      const junk = db.prepare('INSERT INTO events (ts, model, outcome, duration_ms) VALUES (?, ?, ?, ?)');
      for (let i = 0; i < 3000; i++) junk.run(now, 'x'.repeat(200), 'error', 0);
    })();
    db.prepare("DELETE FROM events WHERE model LIKE 'xxxx%'").run();
    const rates = hitRateByDay(db);
    const oldRows = (db.prepare('SELECT COUNT(*) AS n FROM events WHERE ts < ?').get(now - 30 * DAY) as { n: number }).n;
    expect(oldRows).toBeGreaterThan(0);
    expect((db.pragma('freelist_count', { simple: true }) as number) > 0).toBe(true);

    let flushed = 0;
    const r = await optimize(sb.deps({ flushAccounting: () => void flushed++ }));
    expect(flushed).toBe(1);
    expect(r.eventsRolled).toBe(oldRows);
    expect(r.daysTouched).toBeGreaterThanOrEqual(29);
    expect(hitRateByDay(db)).toEqual(rates);
    expect((db.prepare('SELECT COUNT(*) AS n FROM events WHERE ts < ?').get(now - 30 * DAY) as { n: number }).n).toBe(0);
    expect(db.pragma('freelist_count', { simple: true })).toBe(0);
    expect(r.dbBytesAfter).toBeGreaterThan(0);
    expect(r.dbBytesAfter).toBeLessThan(r.dbBytesBefore);
    expect(fs.statSync(`${sb.cache.layout.db}-wal`, { throwIfNoEntry: false })?.size ?? 0).toBe(0);
  });
});
