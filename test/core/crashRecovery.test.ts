import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openCache } from '../../src/cache/openCache.js';
import { assertConsistent, listFiles, rmTree, tempDir } from './helpers.js';

/**
 * Kills a real child process with SIGKILL at chosen points of an admission, then reopens the cache
 * and checks the index against the disk. The child runs the core compiled by tsc (only the core's own
 * entry files, so other areas' work in progress cannot break this test).
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const BUILD = path.join(ROOT, 'node_modules', '.cache', `vc-core-test-${crypto.randomUUID()}`);

const CHILD = `
import { openCache } from './cache/openCache.js';
import crypto from 'node:crypto';

const [cacheDir, stage, target] = process.argv.slice(2);
const block = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
const stop = (s) => { process.stdout.write(s + '\\n'); block(); };
let armed = false;
const cache = openCache({
  cacheDir, limitBytes: 1e9, lowWatermark: 0.9,
  onStage: (s, key) => { if (armed && s === stage && key.startsWith(target)) stop(s); },
});
const file = (p, text) => {
  const buf = Buffer.from(text);
  return { path: p, expected: { size: buf.length, sha256: crypto.createHash('sha256').update(buf).digest('hex') },
    stream: (async function* () { yield buf; })() };
};
const meta = (repo) => ({ repo, subfolder: null, commit: 'c1', origin: 'test', fetchMs: 1 });
// Writes each file through a blob writer (or finds it in the store), then admits the model.
const admitFromStreams = async (cache, m, files) => {
  const out = [];
  for (const f of files) {
    const found = cache.findBlob(f.expected);
    if (found) { out.push({ path: f.path, blob: found.sha256, size: found.size, gitSha1: found.gitSha1 || undefined }); continue; }
    const w = await cache.openWriter(f.expected, f.path);
    for await (const chunk of f.stream) await w.write(chunk);
    const ref = await w.commit();
    out.push({ path: f.path, blob: ref.sha256, size: ref.size, gitSha1: ref.gitSha1 || undefined });
  }
  return cache.admit({ ...m, files: out });
};
const big = 'v'.repeat(200000);

if (!cache.getModel('org/keep@c1')) {
  await admitFromStreams(cache, meta('org/keep'), [file('shared.json', 'shared'), file('keep.bin', 'keep')]);
}
process.stdout.write('kept\\n');
armed = true;
if (stage === 'evict-indexed') {
  cache.evict(cache.getModel('org/keep@c1').id, 'evict');
}
if (stage === 'writing') {
  const w = await cache.openWriter({ size: big.length, sha256: crypto.createHash('sha256').update(big).digest('hex') });
  await w.write(Buffer.from(big.slice(0, 1000)));
  stop('writing');
}
if (target === 'org/keep') {
  // re-admission over a ready snapshot, with different content
  await admitFromStreams(cache, meta('org/keep'), [file('shared.json', 'shared'), file('keep.bin', 'replaced')]);
} else {
  await admitFromStreams(cache, meta('org/victim'), [file('shared.json', 'shared'), file('dir/v.bin', big), file('x', 'x')]);
}
process.stdout.write('done\\n');
cache.close();
`;

beforeAll(() => {
  fs.mkdirSync(BUILD, { recursive: true });
  fs.writeFileSync(path.join(BUILD, 'package.json'), '{"type":"module"}');
  fs.writeFileSync(
    path.join(BUILD, 'tsconfig.json'),
    JSON.stringify({
      extends: path.join(ROOT, 'tsconfig.json'),
      compilerOptions: { outDir: BUILD, rootDir: path.join(ROOT, 'src'), sourceMap: false, noEmit: false, noEmitOnError: false },
      files: [path.join(ROOT, 'src/cache/openCache.ts')],
      include: [],
    }),
  );
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(BUILD, 'tsconfig.json')], {
      stdio: 'pipe',
    });
  } catch (err) {
    // type errors still emit; only a missing output is fatal
    if (!fs.existsSync(path.join(BUILD, 'cache', 'openCache.js'))) throw err;
  }
  fs.writeFileSync(path.join(BUILD, 'child.mjs'), CHILD);
});

afterAll(() => rmTree(BUILD));

let dir: string;
let cacheDir: string;
beforeEach(() => {
  dir = tempDir();
  cacheDir = path.join(dir, 'cache');
});
afterEach(() => rmTree(dir));

/** Runs the child until it prints `waitFor`, then SIGKILLs it. Resolves with everything it printed. */
function runAndKill(stage: string, target: string, waitFor: string | null): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(BUILD, 'child.mjs'), cacheDir, stage, target], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (waitFor && out.split('\n').includes(waitFor)) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (waitFor && signal !== 'SIGKILL') reject(new Error(`child was not killed (code ${code}): ${out}\n${err}`));
      else if (!waitFor && code !== 0) reject(new Error(`child failed (code ${code}): ${err}`));
      else resolve(out);
    });
  });
}

function reopenAndCheck() {
  const cache = openCache({ cacheDir, limitBytes: 1e9, lowWatermark: 0.9 });
  try {
    assertConsistent(cacheDir, { hashFiles: true });
    return { recovery: cache.recovery, models: cache.list(), layout: cache.layout };
  } finally {
    cache.close();
  }
}

describe('SIGKILL mid-admission, then reopen', () => {
  for (const stage of ['writing', 'linked', 'published']) {
    it(`killed while ${stage}: the earlier model is intact, the killed one left nothing`, async () => {
      const out = await runAndKill(stage, 'org/victim', stage);
      expect(out).toContain('kept');
      const { recovery, models, layout } = reopenAndCheck();
      expect(models.map((m) => [m.key, m.state])).toEqual([['org/keep@c1', 'ready']]);
      expect(fs.existsSync(path.join(layout.snapshots, 'org--victim'))).toBe(false);
      expect(fs.readFileSync(path.join(layout.snapshots, 'org--keep', 'c1', 'shared.json'), 'utf8')).toBe('shared');
      if (stage === 'writing') expect(recovery.tmpEntriesRemoved).toBe(1);
      else {
        expect(recovery.admissions).toBe(1);
        expect(recovery.blobsRemoved).toBe(2); // v.bin and x: committed, never referenced
      }
      // the cache still works: the same admission now completes
      await runAndKill('none', 'org/victim', null);
      const after = reopenAndCheck();
      expect(after.models.map((m) => m.key).sort()).toEqual(['org/keep@c1', 'org/victim@c1']);
      expect(listFiles(path.join(after.layout.snapshots, 'org--victim', 'c1'))).toEqual(['dir/v.bin', 'shared.json', 'x']);
    });
  }

  it('killed mid-eviction (index written, files not yet removed): nothing of the model is left', async () => {
    await runAndKill('evict-indexed', 'org/keep', 'evict-indexed');
    const { recovery, models, layout } = reopenAndCheck();
    expect(models).toEqual([]);
    expect(recovery).toMatchObject({ admissions: 1, snapshotDirsRemoved: 1, blobsRemoved: 2 });
    expect(listFiles(layout.snapshots)).toEqual([]);
    expect(listFiles(layout.blobs)).toEqual([]);
  });

  it('killed while replacing a ready snapshot: the model is marked damaged, never served half-swapped', async () => {
    await runAndKill('published', 'org/keep', 'published');
    const { recovery, models } = reopenAndCheck();
    expect(recovery.modelsMarkedDamaged).toBe(1);
    expect(models.map((m) => [m.key, m.state])).toEqual([['org/keep@c1', 'damaged']]);
  });
});
