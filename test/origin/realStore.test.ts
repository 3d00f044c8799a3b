import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCache } from '../../src/cache/openCache.js';
import { ErrorCodes } from '../../src/errors.js';
import { startFakeHub, type FakeHub } from '../../dev/fixtures/fakeHub.js';
import { filesUnder, sha256Hex, whisperKitRepo, writeRepoToDirectory, WHISPERKIT_REPO } from '../../dev/fixtures/generate.js';
import { createDirectoryOrigin } from '../../src/origin/directory.js';
import { createDownloader, statfsFreeBytes } from '../../src/origin/fetchModel.js';
import { createHuggingFaceOrigin } from '../../src/origin/huggingFace.js';
import { parseModelRef } from '../../src/origin/modelRef.js';
import type { Origin } from '../../src/origin/types.js';
import { cacheErrorOf } from '../support/cacheErrorOf.js';

/** The origins and the downloader with the core engineer's store: fetched, verified, admitted. */
describe('origins into the real store', () => {
  const wk = whisperKitRepo();
  const want = filesUnder(wk, 'openai_whisper-tiny');
  const ref = parseModelRef(`${WHISPERKIT_REPO}@main:openai_whisper-tiny`, {});
  let tmp: string;
  let hub: FakeHub;

  beforeEach(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-'));
    hub = await startFakeHub({ repos: [wk] });
  });
  afterEach(async () => {
    await hub.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function fetchAndAdmit(origin: Origin, cacheDir: string) {
    const cache = openCache({ cacheDir, limitBytes: 1e9, lowWatermark: 0.9 });
    try {
      const listing = await origin.resolve(ref);
      const dl = createDownloader({
        concurrency: 4, perOrigin: 4, retries: 2, retryBaseMs: 1, retryMaxMs: 5, stallTimeoutMs: 5000, minFreeBytes: 0,
        freeBytes: statfsFreeBytes(cacheDir),
      });
      const res = await dl.fetchFiles(listing, origin, cache, {});
      const model = cache.admit({
        repo: ref.repo,
        subfolder: ref.subfolder,
        commit: listing.commit,
        origin: origin.name,
        fetchMs: res.durationMs,
        files: res.files.map((f) => ({ path: f.path, blob: f.sha256, size: f.size, gitSha1: f.gitSha1 })),
      });
      return { model, tempLeft: fs.readdirSync(cache.layout.tmp) };
    } finally {
      cache.close();
    }
  }

  function snapshotFiles(dir: string, rel = ''): string[] {
    return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
      const p = rel ? `${rel}/${e.name}` : e.name;
      return e.isDirectory() ? snapshotFiles(dir, p) : [p];
    });
  }

  it.each(['huggingface', 'directory'])('%s: the snapshot holds exactly the 17 files with the right bytes', async (kind) => {
    let origin: Origin;
    if (kind === 'huggingface') {
      origin = createHuggingFaceOrigin({ endpoint: hub.endpoint, token: 'hf_fake_token' });
    } else {
      const root = path.join(tmp, 'mirror');
      writeRepoToDirectory(wk, root);
      origin = createDirectoryOrigin({ root });
    }
    const { model, tempLeft } = await fetchAndAdmit(origin, path.join(tmp, 'cache'));
    expect(model.fileCount).toBe(17);
    expect(snapshotFiles(model.path).sort()).toEqual(want.map((f) => f.path).sort());
    for (const f of want) expect(fs.readFileSync(path.join(model.path, f.path)).equals(f.bytes)).toBe(true);
    expect(tempLeft).toEqual([]);
  });

  it('wrong bytes from the Hub never become a blob', async () => {
    const origin = createHuggingFaceOrigin({ endpoint: hub.endpoint, token: 'hf_fake_token' });
    hub.faults.add('openai_whisper-tiny/AudioEncoder.mlmodelc/weights/weight.bin', { kind: 'corrupt', times: 5 });
    const cacheDir = path.join(tmp, 'cache');
    const err = await cacheErrorOf(fetchAndAdmit(origin, cacheDir));
    expect(err.code).toBe(ErrorCodes.INTEGRITY);
    const bad = filesUnder(wk, 'openai_whisper-tiny').find((f) => f.path === 'AudioEncoder.mlmodelc/weights/weight.bin')!;
    const cache = openCache({ cacheDir, limitBytes: 1e9, lowWatermark: 0.9 });
    try {
      expect(cache.findBlob({ size: bad.bytes.byteLength, sha256: sha256Hex(bad.bytes) })).toBeNull();
      expect(cache.list()).toEqual([]);
      // The other files cut short by the failure may stay as resumable partials: each a true prefix of
      // its file; nothing of the corrupt one.
      const byDigest = new Map(filesUnder(wk, 'openai_whisper-tiny').map((f) => [sha256Hex(f.bytes), f.bytes]));
      for (const name of fs.readdirSync(cache.layout.tmp)) {
        const digest = /^partial-([0-9a-f]{64})$/.exec(name)?.[1];
        if (digest === undefined) throw new Error(`not a partial download: ${name}`);
        expect(digest).not.toBe(sha256Hex(bad.bytes));
        const kept = fs.readFileSync(path.join(cache.layout.tmp, name));
        expect(byDigest.get(digest)!.subarray(0, kept.length).equals(kept)).toBe(true);
      }
    } finally {
      cache.close();
    }
  });
});
