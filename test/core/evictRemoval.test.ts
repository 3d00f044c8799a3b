import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { admitFromStreams, type StreamedFile } from './admitFromStreams.js';
import type { OpenedCache } from '../../src/cache/maintenanceApi.js';
import { openCache } from '../../src/cache/openCache.js';
import { assertConsistent, bytes, chunks, expectedOf, rmTree, sha256, tempDir } from './helpers.js';

let dir: string;
let cacheDir: string;
let now: number;
const clock = () => now;
const open: OpenedCache[] = [];

/** A removal gate the test opens by hand: removals of evicted models wait until `open(key)`. */
function manualGate() {
  const waiting = new Map<string, () => void>();
  const entered: string[] = [];
  const opened = new Set<string>();
  return {
    entered,
    gate: (key: string) =>
      new Promise<void>((resolve) => {
        entered.push(key);
        if (opened.has(key)) resolve();
        else waiting.set(key, resolve);
      }),
    open(key: string) {
      opened.add(key);
      waiting.get(key)?.();
      waiting.delete(key);
    },
  };
}

beforeEach(() => {
  dir = tempDir();
  cacheDir = path.join(dir, 'cache');
  now = 1_700_000_000_000;
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
  rmTree(dir);
});

function openIt(gate?: (key: string) => Promise<void>, limitBytes = 100_000_000): OpenedCache {
  const c = openCache({ cacheDir, limitBytes, lowWatermark: 1, clock, removalGate: gate });
  open.push(c);
  return c;
}

function files(spec: Record<string, Buffer>, chunk = 4096): StreamedFile[] {
  return Object.entries(spec).map(([p, buf]) => ({ path: p, expected: expectedOf(buf), stream: chunks(buf, chunk) }));
}

function meta(repo: string, commit: string) {
  return { repo, subfolder: null, commit, origin: 'test', fetchMs: 1 };
}

function filled(label: string, size: number): Buffer {
  const b = Buffer.alloc(size, label);
  b.write(label);
  return b;
}

/** Whether `p` has settled yet, checked after the microtasks queued so far have run. */
async function isSettled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('eviction removes files off the event loop', () => {
  it('evict() returns with the paths, rows and lookup gone; the files are deleted later', async () => {
    const g = manualGate();
    const c = openIt(g.gate);
    const big = filled('B', 1 << 20);
    const a = await admitFromStreams(c, meta('org/a', 'c1'), files({ 'w.bin': big }));
    c.putRef({ ref: 'org/a@main', repo: 'org/a', revision: 'main', subfolder: null, commit: 'c1', origin: 'test', resolvedAt: now });
    expect(c.lookup('org/a@main').hit).toBe(true);

    expect(c.evict(a.id, 'lru')).toBe(big.length);
    expect(c.lookup('org/a@main').hit).toBe(false);
    expect(c.getModel(a.id)).toBeNull();
    expect(fs.existsSync(a.path)).toBe(false);
    expect(fs.existsSync(c.blobPathOf(sha256(big)))).toBe(false);
    expect(c.findBlob(expectedOf(big))).toBeNull();
    expect(c.totals()).toMatchObject({ usedBytes: 0, blobs: 0, models: 0 });
    // The data waits in tmp/, spared by sweeps while its removal is pending.
    expect(fs.readdirSync(c.layout.tmp)).toHaveLength(1);
    expect(c.sweepTmp().entries).toBe(0);

    const settled = c.settled();
    expect(await isSettled(settled)).toBe(false);
    g.open('org/a@c1');
    await settled;
    expect(fs.readdirSync(c.layout.tmp)).toEqual([]);
    assertConsistent(cacheDir);
  });

  it('an admission during a pending removal of a model sharing its blobs gets correct files (30 times)', async () => {
    const g = manualGate();
    const c = openIt(g.gate);
    for (let i = 0; i < 30; i++) {
      const shared = filled(`shared-${i}-`, 64 * 1024 + i);
      const onlyA = filled(`a-${i}-`, 32 * 1024);
      const onlyB = filled(`b-${i}-`, 16 * 1024);
      const a = await admitFromStreams(c, meta('org/a', `c${i}`), files({ 'shared.bin': shared, 'a.bin': onlyA }));
      // Even rounds: B found the shared blob before the eviction (its scope holds it, so it stays).
      // Odd rounds: B starts after it (the blob left with A's files; B writes it again).
      const scope = c.blobScope();
      const early = i % 2 === 0 ? scope.findBlob(expectedOf(shared)) : null;
      c.evict(a.id, 'lru');
      expect(fs.existsSync(c.blobPathOf(sha256(shared)))).toBe(early !== null);
      const admitting = admitFromStreams(
        c,
        meta('org/b', `c${i}`),
        files({ 'shared.bin': shared, 'b.bin': onlyB }, 1024),
      );
      // The removal runs while B's blobs stream in.
      g.open(`org/a@c${i}`);
      const b = await admitting;
      scope.release();
      await c.settled();
      expect(fs.readFileSync(path.join(b.path, 'shared.bin')).equals(shared)).toBe(true);
      expect(fs.readFileSync(path.join(b.path, 'b.bin')).equals(onlyB)).toBe(true);
      expect(fs.readFileSync(c.blobPathOf(sha256(shared))).equals(shared)).toBe(true);
      assertConsistent(cacheDir, { hashFiles: true });
      c.evict(b.id, 'lru');
      g.open(`org/b@c${i}`);
      await c.settled();
    }
    expect(c.totals()).toMatchObject({ usedBytes: 0, blobs: 0, models: 0 });
    assertConsistent(cacheDir);
  });

  it("a hit on another model is answered while a large model's files are being removed", async () => {
    const g = manualGate();
    const c = openIt(g.gate);
    const parts: Record<string, Buffer> = {};
    for (let i = 0; i < 8; i++) parts[`weights/part-${i}.bin`] = filled(`big-${i}-`, 1 << 20);
    const big = await admitFromStreams(c, meta('org/big', 'c1'), files(parts, 1 << 16));
    await admitFromStreams(c, meta('org/small', 'c1'), files({ 'w.bin': filled('small', 1024) }));
    c.putRef({ ref: 'org/small@main', repo: 'org/small', revision: 'main', subfolder: null, commit: 'c1', origin: 'test', resolvedAt: now });

    const order: string[] = [];
    c.evict(big.id, 'lru');
    const removal = c.settled().then(() => order.push('removed'));
    // Let the removal start and reach its pause: it is pending, not finished.
    await new Promise((r) => setImmediate(r));
    expect(g.entered).toEqual(['org/big@c1']);
    const hit = c.lookup('org/small@main');
    expect(hit.hit).toBe(true);
    if (hit.hit) {
      expect(c.confirmIntact(hit.model.id)).toBe(true);
      c.touch(hit.model.id);
    }
    order.push('hit');
    expect(await isSettled(removal)).toBe(false);
    g.open('org/big@c1');
    await removal;
    expect(order).toEqual(['hit', 'removed']);
    assertConsistent(cacheDir);
  });

  it('makeRoom plans with the space pending removals free, without evicting more', async () => {
    const g = manualGate();
    const c = openIt(g.gate, 1000);
    const a = await admitFromStreams(c, meta('org/a', 'c1'), files({ 'w.bin': filled('a', 600) }));
    const keep = await admitFromStreams(c, meta('org/keep', 'c1'), files({ 'w.bin': filled('k', 300) }));
    now += 1000;
    c.touch(keep.id, now);
    const first = c.makeRoom(600, () => false);
    expect(first.evicted.map((e) => e.key)).toEqual(['org/a@c1']);
    expect(c.getModel(a.id)).toBeNull();
    // a's removal is still pending: the next admission fits with what it frees, keep stays.
    const second = c.makeRoom(600, () => false);
    expect(second.evicted).toEqual([]);
    expect(c.getModel(keep.id)).not.toBeNull();
    g.open('org/a@c1');
    await c.settled();
    assertConsistent(cacheDir);
  });

  it("makeRoom's garbage collection moves unreferenced blobs aside and deletes them later", async () => {
    const g = manualGate();
    const c = openIt(g.gate, 1000);
    const buf = filled('g', 800);
    const w = await c.openWriter(expectedOf(buf));
    await w.write(buf);
    const blob = await w.commit();
    now += 2 * 3600_000; // the writer's hold has run out: the blob is garbage
    expect(c.makeRoom(500, () => false)).toEqual({ evicted: [], freedBytes: 800 });
    expect(fs.existsSync(c.blobPathOf(blob.sha256))).toBe(false);
    expect(c.totals()).toMatchObject({ usedBytes: 0, blobs: 0 });
    expect(fs.readdirSync(c.layout.tmp)).toHaveLength(1);
    g.open('unreferenced blobs');
    await c.settled();
    assertConsistent(cacheDir);
  });

  it('close() finishes pending removals: nothing is left for the next start to recover', async () => {
    const g = manualGate();
    const c = openIt(g.gate);
    const a = await admitFromStreams(c, meta('org/a', 'c1'), files({ 'w.bin': filled('a', 1 << 16) }));
    c.evict(a.id, 'lru');
    await new Promise((r) => setImmediate(r));
    expect(g.entered).toEqual(['org/a@c1']);
    c.close();
    expect(fs.readdirSync(path.join(cacheDir, 'v1', 'tmp'))).toEqual([]);
    assertConsistent(cacheDir);
    g.open('org/a@c1');
    await new Promise((r) => setImmediate(r));
    const again = openIt();
    expect(again.recovery).toMatchObject({ admissions: 0, blobsRemoved: 0, tmpEntriesRemoved: 0 });
  });
});
