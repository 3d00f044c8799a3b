import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CacheError, ErrorCodes } from '../../src/errors.js';
import { startFakeHub, type FakeHub } from '../../dev/fixtures/fakeHub.js';
import { filesUnder, sha256Hex, whisperKitRepo, WHISPERKIT_REPO, type RepoFile } from '../../dev/fixtures/generate.js';
import { createDownloader, statfsFreeBytes, type DownloaderOptions, type FetchResult } from '../../src/origin/fetchModel.js';
import { createHuggingFaceOrigin } from '../../src/origin/huggingFace.js';
import { canonicalRef, parseModelRef } from '../../src/origin/modelRef.js';
import type { Listing, Origin } from '../../src/origin/types.js';
import { cacheErrorOf } from '../support/cacheErrorOf.js';
import { createTempSink, type TempSink } from './tempSink.js';

const TOKEN = 'hf_fake_token';
const VARIANT = 'openai_whisper-tiny';
const REF = parseModelRef(`${WHISPERKIT_REPO}@main:${VARIANT}`, {});
const WEIGHT = 'TextDecoder.mlmodelc/weights/weight.bin'; // LFS, served by the CDN
const MIL = 'TextDecoder.mlmodelc/model.mil'; // regular, served by the Hub (307 → resolve-cache)

describe('downloader against the fake Hub', () => {
  const wk = whisperKitRepo();
  const want = filesUnder(wk, VARIANT);
  let hub: FakeHub;
  let origin: Origin;
  let dir: string;
  let sink: TempSink;
  let slept: number[];

  beforeEach(async () => {
    hub = await startFakeHub({ repos: [wk] });
    origin = createHuggingFaceOrigin({ endpoint: hub.endpoint, token: TOKEN });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-'));
    sink = createTempSink(dir);
    slept = [];
  });
  afterEach(async () => {
    await hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function downloader(over: Partial<DownloaderOptions> = {}) {
    return createDownloader({
      concurrency: 4,
      perOrigin: 4,
      retries: 3,
      retryBaseMs: 50,
      retryMaxMs: 1000,
      stallTimeoutMs: 5_000,
      minFreeBytes: 0,
      sleep: async (ms) => {
        slept.push(ms);
      },
      ...over,
    });
  }

  function expectExactFiles(res: FetchResult, files: RepoFile[] = want): void {
    expect(res.files.map((f) => f.path).sort()).toEqual(files.map((f) => f.path).sort());
    for (const f of res.files) {
      const src = files.find((w) => w.path === f.path)!;
      expect(f.size).toBe(src.bytes.byteLength);
      expect(f.sha256).toBe(sha256Hex(src.bytes));
      expect(sink.read(f.sha256).equals(src.bytes)).toBe(true);
    }
    expect(sink.tempFiles()).toEqual([]);
  }

  const filePath = (p: string) => `${VARIANT}/${p}`;
  const resolveGets = (p: string) => hub.counters.byPath.get(`GET /${WHISPERKIT_REPO}/resolve/${hub.repos.get(WHISPERKIT_REPO)!.refs.get('main')}/${filePath(p)}`) ?? 0;
  const byteRequests = (p: string) =>
    hub.counters.log.filter((r) => r.method === 'GET' && (r.query.includes(encodeURIComponent(filePath(p))) || r.path.endsWith(`/${filePath(p)}`)) && !r.path.includes('/resolve/'));

  it('fetches the tiny variant: exactly 17 files, right bytes, progress to the total', async () => {
    const listing = await origin.resolve(REF);
    const progress: Array<{ doneBytes: number; totalBytes: number }> = [];
    const res = await downloader().fetchFiles(listing, origin, sink, { onProgress: (p) => progress.push(p) });
    expect(res.files).toHaveLength(17);
    expectExactFiles(res);
    const total = want.reduce((n, f) => n + f.bytes.byteLength, 0);
    expect(res.bytesDownloaded).toBe(total);
    expect(progress.at(-1)).toMatchObject({ doneBytes: total, totalBytes: total });
    expect(progress.every((p, i) => i === 0 || p.doneBytes >= progress[i - 1]!.doneBytes)).toBe(true);

    // Everything is in the sink now: a second fetch transfers nothing.
    hub.counters.reset();
    const again = await downloader().fetchFiles(listing, origin, sink, {});
    expect(again.bytesDownloaded).toBe(0);
    expect(hub.counters.requests('/', 'GET')).toBe(0);
    expect(again.files).toEqual(res.files);
  });

  it('20 concurrent requests through single-flight download each file exactly once', async () => {
    // Callers of one key share the first caller's run (the service's single flight does the same).
    const flights = new Map<string, Promise<FetchResult>>();
    const dl = downloader();
    const fetchModel = () => {
      const key = canonicalRef(REF);
      let p = flights.get(key);
      if (!p) {
        p = (async () => dl.fetchFiles(await origin.resolve(REF), origin, sink, {}))();
        flights.set(key, p);
      }
      return p;
    };
    const results = await Promise.all(Array.from({ length: 20 }, fetchModel));
    for (const r of results) expect(r).toBe(results[0]);
    expectExactFiles(results[0]!);
    expect(hub.counters.requests(`/api/models/${WHISPERKIT_REPO}/revision/`)).toBe(1);
    for (const f of want) {
      expect(resolveGets(f.path)).toBe(1);
      expect(byteRequests(f.path)).toHaveLength(1); // one CDN GET (LFS) or one resolve-cache GET (regular)
    }
  });

  it('resumes a dropped connection with a Range request and ends with the right bytes', async () => {
    hub.faults.add(filePath(WEIGHT), { kind: 'drop', afterBytes: 100_000 });
    hub.faults.add(filePath(MIL), { kind: 'drop', afterBytes: 70_000 });
    const listing = await origin.resolve(REF);
    const res = await downloader().fetchFiles(listing, origin, sink, {});
    expectExactFiles(res);
    // Resumed where the received bytes end: at most the bytes sent before the drop (a client may lose
    // what was still buffered in its socket when the connection errored), and well past zero.
    for (const [p, sent] of [[WEIGHT, 100_000], [MIL, 70_000]] as const) {
      const ranges = byteRequests(p).map((r) => r.range);
      expect(ranges).toHaveLength(2);
      expect(ranges[0]).toBeNull();
      const from = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? '')?.[1]);
      expect(from).toBeGreaterThanOrEqual(sent / 2);
      expect(from).toBeLessThanOrEqual(sent);
    }
    // The resumed LFS request went through the Hub again (fresh signed URL) and still no token reached the CDN.
    expect(resolveGets(WEIGHT)).toBe(2);
    expect(hub.counters.authorizations('cdn').every((a) => a === null)).toBe(true);
    expect(slept).toHaveLength(2);
  });

  it('restarts from zero when the origin answers 200 to a range request', async () => {
    hub.faults.add(filePath(WEIGHT), { kind: 'drop', afterBytes: 50_000 });
    hub.faults.add(filePath(WEIGHT), { kind: 'ignoreRange' });
    const listing = await origin.resolve(REF);
    const res = await downloader().fetchFiles(listing, origin, sink, {});
    expectExactFiles(res);
    const reqs = byteRequests(WEIGHT);
    expect(reqs.map((r) => r.status)).toEqual([200, 200]);
    expect(reqs[1]!.range).toMatch(/^bytes=[1-9]\d*-$/);
  });

  it.each([
    ['corrupt', { kind: 'corrupt' as const, times: 10 }],
    ['short', { kind: 'short' as const, times: 10 }],
  ])('rejects %s bytes after the retries and leaves nothing', async (_name, fault) => {
    hub.faults.add(filePath(WEIGHT), fault);
    const listing = await origin.resolve(REF);
    const err = await cacheErrorOf(downloader({ retries: 2 }).fetchFiles(listing, origin, sink, {}));
    expect(err).toBeInstanceOf(CacheError);
    expect(err.code).toBe(ErrorCodes.INTEGRITY);
    expect(byteRequests(WEIGHT)).toHaveLength(3);
    const weightSha = sha256Hex(want.find((f) => f.path === WEIGHT)!.bytes);
    expect(sink.blobs.has(weightSha)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'blobs', weightSha))).toBe(false);
    expect(sink.tempFiles()).toEqual([]);
  });

  it('a regular file with wrong bytes is caught by its git SHA-1 and fetched again', async () => {
    hub.faults.add(filePath(MIL), { kind: 'corrupt' });
    const listing = await origin.resolve(REF);
    const res = await downloader().fetchFiles(listing, origin, sink, {});
    expectExactFiles(res);
    expect(byteRequests(MIL).map((r) => r.range)).toEqual([null, null]);
    expect(sink.writersOpened).toBe(18);
  });

  it('500 twice then 200 succeeds, with backoff between attempts', async () => {
    hub.faults.add(filePath(WEIGHT), { kind: 'status', status: 500, times: 2 });
    const listing = await origin.resolve(REF);
    const res = await downloader({ random: () => 0.5 }).fetchFiles(listing, origin, sink, {});
    expectExactFiles(res);
    expect(resolveGets(WEIGHT)).toBe(3);
    expect(slept).toEqual([25, 50]); // full jitter at 0.5 of 50·2^0 and 50·2^1
  });

  it('429 with Retry-After: 1 waits 1000 ms before retrying', async () => {
    hub.faults.add(filePath(MIL), { kind: 'rateLimit', retryAfterSec: 1 });
    const listing = await origin.resolve(REF);
    const res = await downloader().fetchFiles(listing, origin, sink, {});
    expectExactFiles(res);
    expect(slept).toEqual([1000]);
    expect(resolveGets(MIL)).toBe(2);
  });

  it('a stalled transfer is aborted and resumed', async () => {
    hub.faults.add(filePath(WEIGHT), { kind: 'stall', afterBytes: 30_000 });
    const listing = await origin.resolve(REF);
    const res = await downloader({ stallTimeoutMs: 300 }).fetchFiles(listing, origin, sink, {});
    expectExactFiles(res);
    expect(byteRequests(WEIGHT).map((r) => r.range)).toEqual([null, 'bytes=30000-']);
  });

  it('a final failure aborts every file and leaves no temp file; final Hub errors are not retried', async () => {
    hub.faults.add(filePath(WEIGHT), { kind: 'status', status: 500, times: 10 });
    const listing = await origin.resolve(REF);
    const err = await cacheErrorOf(downloader({ retries: 1 }).fetchFiles(listing, origin, sink, {}));
    expect([err.code, err.retryable]).toEqual([ErrorCodes.ORIGIN_UNAVAILABLE, true]);
    expect(resolveGets(WEIGHT)).toBe(2);
    expect(sink.tempFiles()).toEqual([]);

    const ghost: Listing = { ...listing, files: [{ path: 'nope.bin', size: 10, sha256: 'a'.repeat(64) }] };
    const e404 = await cacheErrorOf(downloader().fetchFiles(ghost, origin, sink, {}));
    expect(e404.code).toBe(ErrorCodes.ENTRY_NOT_FOUND);
    expect(hub.counters.requests(`/${WHISPERKIT_REPO}/resolve/${listing.commit}/${VARIANT}/nope.bin`)).toBe(1);
    expect(slept).toHaveLength(1);
  });

  it('refuses to start without enough free disk (E_NO_SPACE, nothing requested)', async () => {
    const listing = await origin.resolve(REF);
    hub.counters.reset();
    const err = await cacheErrorOf(downloader({ minFreeBytes: 1000 }).fetchFiles(listing, origin, sink, { freeBytes: async () => 1500 }));
    expect([err.code, err.retryable]).toEqual([ErrorCodes.NO_SPACE, false]);
    expect(err.message).toContain(VARIANT);
    expect(hub.counters.requests('/')).toBe(0);
    // The real statfs answers a positive number for the temp dir.
    expect(await statfsFreeBytes(dir)()).toBeGreaterThan(0);
  });

  it('an abort from the caller stops the download and removes its temp files', async () => {
    hub.faults.add(filePath(WEIGHT), { kind: 'stall', afterBytes: 10_000 });
    const listing = await origin.resolve(REF);
    const ac = new AbortController();
    const p = downloader().fetchFiles(listing, origin, sink, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('client went away')), 200);
    await expect(p).rejects.toThrow('client went away');
    expect(sink.tempFiles()).toEqual([]);
  });

  it('identical files in one listing download once', async () => {
    const twin = { id: 'acme/twins', files: [
      { path: 'a/weights.bin', bytes: Buffer.from(want[4]!.bytes), lfs: true },
      { path: 'b/weights.bin', bytes: Buffer.from(want[4]!.bytes), lfs: true },
    ] };
    hub.publish(twin);
    const listing = await origin.resolve(parseModelRef('acme/twins', {}));
    const res = await downloader().fetchFiles(listing, origin, sink, {});
    expect(res.files[0]!.sha256).toBe(res.files[1]!.sha256);
    expect(res.bytesDownloaded).toBe(want[4]!.bytes.byteLength);
    expect(hub.counters.requests('/acme/twins/resolve/')).toBe(1);
  });
});
