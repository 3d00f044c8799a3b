import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../../dev/fixtures/fakeHub.js';
import { filesUnder, gitBlobSha1, sha256Hex, whisperKitRepo, WHISPERKIT_REPO } from '../../dev/fixtures/generate.js';
import type { S3OriginConfig } from '../../src/config/types.js';
import { createDownloader } from '../../src/origin/fetchModel.js';
import { createHuggingFaceOrigin } from '../../src/origin/huggingFace.js';
import { parseModelRef } from '../../src/origin/modelRef.js';
import { CacheError, ErrorCodes } from '../../src/errors.js';
import { resolveThroughChain } from '../../src/origin/resolveThroughChain.js';
import { createCircuitBreaker } from '../../src/origin/s3/circuitBreaker.js';
import { createTierMetadataOrigin, listingKey, parseListingJson, refKey } from '../../src/origin/s3/tierMetadata.js';
import { createTierSource, type TierSourceOptions } from '../../src/origin/s3/tierSource.js';
import { createUploadQueue, verifiedRead } from '../../src/origin/s3/uploadQueue.js';
import type { Listing, Origin } from '../../src/origin/types.js';
import { createFleetTier } from '../../src/service/fleetTier.js';
import { createFakeTierStore, type FakeTierStore } from './tierFakeStore.js';
import { createTempSink, type TempSink } from './tempSink.js';

const VARIANT = 'openai_whisper-tiny';
const REF = parseModelRef(`${WHISPERKIT_REPO}@main:${VARIANT}`, {});
const WEIGHT = 'TextDecoder.mlmodelc/weights/weight.bin'; // LFS: known by sha256
const MIL = 'TextDecoder.mlmodelc/model.mil'; // regular: known by git SHA-1 only

describe('circuit breaker (injected clock)', () => {
  it('opens after N consecutive failures, refuses during the cool-down, lets one trial through, closes on its success', () => {
    let now = 1000;
    const b = createCircuitBreaker({ failureThreshold: 3, coolDownMs: 10_000, clock: () => now });
    expect(b.state()).toBe('closed');
    b.failure();
    b.failure();
    b.success(); // a success resets the run of failures
    b.failure();
    b.failure();
    expect(b.allow()).toBe(true);
    b.failure();
    expect(b.state()).toBe('open');
    expect(b.opened()).toBe(1);
    expect(b.allow()).toBe(false);
    now += 9_999;
    expect(b.allow()).toBe(false);
    now += 1;
    expect(b.state()).toBe('half-open');
    expect(b.allow()).toBe(true); // the one trial
    expect(b.allow()).toBe(false); // no second while it is out
    b.success();
    expect(b.state()).toBe('closed');
    expect(b.allow()).toBe(true);
  });

  it('a failed trial opens it again for a full cool-down; a trial that never reports expires', () => {
    let now = 0;
    const b = createCircuitBreaker({ failureThreshold: 1, coolDownMs: 500, clock: () => now });
    b.failure();
    now = 500;
    expect(b.allow()).toBe(true);
    b.failure();
    expect(b.state()).toBe('open');
    expect(b.opened()).toBe(2);
    now = 999;
    expect(b.allow()).toBe(false);
    now = 1000;
    expect(b.allow()).toBe(true); // trial out, never reported
    now = 1499;
    expect(b.allow()).toBe(false);
    now = 1500;
    expect(b.allow()).toBe(true);
  });
});

describe('tier reads in the downloader (fake tier store, fake Hub)', () => {
  const wk = whisperKitRepo();
  const want = filesUnder(wk, VARIANT);
  let hub: FakeHub;
  let hf: Origin;
  let dir: string;
  let sink: TempSink;
  let store: FakeTierStore;
  let now: number;
  let listing: Listing;

  beforeEach(async () => {
    hub = await startFakeHub({ repos: [wk] });
    hf = createHuggingFaceOrigin({ endpoint: hub.endpoint, token: 'hf_fake_token' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-tier-'));
    sink = createTempSink(dir);
    store = createFakeTierStore();
    now = 0;
    listing = await hf.resolve(REF);
    hub.counters.reset();
  });
  afterEach(async () => {
    await hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const seedAll = () => {
    for (const f of want) {
      const sha = sha256Hex(f.bytes);
      store.blobs.set(sha, f.bytes);
      if (!f.lfs) store.aliases.set(gitBlobSha1(f.bytes), sha);
    }
  };
  const fileOf = (p: string) => want.find((f) => f.path === p)!;
  const hubFileRequests = (p?: string) => hub.counters.requests(`/${WHISPERKIT_REPO}/resolve/${listing.commit}/${VARIANT}/${p ?? ''}`);

  function tier(over: Partial<TierSourceOptions> = {}) {
    const breaker = createCircuitBreaker({ failureThreshold: 3, coolDownMs: 60_000, clock: () => now });
    return createTierSource({
      store,
      name: 's3://fleet',
      objectOf: (sha) => `s3://fleet/blobs/sha256/${sha}`,
      breaker,
      openTimeoutMs: 300,
      stallTimeoutMs: 300,
      touchEveryMs: 86_400_000,
      clock: () => now,
      ...over,
    });
  }
  const downloader = () =>
    createDownloader({ concurrency: 2, perOrigin: 2, retries: 3, retryBaseMs: 1, retryMaxMs: 5, stallTimeoutMs: 5_000, minFreeBytes: 0, sleep: async () => {} });

  function expectExact(files: Array<{ path: string; sha256: string }>): void {
    expect(files.length).toBe(want.length);
    for (const f of files) {
      const src = want.find((w) => w.path === f.path)!;
      expect(sink.read(f.sha256).equals(src.bytes), f.path).toBe(true);
    }
  }

  it('a tier that holds every blob (and the aliases of git files) serves the model with zero Hub file downloads', async () => {
    seedAll();
    const t = tier();
    const res = await downloader().fetchFiles(listing, hf, sink, { tier: t });
    expectExact(res.files);
    expect(hubFileRequests()).toBe(0);
    expect(res.bytesDownloaded).toBe(0);
    const total = want.reduce((n, f) => n + f.bytes.length, 0);
    expect(res.bytesFromTier).toBe(total);
    expect(res.fromOrigin).toEqual([]);
    expect(t.counters()).toMatchObject({ hits: want.length, bytes: total, poisoned: 0, failures: 0 });
    expect(sink.tempFiles()).toEqual([]);
  });

  it('a blob overwritten with other bytes (same size) is not admitted: reported, and that file comes from the Hub', async () => {
    seedAll();
    const w = fileOf(WEIGHT);
    const sha = sha256Hex(w.bytes);
    const forged = Buffer.from(w.bytes);
    forged[forged.length >> 1] = forged[forged.length >> 1]! ^ 0xff;
    store.blobs.set(sha, forged);
    const reports: string[] = [];
    const t = tier({ onPoisoned: (r) => reports.push(r.object) });
    const res = await downloader().fetchFiles(listing, hf, sink, { tier: t });
    expectExact(res.files);
    expect(sink.read(sha).equals(w.bytes)).toBe(true);
    expect(t.counters().poisoned).toBe(1);
    expect(reports).toEqual([`s3://fleet/blobs/sha256/${sha}`]);
    expect(t.poisonReports()[0]!.message).toContain(`tier object s3://fleet/blobs/sha256/${sha} is corrupt`);
    expect(t.poisonReports()[0]!.message).toContain(`not served; ${WEIGHT} fetched from the next origin instead`);
    expect(hubFileRequests(WEIGHT)).toBe(1);
    expect(hubFileRequests()).toBe(1); // every other file from the tier
    expect(res.fromOrigin.map((b) => b.sha256)).toEqual([sha]);
  });

  it('an alias that names other bytes is caught by the git SHA-1 of the listing', async () => {
    seedAll();
    const m = fileOf(MIL);
    const forged = Buffer.from(m.bytes);
    forged[0] = forged[0]! ^ 0x01;
    const forgedSha = sha256Hex(forged);
    store.blobs.set(forgedSha, forged);
    store.aliases.set(gitBlobSha1(m.bytes), forgedSha);
    const t = tier();
    const res = await downloader().fetchFiles(listing, hf, sink, { tier: t });
    expectExact(res.files);
    expect(t.counters().poisoned).toBe(1);
    expect(hubFileRequests(MIL)).toBe(1);
    expect(sink.blobs.has(forgedSha)).toBe(false);
  });

  it('a tier that refuses connections costs one fast failure per file until the breaker opens; the Hub serves everything', async () => {
    seedAll();
    store.fault = 'refused';
    const t = tier();
    const res = await downloader().fetchFiles(listing, hf, sink, { tier: t });
    expectExact(res.files);
    const c = t.counters();
    expect(c.failures).toBeGreaterThanOrEqual(3);
    expect(c.failures).toBeLessThanOrEqual(3 + 1); // concurrency 2: at most one more already in flight
    expect(c.failures + c.skippedOpen).toBe(want.length);
    expect(store.opens).toBeLessThanOrEqual(4);
    expect(res.bytesFromTier).toBe(0);
    expect(hubFileRequests()).toBe(want.length);
  });

  it('a tier that never answers times out once per file (then the breaker), and the Hub serves', async () => {
    seedAll();
    store.fault = 'hang';
    const t = tier({ openTimeoutMs: 100 });
    const res = await downloader().fetchFiles(listing, hf, sink, { tier: t });
    expectExact(res.files);
    expect(t.counters().failures).toBeGreaterThanOrEqual(1);
    expect(t.counters().hits).toBe(0);
  });

  it('a tier cut mid-transfer: the Hub resumes the file and the bytes verify', async () => {
    seedAll();
    store.fault = 'cut';
    store.cutAfter = 1000;
    const t = tier();
    const res = await downloader().fetchFiles(listing, hf, sink, { tier: t });
    expectExact(res.files);
    expect(t.counters().hits).toBe(0);
    expect(t.counters().failures).toBeGreaterThanOrEqual(1);
    // The weight file resumed from where the tier stopped: the Hub sent less than its whole size.
    const w = fileOf(WEIGHT);
    expect(res.bytesDownloaded).toBeLessThan(want.reduce((n, f) => n + f.bytes.length, 0));
    expect(sink.read(sha256Hex(w.bytes)).equals(w.bytes)).toBe(true);
  });

  it('a read refreshes the last-read time of a blob only when it is older than a day', async () => {
    seedAll();
    const w = fileOf(WEIGHT);
    const sha = sha256Hex(w.bytes);
    for (const f of want) store.lastRead.set(sha256Hex(f.bytes), Date.now()); // read by another runner today
    store.lastRead.set(sha, Date.now() - 2 * 86_400_000);
    const t = tier({ clock: Date.now });
    await downloader().fetchFiles(listing, hf, sink, { tier: t });
    await waitUntil(() => store.touches > 0);
    await new Promise((r) => setTimeout(r, 50)); // any other (wrong) touch would land by now
    expect(store.touches).toBe(1);
    expect(Date.now() - store.lastRead.get(sha)!).toBeLessThan(86_400_000);
  });

  it('a missing blob is a miss (no failure, no breaker): the Hub serves it', async () => {
    const t = tier();
    const res = await downloader().fetchFiles(listing, hf, sink, { tier: t });
    expectExact(res.files);
    expect(t.counters()).toMatchObject({ hits: 0, failures: 0, misses: want.length });
    expect(res.fromOrigin.length).toBe(new Set(want.map((f) => sha256Hex(f.bytes))).size);
  });
});

async function waitUntil(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('upload queue and the write side of the fleet tier', () => {
  let dir: string;
  let store: FakeTierStore;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-up-'));
    store = createFakeTierStore();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const blob = (seed: string, size = 5000) => {
    const bytes = crypto.createHash('sha256').update(seed).digest();
    const data = Buffer.alloc(size, bytes);
    const sha256 = sha256Hex(data);
    fs.writeFileSync(path.join(dir, sha256), data);
    return { sha256, size, data };
  };
  const queue = (over: Partial<Parameters<typeof createUploadQueue>[0]> = {}) =>
    createUploadQueue({ store, name: 's3://fleet', maxBlobs: 100, maxBytesInFlight: 1 << 30, concurrency: 2, blobFile: (s) => path.join(dir, s), ...over });

  it('uploads the blobs, then the aliases and listing; a blob the tier has is "exists"', async () => {
    const a = blob('a');
    const b = blob('b');
    store.blobs.set(b.sha256, b.data);
    const q = queue();
    q.offer({ blobs: [a, b], aliases: [{ gitSha1: 'f'.repeat(40), sha256: a.sha256 }], json: [{ key: 'listings/x/y.json', value: { ok: 1 } }] });
    await q.idle();
    expect(store.blobs.get(a.sha256)!.equals(a.data)).toBe(true);
    expect(q.counters()).toMatchObject({ uploaded: 1, existed: 1, uploadedBytes: a.size, pending: 0 });
    expect(store.aliases.get('f'.repeat(40))).toBe(a.sha256);
    expect(store.json.get('listings/x/y.json')).toEqual({ ok: 1 });
  });

  it('is bounded: blobs beyond maxBlobs are skipped and counted, and the batch\'s metadata is not written', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    store.beforePut = () => gate;
    const blobs = ['1', '2', '3', '4', '5'].map((s) => blob(s));
    const q = queue({ maxBlobs: 2 });
    q.offer({ blobs, aliases: [], json: [{ key: 'refs/x/main', value: 'c'.repeat(40) }] });
    expect(q.counters()).toMatchObject({ queued: 2, skippedFull: 3, pending: 2 });
    release();
    await q.idle();
    expect(q.counters()).toMatchObject({ uploaded: 2, pending: 0 });
    expect(store.json.size).toBe(0);
  });

  it('offer never waits for the tier', async () => {
    store.beforePut = () => new Promise(() => {}); // a tier that never answers
    const q = queue();
    q.offer({ blobs: [blob('x')], aliases: [], json: [] }); // returns at once, with the upload still out
    expect(q.counters()).toMatchObject({ queued: 1, pending: 1, uploaded: 0 });
    q.close();
    expect(store.puts.blob).toBe(0);
  });

  it('a blob evicted before its turn is skipped (not held, not uploaded)', async () => {
    const a = blob('gone');
    fs.rmSync(path.join(dir, a.sha256));
    const q = queue();
    q.offer({ blobs: [a], aliases: [], json: [{ key: 'k', value: 1 }] });
    await q.idle();
    expect(q.counters()).toMatchObject({ skippedGone: 1, uploaded: 0 });
    expect(store.puts.blob).toBe(0);
    expect(store.json.size).toBe(0);
  });

  it('a local file that no longer hashes to its name is never uploaded', async () => {
    const a = blob('rot');
    const f = path.join(dir, a.sha256);
    fs.chmodSync(f, 0o644);
    const bad = Buffer.from(a.data);
    bad[10] = bad[10]! ^ 1;
    fs.writeFileSync(f, bad);
    const q = queue();
    q.offer({ blobs: [a], aliases: [], json: [] });
    await q.idle();
    expect(q.counters().failed).toBe(1);
    expect(store.blobs.has(a.sha256)).toBe(false);
    await expect(async () => {
      for await (const _ of verifiedRead(f, a.sha256, a.size)) void _;
    }).rejects.toThrow(/not uploaded/);
  });

  const s3Config = (mode: S3OriginConfig['mode']): S3OriginConfig => ({
    type: 's3',
    endpoint: 'http://127.0.0.1:9',
    bucket: 'fleet',
    prefix: '',
    region: 'us-east-1',
    accessKeyId: null,
    secretAccessKey: null,
    forcePathStyle: true,
    mode,
    trustMetadata: false,
    uploadQueue: { maxBlobs: 10, maxBytesInFlight: 1 << 30 },
  });
  const listingOf = (files: Array<{ sha256: string; size: number }>): Listing => ({
    ref: parseModelRef('acme/model@main', {}),
    commit: 'c'.repeat(40),
    origin: 'huggingface',
    files: files.map((f, i) => ({ path: `f${i}`, size: f.size, sha256: f.sha256 })),
  });

  it('a read-only tier never writes: zero PUTs after Hub downloads', async () => {
    const a = blob('ro');
    const tier = createFleetTier(s3Config('read-only'), { openStore: () => store, blobFile: (s) => path.join(dir, s), clock: Date.now });
    const l = listingOf([a]);
    tier.afterFetch(l, {} as Origin, { files: [{ path: 'f0', sha256: a.sha256 }], fromOrigin: [{ sha256: a.sha256, size: a.size, gitSha1: '' }] });
    await tier.idle();
    expect(store.puts).toEqual({ blob: 0, alias: 0, json: 0 });
    expect(tier.live()).toMatchObject({ mode: 'read-only', uploaded: 0, uploadPending: 0 });
  });

  it('a read-write tier receives the blob, the listing and the ref', async () => {
    const a = blob('rw');
    const tier = createFleetTier(s3Config('read-write'), { openStore: () => store, blobFile: (s) => path.join(dir, s), clock: Date.now });
    tier.afterFetch(listingOf([a]), {} as Origin, { files: [{ path: 'f0', sha256: a.sha256 }], fromOrigin: [{ sha256: a.sha256, size: a.size, gitSha1: '' }] });
    await tier.idle();
    expect(store.blobs.get(a.sha256)!.equals(a.data)).toBe(true);
    expect(store.json.get(`listings/acme/model/${'c'.repeat(40)}.json`)).toMatchObject({ commit: 'c'.repeat(40) });
    expect(store.json.get('refs/acme/model/main')).toBe('c'.repeat(40));
    expect(tier.live()).toMatchObject({ uploaded: 1, uploadedBytes: a.size });
  });
});

describe('tier metadata (trustMetadata): a resolve fallback only when every origin is unreachable', () => {
  const commit = 'a'.repeat(40);
  const sha = 'b'.repeat(64);
  const ref = parseModelRef('acme/model@main:sub', {});
  const unreachable: Origin = {
    name: 'huggingface',
    resolve: async () => {
      throw new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, 'connect ECONNREFUSED', { retryable: true });
    },
    open: async () => {
      throw new Error('unused');
    },
  };
  const saysNo: Origin = { ...unreachable, resolve: async () => Promise.reject(new CacheError(ErrorCodes.REPO_NOT_FOUND, 'no such repo')) };

  function seeded() {
    const store = createFakeTierStore();
    store.json.set(refKey('acme/model', 'main'), commit);
    store.json.set(listingKey(ref, commit), { commit, files: [{ path: 'w.bin', size: 3, sha256: sha }] });
    return store;
  }

  it('resolves from the tier\'s ref and listing when the Hub is unreachable', async () => {
    const tierOrigin = createTierMetadataOrigin({ name: 's3://fleet', store: seeded() });
    const got = await resolveThroughChain([unreachable], ref, undefined, undefined, [tierOrigin]);
    expect(got.origin).toBe(tierOrigin);
    expect(got.listing).toMatchObject({ commit, files: [{ path: 'w.bin', size: 3, sha256: sha }] });
  });

  it('never overrides an origin that answered: a Hub "no such repo" is believed', async () => {
    const tierOrigin = createTierMetadataOrigin({ name: 's3://fleet', store: seeded() });
    const err = await resolveThroughChain([saysNo], ref, undefined, undefined, [tierOrigin]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CacheError);
    expect((err as CacheError).code).toBe(ErrorCodes.REPO_NOT_FOUND);
  });

  it('a listing that is not one (wrong commit, unsafe path, no digest) is refused with the key named', () => {
    const key = listingKey(ref, commit);
    expect(() => parseListingJson({ commit: 'c'.repeat(40), files: [{ path: 'a', size: 1, sha256: sha }] }, key, commit)).toThrow(/names commit/);
    expect(() => parseListingJson({ commit, files: [{ path: '../etc/passwd', size: 1, sha256: sha }] }, key, commit)).toThrow(/unsafe path/);
    expect(() => parseListingJson({ commit, files: [{ path: 'a', size: 1 }] }, key, commit)).toThrow(new RegExp(`${key.replace(/[.+]/g, '\\$&')}.*no sha256`));
    expect(key).toBe(`listings/acme/model/${commit}/sub.json`);
    expect(listingKey(parseModelRef('acme/model@main', {}), commit)).toBe(`listings/acme/model/${commit}.json`);
  });
});
