import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeHub } from '../../dev/fixtures/fakeHub.js';
import { filesUnder, gitBlobSha1, sha256Hex, whisperKitRepo } from '../../dev/fixtures/generate.js';
import type { S3OriginConfig } from '../../src/config/types.js';
import { s3StoreKinds, useS3Store } from '../support/s3Env.js';
import { ALIASES, startHub, variantFiles, WK, wkFileGets } from './daemon-helpers.js';
import { startStoreProxy, type StoreProxy } from './fleetProxy.js';
import { makeSandbox, waitFor, type Sandbox } from './harness.js';

/**
 * The fleet tier end to end: separate daemons (separate processes, cache dirs and sockets) share one
 * bucket of a real object store (the S3_ENDPOINT store in CI, else moto) in front of the fake Hub.
 */

const TINY = 'openai_whisper-tiny';
const BASE = 'openai_whisper-base';
const GET_MS = 120_000;

/** The config-file form of an s3 origin. */
function s3Entry(c: S3OriginConfig): Record<string, unknown> {
  return {
    type: 's3',
    endpoint: c.endpoint,
    bucket: c.bucket,
    prefix: c.prefix,
    region: c.region,
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    forcePathStyle: true,
    mode: c.mode,
    trustMetadata: c.trustMetadata,
  };
}

interface TierLiveJson {
  poisoned: number;
  poisonReports: string[];
  uploaded: number;
  uploadPending: number;
  mode: string;
}

describe.each(s3StoreKinds())('fleet tier (%s store)', (kind) => {
  const s3 = useS3Store(kind);
  let hub: FakeHub;
  const made: Sandbox[] = [];
  const proxies: StoreProxy[] = [];
  const wk = whisperKitRepo();

  beforeAll(async () => {
    hub = await startHub();
  });
  afterAll(async () => {
    for (const s of made.splice(0)) await s.cleanup();
    for (const p of proxies.splice(0)) await p.close();
    await hub?.close();
  });

  function runner(o: { mode?: S3OriginConfig['mode']; endpoint?: string; trustMetadata?: boolean; hubEndpoint?: string } = {}): Sandbox {
    const tier = s3.store.origin({ mode: o.mode ?? 'read-write', trustMetadata: o.trustMetadata ?? false, ...(o.endpoint ? { endpoint: o.endpoint } : {}) });
    const s = makeSandbox({
      endpoint: hub.endpoint,
      models: { ...ALIASES },
      config: { origins: [s3Entry(tier), { type: 'huggingface', endpoint: o.hubEndpoint ?? hub.endpoint }] },
    });
    made.push(s);
    return s;
  }

  async function get(s: Sandbox, model: string) {
    const r = await s.cli(['--json', 'get', model], { timeoutMs: GET_MS });
    if (r.code !== 0) throw new Error(`get ${model} exited ${r.code}: ${r.stderr}\n${daemonLog(s)}`);
    return r.json<{ path: string; hit: boolean; files: number; bytes: number }>();
  }
  const daemonLog = (s: Sandbox) => {
    try {
      return fs.readFileSync(path.join(s.root, 'daemon.log'), 'utf8');
    } catch {
      return '';
    }
  };
  async function tierLive(s: Sandbox): Promise<TierLiveJson> {
    const r = await s.cli(['metrics', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const live = r.json<{ tier: { live: TierLiveJson | null } }>().tier.live;
    expect(live).not.toBeNull();
    return live!;
  }

  async function onTier(key: string): Promise<boolean> {
    const { sdk, client } = await s3.store.client();
    try {
      await client.send(new sdk.HeadObjectCommand({ Bucket: s3.store.bucket, Key: key }));
      return true;
    } catch {
      return false;
    }
  }
  /** Waits until every blob of the variant (and the alias of every file the Hub names by git SHA-1 only) is on the tier. */
  async function waitForVariantOnTier(variant: string): Promise<void> {
    const files = filesUnder(wk, variant);
    const keys = [
      ...new Set(files.map((f) => `blobs/sha256/${sha256Hex(f.bytes)}`)),
      ...files.filter((f) => !f.lfs).map((f) => `git-sha1/${gitBlobSha1(f.bytes)}`),
    ];
    await waitFor(async () => (await Promise.all(keys.map(onTier))).every(Boolean), 120_000, `${variant} on the tier`);
  }

  async function expectVerifyClean(s: Sandbox): Promise<void> {
    const v = await s.cli(['verify'], { timeoutMs: GET_MS });
    expect(v.code, `${v.stdout}\n${v.stderr}`).toBe(0);
  }

  let a: Sandbox;

  it('runner A downloads from the Hub once; runners B and C get the model with zero Hub file downloads; all three verify clean', async () => {
    a = runner();
    hub.counters.reset();
    const ga = await get(a, 'whisper-tiny');
    expect(ga.hit).toBe(false);
    expect(wkFileGets(hub)).toBe(variantFiles(TINY).count);
    await waitForVariantOnTier(TINY);

    hub.counters.reset();
    const b = runner();
    const c = runner();
    const [gb, gc] = [await get(b, 'whisper-tiny'), await get(c, 'whisper-tiny')];
    expect(wkFileGets(hub)).toBe(0);
    expect(gb.bytes).toBe(ga.bytes);
    expect(gc.files).toBe(ga.files);
    for (const s of [a, b, c]) await expectVerifyClean(s);

    const stats = (await b.cli(['stats', '--json'])).json<Record<string, number>>();
    expect(stats).toMatchObject({ misses: 1, tierHits: 1, hubDownloads: 0, bytesDownloaded: 0, bytesFromTier: variantFiles(TINY).bytes });
    expect((await b.cli(['stats'])).stdout).toMatch(/1 tier hits, 0 Hub downloads/);
    const prom = (await b.cli(['metrics', '--format', 'prometheus'])).stdout;
    expect(prom).toMatch(/^vocorize_cache_tier_hits_total 1$/m);
    expect(prom).toMatch(new RegExp(`^vocorize_cache_tier_bytes_total ${variantFiles(TINY).bytes}$`, 'm'));
    const statsA = (await a.cli(['stats', '--json'])).json<Record<string, number>>();
    expect(statsA).toMatchObject({ tierHits: 0, hubDownloads: 1, bytesDownloaded: variantFiles(TINY).bytes });
  });

  it('a tier object overwritten with other bytes is detected, not served, reported, and fetched from the Hub', async () => {
    const weight = filesUnder(wk, TINY)
      .filter((f) => f.lfs)
      .sort((x, y) => y.bytes.length - x.bytes.length)[0]!;
    const sha = sha256Hex(weight.bytes);
    const forged = Buffer.from(weight.bytes);
    forged[forged.length >> 1] = forged[forged.length >> 1]! ^ 0xff;
    const { sdk, client } = await s3.store.client();
    await client.send(new sdk.PutObjectCommand({ Bucket: s3.store.bucket, Key: `blobs/sha256/${sha}`, Body: forged, Metadata: { sha256: sha } }));

    hub.counters.reset();
    const d = runner();
    await get(d, 'whisper-tiny');
    expect(wkFileGets(hub)).toBe(1); // the poisoned file alone came from the Hub
    await expectVerifyClean(d);
    const live = await tierLive(d);
    expect(live.poisoned).toBe(1);
    expect(live.poisonReports[0]).toContain(`blobs/sha256/${sha} is corrupt`);
    expect(daemonLog(d)).toContain('tier blob failed verification');
    expect((await d.cli(['metrics', '--format', 'prometheus'])).stdout).toMatch(/^vocorize_cache_tier_poisoned_total\{tier="[^"]+"\} 1$/m);
  });

  it('a read-only runner reads the tier and never writes to it', async () => {
    const proxy = await startStoreProxy(s3.store.endpoint);
    proxies.push(proxy);
    const e = runner({ mode: 'read-only', endpoint: proxy.endpoint });
    hub.counters.reset();
    await get(e, 'whisper-base'); // not on the tier: every file from the Hub
    expect(wkFileGets(hub)).toBe(variantFiles(BASE).count);
    await get(e, 'whisper-tiny'); // on the tier
    expect(proxy.methods.get('GET') ?? 0).toBeGreaterThan(0);
    const live = await tierLive(e);
    expect(live).toMatchObject({ mode: 'read-only', uploaded: 0, uploadPending: 0 });
    // Give a (wrong) background upload every chance to show up.
    await new Promise((r) => setTimeout(r, 1000));
    expect(proxy.writes()).toBe(0);
    const baseBlob = filesUnder(wk, BASE).find((f) => f.lfs)!;
    expect(await onTier(`blobs/sha256/${sha256Hex(baseBlob.bytes)}`)).toBe(false);
    await expectVerifyClean(e);
  });

  it('the tier cut mid-transfer: the caller still gets verified bytes from the Hub', async () => {
    await get(a, 'whisper-base'); // runner A seeds the tier with whisper-base
    await waitForVariantOnTier(BASE);
    const proxy = await startStoreProxy(s3.store.endpoint);
    proxies.push(proxy);
    proxy.cutAfterBytes = 1000;
    const f = runner({ endpoint: proxy.endpoint });
    hub.counters.reset();
    const got = await get(f, 'whisper-base');
    expect(proxy.cut()).toBe(true);
    expect(wkFileGets(hub)).toBeGreaterThanOrEqual(1);
    expect(got.files).toBe(variantFiles(BASE).count);
    await expectVerifyClean(f);
  });

  it('an air-gapped read-only runner with trustMetadata resolves and fetches from the tier alone', async () => {
    // whisper-base is on the tier (previous test), with its listing and ref.
    const commit = hub.repos.get(WK)!.refs.get('main')!;
    await waitFor(async () => (await onTier(`listings/${WK}/${commit}/${BASE}.json`)) && (await onTier(`refs/${WK}/main`)), 60_000, 'listing and ref on the tier');
    const g = runner({ mode: 'read-only', trustMetadata: true, hubEndpoint: 'http://127.0.0.1:1' });
    const got = await get(g, 'whisper-base');
    expect(got.files).toBe(variantFiles(BASE).count);
    await expectVerifyClean(g);
    const stats = (await g.cli(['stats', '--json'])).json<Record<string, number>>();
    expect(stats).toMatchObject({ tierHits: 1, bytesDownloaded: 0, bytesFromTier: variantFiles(BASE).bytes });
  });
});
