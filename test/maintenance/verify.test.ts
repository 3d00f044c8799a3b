import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { VerifyResult as WireVerifyResult } from '../../src/ipc/protocol.js';
import { verify } from '../../src/maintenance/verify.js';
import { blobPath } from '../../src/store/layout.js';
import {
  addModel,
  age,
  bytes,
  COMMIT_B,
  flipByte,
  makeSandbox,
  plantOrphanBlob,
  plantTempFile,
  refetchFrom,
  sabotage,
  sha256,
  whisperFiles,
  type Sandbox,
} from './fixtures.js';

const REPO = 'argmaxinc/whisperkit-coreml';
const SUB = 'openai_whisper-tiny';
const WEIGHT = 'AudioEncoder.mlmodelc/weights/weight.bin';

let sb: Sandbox;
afterEach(() => sb?.close());

async function twoModels() {
  const files = whisperFiles('tiny');
  const tiny = await addModel(sb.cache, { repo: REPO, subfolder: SUB, files });
  const mlx = await addModel(sb.cache, { repo: 'mlx-community/whisper-tiny', files: { 'weights.npz': bytes(50_000, 'mlx'), 'config.json': Buffer.from('{}') } });
  return { tiny, mlx, files };
}

function entry(r: WireVerifyResult, key: string) {
  const e = r.models.find((m) => m.model === key);
  if (!e) throw new Error(`no verify entry for ${key}`);
  return e;
}

describe('verify', () => {
  it('passes on an intact cache, hashes every byte once with progress, and records the run', async () => {
    sb = makeSandbox();
    const { tiny, mlx } = await twoModels();
    const progress: Array<{ doneBytes: number; totalBytes: number }> = [];
    const r: WireVerifyResult = await verify(sb.deps(), { quick: false, repair: false, onProgress: (d) => progress.push(d) });
    expect(r.ok).toBe(true);
    expect(r.problems).toBe(0);
    expect(r.mode).toBe('full');
    expect(r.models.map((m) => m.status)).toEqual(['ok', 'ok']);
    expect(r.filesChecked).toBe(tiny.fileCount + mlx.fileCount);
    expect(r.bytesHashed).toBe(tiny.size + mlx.size);
    expect(progress.at(-1)).toEqual(expect.objectContaining({ doneBytes: tiny.size + mlx.size, totalBytes: tiny.size + mlx.size }));
    const last = sb.cache.lastVerify();
    expect(last).toEqual(expect.objectContaining({ mode: 'full', ok: true, models: 2, corrupted: 0, bytesHashed: tiny.size + mlx.size }));
  });

  it('a flipped byte in one blob: not ok, names the model and the file (even with the mtime restored)', async () => {
    sb = makeSandbox();
    const { tiny, mlx, files } = await twoModels();
    flipByte(blobPath(sb.cache.layout, sha256(files[WEIGHT]!)), 1000, true);
    const r = await verify(sb.deps(), { quick: false, repair: false });
    expect(r.ok).toBe(false);
    expect(r.problems).toBeGreaterThan(0);
    expect(entry(r, tiny.key)).toEqual({ model: tiny.key, status: 'corrupted', corrupted: [WEIGHT], missing: [] });
    expect(entry(r, mlx.key).status).toBe('ok');
    expect(sb.cache.lastVerify()).toEqual(expect.objectContaining({ ok: false, corrupted: 1 }));
  });

  it('--quick catches a size change without hashing', async () => {
    sb = makeSandbox();
    const { tiny } = await twoModels();
    const file = path.join(tiny.path, 'AudioEncoder.mlmodelc', 'model.mil');
    sabotage(file, (fd) => fs.ftruncateSync(fd, 100));
    const r = await verify(sb.deps(), { quick: true, repair: false });
    expect(r.ok).toBe(false);
    expect(r.mode).toBe('quick');
    expect(r.bytesHashed).toBe(0);
    expect(entry(r, tiny.key).corrupted).toEqual(['AudioEncoder.mlmodelc/model.mil']);
  });

  it('a snapshot file deleted behind the cache is reported missing', async () => {
    sb = makeSandbox();
    const { tiny } = await twoModels();
    fs.chmodSync(path.join(tiny.path), 0o755);
    fs.unlinkSync(path.join(tiny.path, 'config.json'));
    for (const quick of [false, true]) {
      const r = await verify(sb.deps(), { quick, repair: false });
      expect(r.ok).toBe(false);
      expect(entry(r, tiny.key)).toEqual({ model: tiny.key, status: 'missing', corrupted: [], missing: ['config.json'] });
    }
  });

  it('only the named models are checked', async () => {
    sb = makeSandbox();
    const { tiny, mlx, files } = await twoModels();
    flipByte(blobPath(sb.cache.layout, sha256(files[WEIGHT]!)));
    const r = await verify(sb.deps(), { models: [mlx.id], quick: false, repair: false });
    expect(r.ok).toBe(true);
    expect(r.models.map((m) => m.model)).toEqual([mlx.key]);
    expect(r.bytesHashed).toBe(mlx.size);
    void tiny;
  });

  it('--repair quarantines the corrupt blob, re-fetches the model, and the next verify passes', async () => {
    sb = makeSandbox();
    const { tiny, files } = await twoModels();
    const digest = sha256(files[WEIGHT]!);
    flipByte(blobPath(sb.cache.layout, digest));
    const fetched: string[] = [];
    const states: Array<string | undefined> = [];
    const refetch = refetchFrom(sb.cache, (m) => (states.push(sb.cache.getModel(m.key)?.state), files), fetched);
    const deps = sb.deps({ refetch });
    const r = await verify(deps, { quick: false, repair: true });
    expect(fetched).toEqual([tiny.key]);
    expect(states).toEqual(['damaged']);
    expect(r, JSON.stringify(r)).toEqual(expect.objectContaining({ ok: true }));
    expect(r.problems).toBe(0);
    expect(r.repaired).toEqual([tiny.key]);
    expect(entry(r, tiny.key)).toEqual({ model: tiny.key, status: 'repaired', corrupted: [WEIGHT], missing: [] });
    const quarantined = fs.readdirSync(sb.cache.layout.quarantine);
    expect(quarantined.some((n) => n.startsWith(`${digest}.`))).toBe(true);
    expect(sb.cache.lastVerify()).toEqual(expect.objectContaining({ ok: true, corrupted: 1, repaired: 1 }));

    const again = await verify(deps, { quick: false, repair: false });
    expect(again.ok).toBe(true);
    expect(fs.readFileSync(path.join(tiny.path, ...WEIGHT.split('/'))).equals(files[WEIGHT]!)).toBe(true);
  });

  it('--repair re-fetches a model whose snapshot file was deleted', async () => {
    sb = makeSandbox();
    const { tiny, files } = await twoModels();
    fs.chmodSync(tiny.path, 0o755);
    fs.unlinkSync(path.join(tiny.path, 'config.json'));
    const refetch = refetchFrom(sb.cache, () => files);
    const r = await verify(sb.deps({ refetch }), { quick: true, repair: true });
    expect(r.ok).toBe(true);
    expect(r.repaired).toContain(tiny.key);
    expect(fs.existsSync(path.join(tiny.path, 'config.json'))).toBe(true);
  });

  it('--repair that cannot re-fetch stays not ok', async () => {
    sb = makeSandbox();
    const { files } = await twoModels();
    flipByte(blobPath(sb.cache.layout, sha256(files[WEIGHT]!)));
    const r = await verify(sb.deps(), { quick: false, repair: true });
    expect(r.ok).toBe(false);
    expect(r.problems).toBeGreaterThan(0);
    expect(r.repaired).toEqual([]);
  });

  it('reports an orphan blob, a stale temp file, a dead index row and an unowned snapshot dir', async () => {
    sb = makeSandbox();
    await twoModels();
    const { layout } = sb.cache;
    const orphan = bytes(4096, 'orphan');
    const orphanPath = plantOrphanBlob(layout, orphan);
    const stale = plantTempFile(layout, 'blob-stale', bytes(777, 'tmp'), sb.clock.now - 2 * 3600_000);
    const fresh = path.join(layout.tmp, 'blob-in-flight');
    fs.writeFileSync(fresh, 'x');
    age(fresh, sb.clock.now);
    const unowned = path.join(layout.snapshots, 'someone--else', COMMIT_B);
    fs.mkdirSync(unowned, { recursive: true });
    fs.writeFileSync(path.join(unowned, 'f'), 'abc');
    const dead = 'd'.repeat(64);
    sb.cache.db.prepare('INSERT INTO blobs (digest, size, refcount, created_at) VALUES (?, 5, 0, ?)').run(dead, sb.clock.now - 7 * 3600_000);

    const r = await verify(sb.deps(), { quick: true, repair: false });
    expect(r.ok).toBe(false);
    expect(r.orphans.blobs).toEqual([{ digest: sha256(orphan), bytes: 4096 }]);
    expect(r.orphans.temp).toEqual([{ path: stale, bytes: 777 }]);
    expect(r.orphans.rows).toBe(1);
    expect(r.orphans.snapshots).toEqual([{ path: path.join(layout.snapshots, 'someone--else'), bytes: 3 }]);
    expect(r.problems).toBe(4);
    expect(r.models.every((m) => m.status === 'ok')).toBe(true);

    const fixed = await verify(sb.deps(), { quick: true, repair: true });
    expect(fixed.ok).toBe(true);
    expect(fixed.repaired).toHaveLength(4);
    expect(fs.existsSync(orphanPath)).toBe(false);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(fresh)).toBe(true);
    expect(sb.cache.hasBlob(dead)).toBe(false);
  });

  it('relinks a blob file deleted while its snapshot file still holds the bytes', async () => {
    sb = makeSandbox();
    const { tiny, files } = await twoModels();
    const digest = sha256(files['config.json']!);
    fs.unlinkSync(blobPath(sb.cache.layout, digest));
    const r = await verify(sb.deps(), { quick: false, repair: false });
    expect(r.ok).toBe(false);
    expect(r.orphans.rows).toBe(1);
    expect(entry(r, tiny.key).status).toBe('ok');
    const fixed = await verify(sb.deps(), { quick: false, repair: true });
    expect(fixed.ok).toBe(true);
    expect(fs.readFileSync(blobPath(sb.cache.layout, digest)).equals(files['config.json']!)).toBe(true);
  });

  it('never follows a planted symlink: a snapshot file replaced by a link to identical bytes is corrupted', async () => {
    sb = makeSandbox();
    const { tiny, files } = await twoModels();
    const outside = path.join(sb.root, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'config.json'), files['config.json']!);
    fs.chmodSync(tiny.path, 0o755);
    fs.unlinkSync(path.join(tiny.path, 'config.json'));
    fs.symlinkSync(path.join(outside, 'config.json'), path.join(tiny.path, 'config.json'));
    // A link where a blob should be, pointing at a real file outside.
    const fake = blobPath(sb.cache.layout, 'f'.repeat(64));
    fs.mkdirSync(path.dirname(fake), { recursive: true });
    fs.symlinkSync(path.join(outside, 'config.json'), fake);

    for (const quick of [false, true]) {
      const r = await verify(sb.deps(), { quick, repair: false });
      expect(entry(r, tiny.key).corrupted).toEqual(['config.json']);
      expect(r.orphans.blobs).toEqual([{ digest: `sha256/ff/${'f'.repeat(64)}`, bytes: 0 }]);
    }
    const refetch = refetchFrom(sb.cache, () => files);
    const r = await verify(sb.deps({ refetch }), { quick: false, repair: true });
    expect(r.ok).toBe(true);
    expect(fs.lstatSync(fake, { throwIfNoEntry: false })).toBeUndefined();
    expect(fs.lstatSync(path.join(tiny.path, 'config.json')).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(outside, 'config.json')).equals(files['config.json']!)).toBe(true);
  });
});
