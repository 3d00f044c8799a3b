import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CleanResult as WireCleanResult } from '../../src/ipc/protocol.js';
import { clean } from '../../src/maintenance/clean.js';
import { verify } from '../../src/maintenance/verify.js';
import type { CleanOptions } from '../../src/maintenance/types.js';
import { blobPath } from '../../src/store/layout.js';
import { addModel, age, bytes, COMMIT_B, DAY, makeSandbox, plantOrphanBlob, plantTempFile, sha256, type Sandbox } from './fixtures.js';

let sb: Sandbox;
afterEach(() => sb?.close());

const NONE: CleanOptions = { dryRun: false, corrupted: false, partial: false, olderThanMs: null, all: false, models: [] };
const shared = bytes(10_000, 'shared');

/** Four models used 10, 9, 8 and 1 days before "now"; the two oldest share one blob. */
async function agedModels() {
  const now = sb.clock.now;
  const add = async (name: string, daysAgo: number, n: number) => {
    sb.clock.now = now - daysAgo * DAY;
    return addModel(sb.cache, { repo: `org/${name}`, files: { 'w.bin': bytes(n, name), 'shared.bin': shared } });
  };
  const m10 = await add('ten', 10, 1000);
  const m9 = await add('nine', 9, 2000);
  const m8 = await add('eight', 8, 3000);
  const m1 = await add('one', 1, 4000);
  sb.clock.now = now;
  return { m10, m9, m8, m1 };
}

describe('clean', () => {
  it('--older-than 7d removes only models last used before then, skipping a leased one', async () => {
    sb = makeSandbox();
    const { m10, m9, m8, m1 } = await agedModels();
    sb.leased.add(m9.id);
    const r: WireCleanResult = await clean(sb.deps(), { ...NONE, olderThanMs: 7 * DAY });
    expect(r.removed).toEqual([
      { kind: 'model', name: m10.key, bytes: 1000 },
      { kind: 'model', name: m8.key, bytes: 3000 },
    ]);
    expect(r.skipped).toEqual([{ model: m9.key, reason: expect.stringContaining('leased') }]);
    expect(r.freedBytes).toBe(4000);
    expect(sb.cache.list().map((m) => m.key).sort()).toEqual([m1.key, m9.key].sort());
    expect(fs.existsSync(m10.path)).toBe(false);
    expect(fs.existsSync(blobPath(sb.cache.layout, sha256(shared)))).toBe(true);
    expect(sb.cache.listEvictions().map((e) => e.reason)).toEqual(['clean', 'clean']);
  });

  it('--dry-run removes nothing and reports exactly what a real run removes', async () => {
    sb = makeSandbox();
    const { m1 } = await agedModels();
    const stale = path.join(sb.cache.layout.tmp, 'blob-stale');
    fs.writeFileSync(stale, bytes(500, 'tmp'));
    age(stale, sb.clock.now - 3 * 3600_000);
    const before = sb.cache.list().length;
    const opts = { ...NONE, olderThanMs: 7 * DAY, partial: true };

    const dry = await clean(sb.deps(), { ...opts, dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(sb.cache.list()).toHaveLength(before);
    expect(fs.existsSync(stale)).toBe(true);
    // The three old models: the last one of them to go frees the shared blob too.
    expect(dry.removed.filter((x) => x.kind === 'model').map((x) => x.bytes)).toEqual([1000, 2000, 3000]);
    expect(dry.removed).toContainEqual({ kind: 'temp', name: stale, bytes: 500 });

    const real = await clean(sb.deps(), opts);
    expect(real.removed).toEqual(dry.removed);
    expect(real.freedBytes).toBe(dry.freedBytes);
    expect(sb.cache.list().map((m) => m.key)).toEqual([m1.key]);
    expect(fs.existsSync(stale)).toBe(false);
  });

  it('the last model holding a shared blob frees it', async () => {
    sb = makeSandbox();
    const { m10, m9, m8, m1 } = await agedModels();
    const r = await clean(sb.deps(), { ...NONE, models: [m10.id, m9.id, m8.id, m1.id] });
    expect(r.freedBytes).toBe(1000 + 2000 + 3000 + 4000 + shared.length);
    expect(sb.cache.totals().usedBytes).toBe(0);
  });

  it('a pinned model is skipped unless named; --all never takes a leased one', async () => {
    sb = makeSandbox();
    const { m10, m9, m8, m1 } = await agedModels();
    sb.cache.setPinned(m10.id, true);
    sb.leased.add(m1.id);
    const r = await clean(sb.deps(), { ...NONE, all: true, dryRun: true });
    expect(r.removed.map((x) => x.name).sort()).toEqual([m9.key, m8.key].sort());
    expect(r.skipped).toEqual(
      expect.arrayContaining([
        { model: m10.key, reason: expect.stringContaining('pinned') },
        { model: m1.key, reason: expect.stringContaining('leased') },
      ]),
    );
    const named = await clean(sb.deps(), { ...NONE, models: [m10.id] });
    expect(named.removed.map((x) => x.name)).toEqual([m10.key]);
    expect(sb.cache.getModel(m10.id)).toBeNull();
  });

  it('with no selector: damaged models, quarantined blobs and partial leftovers; ready models stay', async () => {
    sb = makeSandbox();
    const { m10, m9, m8, m1 } = await agedModels();
    sb.cache.markDamaged(m9.id);
    const { layout } = sb.cache;
    fs.writeFileSync(path.join(layout.quarantine, `${'c'.repeat(64)}.123`), bytes(300, 'q'));
    const orphan = bytes(2048, 'orphan');
    const orphanPath = plantOrphanBlob(layout, orphan);
    const stale = plantTempFile(layout, 'blob-old', bytes(100, 't'), sb.clock.now - 2 * 3600_000);
    const unowned = path.join(layout.snapshots, 'gone--model', COMMIT_B);
    fs.mkdirSync(unowned, { recursive: true });
    fs.writeFileSync(path.join(unowned, 'x'), 'abcd');

    const r = await clean(sb.deps(), NONE);
    expect(r.removed).toEqual(
      expect.arrayContaining([
        { kind: 'model', name: m9.key, bytes: 2000 },
        { kind: 'quarantine', name: path.join(layout.quarantine, `${'c'.repeat(64)}.123`), bytes: 300 },
        { kind: 'blob', name: sha256(orphan), bytes: 2048 },
        { kind: 'temp', name: stale, bytes: 100 },
        { kind: 'snapshot', name: path.join(layout.snapshots, 'gone--model'), bytes: 4 },
      ]),
    );
    expect(r.removed).toHaveLength(5);
    expect(r.freedBytes).toBe(2000 + 300 + 2048 + 100 + 4);
    expect(sb.cache.list().map((m) => m.id).sort()).toEqual([m10.id, m8.id, m1.id].sort());
    expect(fs.readdirSync(layout.quarantine)).toEqual([]);
    expect(fs.existsSync(orphanPath)).toBe(false);
    expect(fs.existsSync(unowned)).toBe(false);
  });

  it('resumable partial downloads: kept by default (not orphans for verify), removed by --partial; older than 24 h they are leftovers', async () => {
    sb = makeSandbox();
    await addModel(sb.cache, { repo: 'org/a', files: { 'a.bin': bytes(500, 'a') } });
    const { layout } = sb.cache;
    const fresh = path.join(layout.tmp, `partial-${'a'.repeat(64)}`);
    const old = path.join(layout.tmp, `partial-${'b'.repeat(64)}`);
    fs.writeFileSync(fresh, bytes(700, 'fresh'));
    fs.writeFileSync(old, bytes(300, 'old'));
    age(fresh, sb.clock.now - 2 * 3600_000);
    age(old, sb.clock.now - 25 * 3600_000);

    expect((await verify(sb.deps(), { quick: true, repair: false })).orphans.temp.map((t) => t.path)).toEqual([old]);
    const byDefault = await clean(sb.deps(), NONE);
    expect(byDefault.removed).toEqual([{ kind: 'temp', name: old, bytes: 300 }]);
    expect(fs.existsSync(fresh)).toBe(true);
    expect((await verify(sb.deps(), { quick: true, repair: false })).ok).toBe(true);

    const asked = await clean(sb.deps(), { ...NONE, partial: true });
    expect(asked.removed).toEqual([{ kind: 'partial download', name: fresh, bytes: 700 }]);
    expect(fs.readdirSync(layout.tmp)).toEqual([]);
  });

  it('removes planted links themselves, never what they point at', async () => {
    sb = makeSandbox();
    await agedModels();
    const outside = path.join(sb.root, 'precious');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'keep.txt'), 'keep me');
    const { layout } = sb.cache;
    const links = [
      path.join(layout.tmp, 'evil-tmp'),
      path.join(layout.snapshots, 'evil-snap'),
      path.join(layout.quarantine, 'evil-q'),
      path.join(layout.blobs, 'sha256', 'ee'),
    ];
    for (const l of links) fs.symlinkSync(outside, l);
    age(links[0]!, sb.clock.now - 2 * 3600_000);
    const r = await clean(sb.deps(), NONE);
    expect(r.removed.map((x) => x.kind).sort()).toEqual(['blob', 'quarantine', 'snapshot', 'temp']);
    for (const l of links) expect(fs.lstatSync(l, { throwIfNoEntry: false })).toBeUndefined();
    expect(fs.readFileSync(path.join(outside, 'keep.txt'), 'utf8')).toBe('keep me');
  });
});
