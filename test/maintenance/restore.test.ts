import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isCacheError } from '../../src/errors.js';
import { importHfCache } from '../../src/maintenance/importHfCache.js';
import { restore } from '../../src/maintenance/restore.js';
import { blobPath } from '../../src/store/layout.js';
import { addModel, gitSha1, makeSandbox, sha256, whisperFiles, type Sandbox } from './fixtures.js';

const REPO = 'argmaxinc/whisperkit-coreml';
const SUB = 'openai_whisper-tiny';
const REF = `${REPO}@main:${SUB}`;

let sb: Sandbox;
let other: Sandbox | null = null;
afterEach(() => {
  sb?.close();
  other?.close();
  other = null;
});

/**
 * What an offline huggingface_hub client does: refs/<revision> → commit → snapshots/<commit>/<path>,
 * reading through the symlink; the link must be relative and stay inside the repo folder.
 */
function hfResolve(hubCache: string, repo: string, revision: string, file: string): Buffer {
  const repoDir = path.join(hubCache, `models--${repo.replace('/', '--')}`);
  const commit = fs.readFileSync(path.join(repoDir, 'refs', revision), 'utf8');
  expect(commit).toMatch(/^[0-9a-f]{40}$/);
  const link = path.join(repoDir, 'snapshots', commit, ...file.split('/'));
  const target = fs.readlinkSync(link);
  expect(path.isAbsolute(target)).toBe(false);
  const resolved = path.resolve(path.dirname(link), target);
  expect(resolved.startsWith(path.join(repoDir, 'blobs') + path.sep)).toBe(true);
  return fs.readFileSync(resolved);
}

async function tinyModel() {
  const files = whisperFiles('tiny');
  const model = await addModel(sb.cache, { repo: REPO, subfolder: SUB, files });
  return { files, model };
}

describe('restore', () => {
  it('plain: every file at the destination, sharing the blob (hard link or clone), no full copy', async () => {
    sb = makeSandbox();
    const { files, model } = await tinyModel();
    const to = path.join(sb.root, 'plain');
    const r = await restore(sb.deps(), { model, to, layout: 'plain', ref: REF });
    expect(r).toEqual(expect.objectContaining({ path: to, files: 5, bytes: model.size, layout: 'plain' }));
    expect(['clone', 'hardlink']).toContain(r.method);
    for (const [p, b] of Object.entries(files)) {
      const dst = path.join(to, ...p.split('/'));
      expect(fs.readFileSync(dst).equals(b)).toBe(true);
      if (r.method === 'hardlink') expect(fs.statSync(dst).ino).toBe(fs.statSync(blobPath(sb.cache.layout, sha256(b))).ino);
    }
  });

  it('is idempotent into the same folder, and refuses to overwrite a different file (naming it)', async () => {
    sb = makeSandbox();
    const { model } = await tinyModel();
    const to = path.join(sb.root, 'again');
    await restore(sb.deps(), { model, to, layout: 'plain', ref: REF });
    const again = await restore(sb.deps(), { model, to, layout: 'plain', ref: REF });
    expect(again.files).toBe(5);

    const victim = path.join(to, 'config.json');
    fs.unlinkSync(victim);
    fs.writeFileSync(victim, '{"mine": true}');
    const err = await restore(sb.deps(), { model, to, layout: 'plain', ref: REF }).catch((e: unknown) => e);
    expect(isCacheError(err) && err.code).toBe('E_BAD_REQUEST');
    expect((err as Error).message).toContain(victim);
    expect(fs.readFileSync(victim, 'utf8')).toBe('{"mine": true}');

    // Same bytes in a separate file (not a link): accepted.
    fs.unlinkSync(victim);
    fs.writeFileSync(victim, whisperFiles('tiny')['config.json']!);
    await expect(restore(sb.deps(), { model, to, layout: 'plain', ref: REF })).resolves.toEqual(expect.objectContaining({ files: 5 }));
  });

  it('hf layout: refs/main → snapshots/<commit>/<subfolder>/<file> through relative links into blobs named by etag', async () => {
    sb = makeSandbox();
    const { files, model } = await tinyModel();
    const hub = path.join(sb.root, 'hub');
    const r = await restore(sb.deps(), { model, to: hub, layout: 'hf', ref: REF });
    const repoDir = path.join(hub, 'models--argmaxinc--whisperkit-coreml');
    expect(r.path).toBe(path.join(repoDir, 'snapshots', model.commit, SUB));
    expect(fs.readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8')).toBe(model.commit);
    for (const [p, b] of Object.entries(files)) {
      expect(hfResolve(hub, REPO, 'main', `${SUB}/${p}`).equals(b)).toBe(true);
    }
    const blobs = fs.readdirSync(path.join(repoDir, 'blobs')).sort();
    const etag = (p: string) => (p.endsWith('.bin') ? sha256(files[p]!) : gitSha1(files[p]!));
    expect(blobs).toEqual(Object.keys(files).map(etag).sort());
    // Re-running is a no-op.
    await restore(sb.deps(), { model, to: hub, layout: 'hf', ref: REF });
  });

  it('an hf-layout restore imports back into another cache unchanged', async () => {
    sb = makeSandbox();
    const { files, model } = await tinyModel();
    const hub = path.join(sb.root, 'hub');
    await restore(sb.deps(), { model, to: hub, layout: 'hf', ref: REF });
    other = makeSandbox();
    const r = await importHfCache(other.deps(), { from: hub });
    expect(r.refused).toEqual([]);
    expect(r.imported).toEqual([{ model: model.key, files: 5, bytes: model.size }]);
    const look = other.cache.lookup(REF);
    expect(look.hit).toBe(true);
    if (look.hit) {
      for (const [p, b] of Object.entries(files)) expect(fs.readFileSync(path.join(look.model.path, ...p.split('/'))).equals(b)).toBe(true);
    }
  });

  it('whisperkit layout: models/<org>/<name>/<variant>/...', async () => {
    sb = makeSandbox();
    const { files, model } = await tinyModel();
    const base = path.join(sb.root, 'Documents', 'huggingface');
    const r = await restore(sb.deps(), { model, to: base, layout: 'whisperkit', ref: REF });
    const dir = path.join(base, 'models', 'argmaxinc', 'whisperkit-coreml', SUB);
    expect(r.path).toBe(dir);
    expect(fs.readFileSync(path.join(dir, 'AudioEncoder.mlmodelc', 'weights', 'weight.bin')).equals(files['AudioEncoder.mlmodelc/weights/weight.bin']!)).toBe(true);
  });

  it('refuses a destination inside the cache dir', async () => {
    sb = makeSandbox();
    const { model } = await tinyModel();
    const err = await restore(sb.deps(), { model, to: path.join(sb.cache.layout.cacheDir, 'v1', 'x'), layout: 'plain', ref: REF }).catch((e: unknown) => e);
    expect(isCacheError(err) && err.code).toBe('E_BAD_REQUEST');
  });

  it('never writes through a symlink planted in the destination', async () => {
    sb = makeSandbox();
    const { model } = await tinyModel();
    const outside = path.join(sb.root, 'outside');
    fs.mkdirSync(outside);
    const to = path.join(sb.root, 'dest');
    fs.mkdirSync(to);
    fs.symlinkSync(outside, path.join(to, 'AudioEncoder.mlmodelc'));
    const err = await restore(sb.deps(), { model, to, layout: 'plain', ref: REF }).catch((e: unknown) => e);
    expect(isCacheError(err) && err.code).toBe('E_BAD_REQUEST');
    expect((err as Error).message).toContain('symlink');
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(fs.existsSync(path.join(to, 'config.json'))).toBe(false);
  });
});
