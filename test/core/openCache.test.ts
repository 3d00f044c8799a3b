import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { admitFromStreams, type StreamedFile } from './admitFromStreams.js';
import type { OpenedCache } from '../../src/cache/maintenanceApi.js';
import { openCache } from '../../src/cache/openCache.js';
import { CacheError } from '../../src/errors.js';
import { MIGRATIONS } from '../../src/db/migrations.js';
import { assertConsistent, bytes, chunks, expectedOf, gitSha1, listFiles, rmTree, sha256, tempDir } from './helpers.js';

let dir: string;
let cacheDir: string;
let now: number;
const clock = () => now;
const open: OpenedCache[] = [];

beforeEach(() => {
  dir = tempDir();
  cacheDir = path.join(dir, 'cache');
  now = 1_700_000_000_000;
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
  rmTree(dir);
});

function openIt(limitBytes = 1_000_000, lowWatermark = 1): OpenedCache {
  const c = openCache({ cacheDir, limitBytes, lowWatermark, clock });
  open.push(c);
  return c;
}

function reopen(c: OpenedCache, limitBytes = 1_000_000, lowWatermark = 1): OpenedCache {
  c.close();
  return openIt(limitBytes, lowWatermark);
}

function files(spec: Record<string, string | Buffer>): StreamedFile[] {
  return Object.entries(spec).map(([p, content]) => {
    const buf = typeof content === 'string' ? bytes(content) : content;
    return { path: p, expected: expectedOf(buf), stream: chunks(buf, 5) };
  });
}

function meta(repo: string, commit: string, subfolder: string | null = null) {
  return { repo, subfolder, commit, origin: 'test', fetchMs: 42 };
}

function ref(c: OpenedCache, repo: string, commit: string, subfolder: string | null = null) {
  const r = `${repo}@main${subfolder ? `:${subfolder}` : ''}`;
  c.putRef({ ref: r, repo, revision: 'main', subfolder, commit, origin: 'test', resolvedAt: now });
  return r;
}

function count(c: OpenedCache, table: string): number {
  return (c.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
}

async function failure(p: Promise<unknown>): Promise<CacheError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CacheError);
  return err as CacheError;
}

describe('openCache', () => {
  it('applies every migration and sets WAL', () => {
    const c = openIt();
    expect(c.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(c.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(c.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(c.db.pragma('cache_size', { simple: true })).toBe(-2000);
  });

  it('admits a model from streams: snapshot tree of read-only links, index rows, lookup hit', async () => {
    const c = openIt();
    const model = await admitFromStreams(c, meta('org/tiny', 'c1', 'sub/folder'), files({ 'config.json': '{"a":1}', 'weights/model.bin': 'WEIGHTS' }));
    expect(model.key).toBe('org/tiny:sub/folder@c1');
    expect(model.path).toBe(path.join(c.layout.snapshots, 'org--tiny--sub--folder', 'c1'));
    expect(fs.readFileSync(path.join(model.path, 'weights', 'model.bin'), 'utf8')).toBe('WEIGHTS');
    expect(model.size).toBe(7 + 7);
    expect(model.fileCount).toBe(2);
    const st = fs.statSync(path.join(model.path, 'config.json'));
    expect(st.mode & 0o777).toBe(0o444);
    expect(st.ino).toBe(fs.statSync(c.blobPathOf(sha256(bytes('{"a":1}')))).ino);

    expect(c.lookup('org/tiny@main:sub/folder')).toEqual({ hit: false, reason: 'unresolved', ref: null });
    const r = ref(c, 'org/tiny', 'c1', 'sub/folder');
    const look = c.lookup(r);
    expect(look.hit && look.model.id).toBe(model.id);

    const fl = c.files(model.id);
    expect(fl.map((f) => f.path)).toEqual(['config.json', 'weights/model.bin']);
    expect(fl[0]!.ino).toBe(st.ino);
    expect(fl[0]!.gitSha1).toBe(gitSha1(bytes('{"a":1}')));
    expect(c.totals()).toMatchObject({ usedBytes: 14, models: 1, blobs: 2, pinned: 0, damaged: 0 });
    assertConsistent(cacheDir, { hashFiles: true });
  });

  it('rejects wrong bytes or a wrong size: no blob, no snapshot, no temp file, no index row', async () => {
    const c = openIt();
    const good = bytes('good bytes');
    const cases: StreamedFile[][] = [
      [{ path: 'a.bin', expected: expectedOf(good), stream: chunks(bytes('evil bytes')) }],
      [{ path: 'a.bin', expected: { ...expectedOf(good), size: good.length + 1 }, stream: chunks(good) }],
      [{ path: 'a.bin', expected: expectedOf(good), stream: chunks(good.subarray(0, 4)) }],
      // one good file first, then a bad one: the good blob may stay (unreferenced) but no model appears
      [
        { path: 'ok.txt', expected: expectedOf(bytes('fine')), stream: chunks(bytes('fine')) },
        { path: 'a.bin', expected: expectedOf(good), stream: chunks(bytes('evil bytes')) },
      ],
    ];
    for (const fl of cases) {
      const err = await failure(admitFromStreams(c, meta('org/bad', 'c1'), fl));
      expect(err.code).toBe('E_INTEGRITY');
      expect(err.retryable).toBe(true);
      expect(err.message).toContain('file a.bin');
      expect(fs.existsSync(c.blobPathOf(sha256(good)))).toBe(false);
      expect(listFiles(c.layout.snapshots)).toEqual([]);
      expect(fs.readdirSync(c.layout.tmp)).toEqual([]);
      expect(count(c, 'models') + count(c, 'files') + count(c, 'admissions')).toBe(0);
      expect(c.db.prepare('SELECT COUNT(*) AS n FROM blobs WHERE digest = ?').get(sha256(good))).toEqual({ n: 0 });
    }
    expect(c.list()).toEqual([]);
    // the stray good blob of the last case is garbage: collected, then the cache is consistent
    expect(c.collectGarbage().blobs).toBe(0); // still held for a while (an admission might follow)
    now += 2 * 3600_000;
    expect(c.collectGarbage()).toEqual({ blobs: 1, bytes: 4 });
    assertConsistent(cacheDir);
  });

  it('modelAt finds the model owning a path in its snapshot tree, from memory, and forgets evicted ones', async () => {
    const c = openIt();
    const a = await admitFromStreams(c, meta('org/a', 'c1', 'sub'), files({ 'dir/w.bin': 'A' }));
    const b = await admitFromStreams(c, meta('org/a', 'c2', 'sub'), files({ 'w.bin': 'B' }));
    expect(c.modelAt(path.join(a.path, 'dir', 'w.bin'))?.id).toBe(a.id);
    expect(c.modelAt(a.path)?.id).toBe(a.id);
    expect(c.modelAt(path.join(b.path, 'w.bin'))?.key).toBe('org/a:sub@c2');
    expect(c.modelAt(path.dirname(a.path))).toBeNull();
    expect(c.modelAt(path.join(dir, 'elsewhere', 'w.bin'))).toBeNull();
    c.evict(a.id, 'lru');
    expect(c.modelAt(path.join(a.path, 'dir', 'w.bin'))).toBeNull();
    expect(reopen(c).modelAt(path.join(b.path, 'w.bin'))?.id).toBe(b.id);
  });

  it('stores a file shared by two models once; evicting one keeps the other intact', async () => {
    const c = openIt();
    const shared = bytes('shared tokenizer');
    const a = await admitFromStreams(c, meta('org/a', 'c1'), files({ 'tok.json': shared, 'a.bin': 'AAAA' }));
    const b = await admitFromStreams(c, meta('org/b', 'c1'), files({ 'tokenizer/tok.json': shared, 'b.bin': 'BBBBBB' }));
    const blob = c.blobPathOf(sha256(shared));
    const ino = fs.statSync(blob).ino;
    expect(fs.statSync(path.join(a.path, 'tok.json')).ino).toBe(ino);
    expect(fs.statSync(path.join(b.path, 'tokenizer', 'tok.json')).ino).toBe(ino);
    expect(fs.statSync(blob).nlink).toBe(3);
    expect(c.totals()).toMatchObject({ blobs: 3, usedBytes: shared.length + 4 + 6 });
    expect(c.listBlobs().find((x) => x.sha256 === sha256(shared))?.refcount).toBe(2);

    const freed = c.evict(a.id, 'evict');
    expect(freed).toBe(4); // only a.bin's blob was unique to a
    expect(fs.existsSync(a.path)).toBe(false);
    expect(fs.readFileSync(path.join(b.path, 'tokenizer', 'tok.json')).equals(shared)).toBe(true);
    expect(fs.existsSync(blob)).toBe(true);
    expect(fs.existsSync(c.blobPathOf(sha256(bytes('AAAA'))))).toBe(false);
    expect(c.totals()).toMatchObject({ models: 1, blobs: 2, usedBytes: shared.length + 6 });
    expect(c.listEvictions()).toEqual([{ ts: now, model: 'org/a@c1', bytes: 4, reason: 'evict' }]);
    await c.settled(); // evicted files are deleted off the event loop
    assertConsistent(cacheDir, { hashFiles: true });
  });

  it('makeRoom evicts least recently used first, skipping pinned and leased models', async () => {
    const c = openIt(100, 1);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      now += 1000;
      const m = await admitFromStreams(c, meta(`org/m${i}`, 'c1'), files({ 'w.bin': String(i).repeat(20) }));
      ids.push(m.id);
    }
    expect(c.totals().usedBytes).toBe(100);
    now += 1000;
    c.touch(ids[0]!); // m0 is now the most recent
    c.setPinned(ids[1]!, true);
    const leased = new Set([ids[2]!]);
    const res = c.makeRoom(30, (id) => leased.has(id));
    // needs 30 bytes: m3 (oldest unpinned, unleased), then m4
    expect(res.evicted.map((e) => e.key)).toEqual(['org/m3@c1', 'org/m4@c1']);
    expect(res.freedBytes).toBe(40);
    expect(c.list().map((m) => m.key).sort()).toEqual(['org/m0@c1', 'org/m1@c1', 'org/m2@c1']);
    expect(c.listEvictions().map((e) => e.reason)).toEqual(['lru', 'lru']);
    await c.settled(); // evicted files are deleted off the event loop
    assertConsistent(cacheDir);
  });

  it('makeRoom evicts down to the low watermark', async () => {
    const c = openIt(100, 0.5);
    for (let i = 0; i < 5; i++) {
      now += 1000;
      await admitFromStreams(c, meta(`org/m${i}`, 'c1'), files({ 'w.bin': String(i).repeat(20) }));
    }
    const res = c.makeRoom(10, () => false);
    // 100 used + 10 incoming = 110 → down to 50: evict m0 (90), m1 (70), m2 (50)
    expect(res.evicted.map((e) => e.key)).toEqual(['org/m0@c1', 'org/m1@c1', 'org/m2@c1']);
    expect(c.totals().usedBytes).toBe(40);
  });

  it('makeRoom refuses a model larger than the limit, and cannot evict pinned ones: nothing evicted', async () => {
    const c = openIt(100, 1);
    const a = await admitFromStreams(c, meta('org/a', 'c1'), files({ 'w.bin': 'x'.repeat(50) }));
    const b = await admitFromStreams(c, meta('org/b', 'c1'), files({ 'w.bin': 'y'.repeat(50) }));
    const tooLarge = (() => {
      try {
        c.makeRoom(101, () => false);
      } catch (e) {
        return e as CacheError;
      }
      return null;
    })();
    expect(tooLarge?.code).toBe('E_TOO_LARGE');
    expect(tooLarge?.message).toMatch(/101 bytes .* limit of 100 bytes/);
    c.setPinned(a.id, true);
    c.setPinned(b.id, true);
    expect(() => c.makeRoom(10, () => false)).toThrow(expect.objectContaining({ code: 'E_NO_SPACE' }));
    expect(c.list().length).toBe(2);
    expect(count(c, 'evictions')).toBe(0);
  });

  it('reserve prevents overshoot when two admissions race for the same space', async () => {
    const c = openIt(100, 1);
    const old = await admitFromStreams(c, meta('org/old', 'c1'), files({ 'w.bin': 'o'.repeat(60) }));
    // Download 1 (30 bytes) fits: 60 + 30 <= 100, nothing evicted, space reserved.
    expect(c.makeRoom(30, () => false).evicted).toEqual([]);
    const r1 = c.reserve(30);
    // Download 2 (30 bytes) must count download 1's reservation: 60 + 30 + 30 > 100 → evict old.
    const second = c.makeRoom(30, () => false);
    expect(second.evicted.map((e) => e.id)).toEqual([old.id]);
    const r2 = c.reserve(30);
    expect(c.totals()).toMatchObject({ usedBytes: 0, reservedBytes: 60 });
    const m1 = await admitFromStreams(c, meta('org/one', 'c1'), files({ 'w.bin': '1'.repeat(30) }));
    r1.release();
    const m2 = await admitFromStreams(c, meta('org/two', 'c1'), files({ 'w.bin': '2'.repeat(30) }));
    r2.release();
    r2.release(); // idempotent
    expect(c.totals()).toMatchObject({ usedBytes: 60, reservedBytes: 0 });
    expect(c.totals().usedBytes).toBeLessThanOrEqual(100);
    expect([m1.key, m2.key]).toEqual(['org/one@c1', 'org/two@c1']);
  });

  it('persists models, refs, pins and batched touches across reopen', async () => {
    let c = openIt();
    const m = await admitFromStreams(c, meta('org/p', 'c9'), files({ 'w.bin': 'persist' }));
    const r = ref(c, 'org/p', 'c9');
    c.setPinned(m.id, true);
    now += 5000;
    c.touch(m.id);
    c.touch(m.id);
    // not yet written: touches are batched
    expect(c.db.prepare('SELECT hits FROM models WHERE id = ?').get(m.id)).toEqual({ hits: 0 });
    c.flush();
    expect(c.db.prepare('SELECT hits, last_access FROM models WHERE id = ?').get(m.id)).toEqual({ hits: 2, last_access: now });
    c.touch(m.id);
    c = reopen(c); // close flushes
    const again = c.getModel('org/p@c9');
    expect(again).toMatchObject({ id: m.id, hits: 3, lastAccess: now, pinned: true, state: 'ready', fetchMs: 42 });
    expect(c.getRef(r)?.commit).toBe('c9');
    expect(c.lookup(r).hit).toBe(true);
    expect(c.totals()).toMatchObject({ models: 1, pinned: 1, usedBytes: 7, blobs: 1 });
  });

  it('a damaged model is a miss; re-admitting it replaces its rows and fixes refcounts', async () => {
    const c = openIt();
    const m = await admitFromStreams(c, meta('org/d', 'c1'), files({ 'a.bin': 'old-a', 'b.bin': 'bbb' }));
    const r = ref(c, 'org/d', 'c1');
    c.markDamaged(m.id);
    expect(c.lookup(r)).toMatchObject({ hit: false, reason: 'damaged' });
    fs.rmSync(path.join(m.path, 'a.bin'), { force: true });
    const again = await admitFromStreams(c, meta('org/d', 'c1'), files({ 'a.bin': 'new-a', 'c.bin': 'bbb' }));
    expect(again.id).toBe(m.id);
    expect(again.state).toBe('ready');
    expect(c.lookup(r).hit).toBe(true);
    expect(listFiles(again.path)).toEqual(['a.bin', 'c.bin']);
    // old-a is no longer referenced by anyone: gone; bbb is shared by the old and new rows: kept once
    expect(fs.existsSync(c.blobPathOf(sha256(bytes('old-a'))))).toBe(false);
    expect(c.listBlobs().map((b) => [b.sha256, b.refcount]).sort()).toEqual(
      [[sha256(bytes('bbb')), 1], [sha256(bytes('new-a')), 1]].sort(),
    );
    assertConsistent(cacheDir, { hashFiles: true });
  });

  it('findBlob answers by sha256 or by git sha1, only with the right size', async () => {
    const c = openIt();
    const buf = bytes('findable');
    await admitFromStreams(c, meta('org/f', 'c1'), files({ 'x.txt': buf }));
    const want = { sha256: sha256(buf), size: buf.length, gitSha1: gitSha1(buf) };
    expect(c.findBlob({ size: buf.length, sha256: want.sha256 })).toEqual(want);
    expect(c.findBlob({ size: buf.length, gitSha1: want.gitSha1 })).toEqual(want);
    expect(c.findBlob({ size: buf.length + 1, sha256: want.sha256 })).toBeNull();
    expect(c.findBlob({ size: buf.length, sha256: sha256(bytes('other')) })).toBeNull();
    expect(c.findBlob({ size: buf.length, sha256: want.sha256, gitSha1: gitSha1(bytes('other')) })).toBeNull();
  });

  it('a blob found for an admission in flight survives the eviction of its last owner', async () => {
    const c = openIt(100, 1);
    const buf = bytes('z'.repeat(40));
    const a = await admitFromStreams(c, meta('org/a', 'c1'), files({ 'w.bin': buf }));
    const found = c.findBlob(expectedOf(buf));
    expect(found?.sha256).toBe(sha256(buf));
    c.evict(a.id, 'lru');
    expect(fs.existsSync(c.blobPathOf(sha256(buf)))).toBe(true);
    const b = c.admit({ ...meta('org/b', 'c1'), files: [{ path: 'w.bin', blob: found!.sha256, size: found!.size }] });
    expect(fs.readFileSync(path.join(b.path, 'w.bin')).equals(buf)).toBe(true);
    await c.settled(); // evicted files are deleted off the event loop
    assertConsistent(cacheDir);
  });

  it('two admissions in flight share a blob: the first finishing does not expose it to the second one\'s evictions', async () => {
    const c = openIt(1000, 1);
    const buf = bytes('s'.repeat(40));
    const blob = sha256(buf);
    const a = await admitFromStreams(c, meta('org/a', 'c1'), files({ 'w.bin': buf }));
    const first = c.blobScope();
    const second = c.blobScope();
    expect(first.findBlob(expectedOf(buf))?.sha256).toBe(blob);
    expect(second.findBlob(expectedOf(buf))?.sha256).toBe(blob);
    const b = c.admit({ ...meta('org/b', 'c1'), files: [{ path: 'w.bin', blob, size: buf.length }] });
    first.release();
    // Both owners go before the second admission links the blob.
    c.evict(a.id, 'lru');
    c.evict(b.id, 'lru');
    expect(fs.existsSync(c.blobPathOf(blob))).toBe(true);
    const d = c.admit({ ...meta('org/d', 'c1'), files: [{ path: 'w.bin', blob, size: buf.length }] });
    second.release();
    expect(fs.readFileSync(path.join(d.path, 'w.bin')).equals(buf)).toBe(true);
    // Once no scope holds it, the last owner's eviction frees it.
    c.evict(d.id, 'lru');
    expect(fs.existsSync(c.blobPathOf(blob))).toBe(false);
    expect(c.totals().usedBytes).toBe(0);
    await c.settled(); // evicted files are deleted off the event loop
    assertConsistent(cacheDir);
  });

  it('a released scope lets an unreferenced blob it found be collected', async () => {
    const c = openIt(1000, 1);
    const buf = bytes('r'.repeat(40));
    const a = await admitFromStreams(c, meta('org/a', 'c1'), files({ 'w.bin': buf }));
    const scope = c.blobScope();
    expect(scope.findBlob(expectedOf(buf))).not.toBeNull();
    c.admit({ ...meta('org/b', 'c1'), files: [{ path: 'w.bin', blob: sha256(buf), size: buf.length }] });
    c.evict(c.getModel('org/b@c1')!.id, 'lru');
    c.evict(a.id, 'lru');
    expect(fs.existsSync(c.blobPathOf(sha256(buf)))).toBe(true);
    scope.release();
    scope.release();
    expect(fs.existsSync(c.blobPathOf(sha256(buf)))).toBe(false);
    expect(c.totals()).toMatchObject({ usedBytes: 0, blobs: 0 });
  });

  it('admit fails clearly when a blob vanished, leaving nothing behind', async () => {
    const c = openIt();
    const buf = bytes('vanishing');
    const w = await c.openWriter(expectedOf(buf));
    await w.write(buf);
    const blob = await w.commit();
    fs.rmSync(c.blobPathOf(blob.sha256));
    const err = (() => {
      try {
        c.admit({ ...meta('org/v', 'c1'), files: [{ path: 'v.bin', blob: blob.sha256, size: blob.size }] });
      } catch (e) {
        return e as CacheError;
      }
      return null;
    })();
    expect(err?.code).toBe('E_INTEGRITY');
    expect(err?.retryable).toBe(true);
    expect(err?.message).toMatch(/v\.bin.*vanished/);
    expect(listFiles(c.layout.snapshots)).toEqual([]);
    expect(fs.readdirSync(c.layout.tmp)).toEqual([]);
    expect(count(c, 'models') + count(c, 'admissions') + count(c, 'blobs')).toBe(0);
    expect(c.totals().usedBytes).toBe(0);
  });

  it('refuses unsafe or duplicate file paths', async () => {
    const c = openIt();
    const w = await c.openWriter(expectedOf(bytes('p')));
    await w.write(bytes('p'));
    const b = await w.commit();
    for (const p of ['../escape', '/abs', 'a//b', 'a/./b', 'nul\0']) {
      expect(() => c.admit({ ...meta('org/u', 'c1'), files: [{ path: p, blob: b.sha256, size: 1 }] })).toThrow(
        expect.objectContaining({ code: 'E_UNSAFE_PATH' }),
      );
    }
    expect(() =>
      c.admit({ ...meta('org/u', 'c1'), files: [{ path: 'x', blob: b.sha256, size: 1 }, { path: 'x', blob: b.sha256, size: 1 }] }),
    ).toThrow(expect.objectContaining({ code: 'E_UNSAFE_PATH' }));
    expect(count(c, 'admissions')).toBe(0);
  });

  it('recovers from the index at start: leftover admissions, unreferenced blobs, tmp/', async () => {
    let c = openIt();
    const keep = await admitFromStreams(c, meta('org/keep', 'c1'), files({ 'k.bin': 'keep me' }));
    const w = await c.openWriter(expectedOf(bytes('orphan')));
    await w.write(bytes('orphan'));
    const orphan = await w.commit();
    c.close();
    // Simulate a crash mid-admission: an admissions row, a half-built snapshot dir, junk in tmp/.
    const db = new Database(c.layout.db);
    db.prepare('INSERT INTO admissions (key, dir, started_at) VALUES (?, ?, ?)').run('org/crash@c1', 'org--crash/c1', now);
    db.close();
    fs.mkdirSync(path.join(c.layout.snapshots, 'org--crash', 'c1'), { recursive: true });
    fs.writeFileSync(path.join(c.layout.snapshots, 'org--crash', 'c1', 'half'), 'x');
    fs.mkdirSync(path.join(c.layout.tmp, 'snap-123', 'deep'), { recursive: true });
    fs.writeFileSync(path.join(c.layout.tmp, 'blob-456'), 'partial');

    c = openIt();
    expect(c.recovery).toMatchObject({ admissions: 1, snapshotDirsRemoved: 1, blobsRemoved: 1, tmpEntriesRemoved: 2 });
    expect(fs.existsSync(path.join(c.layout.snapshots, 'org--crash'))).toBe(false);
    expect(fs.existsSync(c.blobPathOf(orphan.sha256))).toBe(false);
    expect(c.getModel(keep.id)?.state).toBe('ready');
    assertConsistent(cacheDir, { hashFiles: true });
  });

  it('sweepTmp spares the temp file of a writer in progress', async () => {
    const c = openIt();
    const buf = bytes('in progress');
    const w = await c.openWriter(expectedOf(buf));
    await w.write(buf.subarray(0, 3));
    fs.writeFileSync(path.join(c.layout.tmp, 'stale'), 'old junk');
    expect(c.sweepTmp()).toEqual({ entries: 1, bytes: 8 });
    await w.write(buf.subarray(3));
    const ref = await w.commit();
    expect(fs.readFileSync(c.blobPathOf(ref.sha256)).equals(buf)).toBe(true);
  });

  it('records and reads verify runs', () => {
    const c = openIt();
    expect(c.lastVerify()).toBeNull();
    const rec = { ts: now, mode: 'quick' as const, models: 2, files: 5, bytesHashed: 0, corrupted: 1, missing: 0, orphans: 2, repaired: 0, durationMs: 1.5, ok: false };
    c.recordVerify(rec);
    expect(c.lastVerify()).toEqual(rec);
  });

  it('quarantineBlob moves the blob away and marks its models damaged', async () => {
    const c = openIt();
    const m = await admitFromStreams(c, meta('org/q', 'c1'), files({ 'q.bin': 'quarantine me' }));
    const digest = sha256(bytes('quarantine me'));
    const dest = c.quarantineBlob(digest);
    expect(dest && fs.readFileSync(dest, 'utf8')).toBe('quarantine me');
    expect(fs.existsSync(c.blobPathOf(digest))).toBe(false);
    expect(c.getModel(m.id)?.state).toBe('damaged');
    expect(c.quarantineBlob(digest)).toBeNull();
  });

  it('loads 10,000 models at open', () => {
    let c = openIt();
    const insert = c.db.prepare(
      `INSERT INTO models (key, repo, subfolder, commit_sha, dir, origin, size, file_count, created_at, last_access, state)
       VALUES (?, ?, NULL, 'c', ?, 'test', 1, 0, 0, ?, 'ready')`,
    );
    c.db.transaction(() => {
      for (let i = 0; i < 10_000; i++) insert.run(`org/m${i}@c`, `org/m${i}`, `org--m${i}/c`, i);
    })();
    c = reopen(c);
    expect(c.totals().models).toBe(10_000);
    expect(c.getModel('org/m9999@c')?.lastAccess).toBe(9999);
  });
});
