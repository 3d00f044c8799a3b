import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { importHfCache } from '../../src/maintenance/importHfCache.js';
import { verify } from '../../src/maintenance/verify.js';
import { bytes, COMMIT_A, COMMIT_B, gitSha1, makeSandbox, sha256, whisperFiles, type Contents, type Sandbox } from './fixtures.js';

let sb: Sandbox;
afterEach(() => sb?.close());

/** Writes a huggingface_hub cache repo the way huggingface_hub does: blobs by etag, relative snapshot links, refs. */
function writeHfRepo(hub: string, repo: string, commit: string, files: Contents, refs: string[] = ['main']): string {
  const repoDir = path.join(hub, `models--${repo.replace('/', '--')}`);
  for (const [p, b] of Object.entries(files)) {
    const etag = p.endsWith('.bin') || p.endsWith('.npz') ? sha256(b) : gitSha1(b);
    const blob = path.join(repoDir, 'blobs', etag);
    fs.mkdirSync(path.dirname(blob), { recursive: true });
    fs.writeFileSync(blob, b);
    const link = path.join(repoDir, 'snapshots', commit, ...p.split('/'));
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.relative(path.dirname(link), blob), link);
  }
  for (const r of refs) {
    fs.mkdirSync(path.dirname(path.join(repoDir, 'refs', r)), { recursive: true });
    fs.writeFileSync(path.join(repoDir, 'refs', r), commit);
  }
  return repoDir;
}

const MLX = { 'weights.npz': bytes(40_000, 'mlx-w'), 'config.json': Buffer.from('{"n_mels": 80}') };

describe('import --from-hf-cache', () => {
  it('admits a whole-repo snapshot and a variant-folder snapshot, with their refs, every file verified', async () => {
    sb = makeSandbox();
    const hub = path.join(sb.root, 'hub');
    writeHfRepo(hub, 'mlx-community/whisper-tiny', COMMIT_A, MLX);
    const tiny = whisperFiles('tiny');
    writeHfRepo(
      hub,
      'argmaxinc/whisperkit-coreml',
      COMMIT_B,
      Object.fromEntries(Object.entries(tiny).map(([p, b]) => [`openai_whisper-tiny/${p}`, b])),
    );
    fs.writeFileSync(path.join(hub, 'version.txt'), '1');

    const r = await importHfCache(sb.deps(), { from: hub });
    expect(r.refused).toEqual([]);
    expect(r.imported.map((m) => m.model).sort()).toEqual(
      [`argmaxinc/whisperkit-coreml:openai_whisper-tiny@${COMMIT_B}`, `mlx-community/whisper-tiny@${COMMIT_A}`].sort(),
    );
    const mlx = sb.cache.lookup('mlx-community/whisper-tiny@main');
    expect(mlx.hit && mlx.model.origin).toBe('hf-cache');
    const variant = sb.cache.lookup('argmaxinc/whisperkit-coreml@main:openai_whisper-tiny');
    expect(variant.hit).toBe(true);
    if (variant.hit) {
      const weight = path.join(variant.model.path, 'AudioEncoder.mlmodelc', 'weights', 'weight.bin');
      expect(fs.readFileSync(weight).equals(tiny['AudioEncoder.mlmodelc/weights/weight.bin']!)).toBe(true);
      // The store holds its own copy, not a link into the HF cache.
      expect(fs.lstatSync(weight).isFile()).toBe(true);
    }
    expect(sb.cache.getRef('mlx-community/whisper-tiny@main')).toEqual(expect.objectContaining({ commit: COMMIT_A, origin: 'hf-cache' }));
    expect((await verify(sb.deps(), { quick: false, repair: false })).ok).toBe(true);

    // Importing again changes nothing and admits nothing twice.
    const again = await importHfCache(sb.deps(), { from: hub });
    expect(again.imported).toHaveLength(2);
    expect(sb.cache.list()).toHaveLength(2);
  });

  it('a tampered file refuses its whole snapshot; other snapshots still import', async () => {
    sb = makeSandbox();
    const hub = path.join(sb.root, 'hub');
    const bad = writeHfRepo(hub, 'mlx-community/whisper-base', COMMIT_A, { 'weights.npz': bytes(30_000, 'base'), 'config.json': Buffer.from('{}') });
    writeHfRepo(hub, 'mlx-community/whisper-tiny', COMMIT_A, MLX);
    const blob = path.join(bad, 'blobs', sha256(bytes(30_000, 'base')));
    const b = fs.readFileSync(blob);
    b[5] = b[5]! ^ 1;
    fs.writeFileSync(blob, b);

    const r = await importHfCache(sb.deps(), { from: hub });
    expect(r.imported.map((m) => m.model)).toEqual([`mlx-community/whisper-tiny@${COMMIT_A}`]);
    expect(r.refused).toEqual([{ path: path.join(bad, 'snapshots', COMMIT_A), reason: expect.stringContaining('weights.npz') }]);
    expect(sb.cache.lookup('mlx-community/whisper-base@main').hit).toBe(false);
    expect(sb.cache.list()).toHaveLength(1);
    expect(fs.readdirSync(sb.cache.layout.tmp)).toEqual([]);
  });

  it('a link pointing outside the HF cache dir refuses the snapshot and is not read', async () => {
    sb = makeSandbox();
    const hub = path.join(sb.root, 'hub');
    const repoDir = writeHfRepo(hub, 'mlx-community/whisper-tiny', COMMIT_A, MLX);
    const secret = path.join(sb.root, 'secret');
    fs.mkdirSync(secret);
    const content = Buffer.from('top secret');
    fs.writeFileSync(path.join(secret, gitSha1(content)), content);
    fs.symlinkSync(path.join(secret, gitSha1(content)), path.join(repoDir, 'snapshots', COMMIT_A, 'stolen.txt'));

    const r = await importHfCache(sb.deps(), { from: hub });
    expect(r.imported).toEqual([]);
    expect(r.refused).toEqual([{ path: path.join(repoDir, 'snapshots', COMMIT_A), reason: expect.stringContaining('outside') }]);
    expect(sb.cache.list()).toEqual([]);
  });
});
