import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { filesUnder, generateBytes, mlxRepo, whisperKitRepo, WHISPERKIT_REPO } from '../../dev/fixtures/generate.js';
import { startFakeHub, type FakeHub } from '../../dev/fixtures/fakeHub.js';
import { createHuggingFaceOrigin, nextLink } from '../../src/origin/huggingFace.js';
import { parseModelRef } from '../../src/origin/modelRef.js';
import type { Origin } from '../../src/origin/types.js';
import { cacheErrorOf, codeOf } from '../support/cacheErrorOf.js';

const TOKEN = 'hf_fake_token';
const TINY = `${WHISPERKIT_REPO}@main:openai_whisper-tiny`;

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

describe('Hugging Face origin against the fake Hub', () => {
  let hub: FakeHub;
  let origin: Origin;
  const wk = whisperKitRepo();

  beforeEach(async () => {
    hub = await startFakeHub({ repos: [wk, mlxRepo()], treePageSize: 4 });
    origin = createHuggingFaceOrigin({ endpoint: hub.endpoint, token: TOKEN });
  });
  afterEach(async () => {
    await hub.close();
  });

  it('resolves a variant folder to its commit and the 17 files, following pagination', async () => {
    const listing = await origin.resolve(parseModelRef(TINY, {}));
    expect(listing.commit).toBe(hub.repos.get(WHISPERKIT_REPO)!.refs.get('main'));
    const want = filesUnder(wk, 'openai_whisper-tiny');
    expect(listing.files.map((f) => f.path)).toEqual(want.map((f) => f.path).sort());
    expect(listing.files).toHaveLength(17);
    // 17 files + 9 directories at 4 per page → 7 pages, every one fetched with the token.
    expect(hub.counters.requests('/api/models/argmaxinc/whisperkit-coreml/tree/')).toBe(7);
    for (const f of listing.files) {
      const src = want.find((w) => w.path === f.path)!;
      expect(f.size).toBe(src.bytes.byteLength);
      if (src.lfs) {
        expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(f.gitSha1).toBeUndefined();
      } else {
        expect(f.gitSha1).toMatch(/^[0-9a-f]{40}$/);
        expect(f.sha256).toBeUndefined();
      }
    }
  });

  it('sends the token to the Hub and never to the CDN', async () => {
    const listing = await origin.resolve(parseModelRef(TINY, {}));
    const lfs = listing.files.find((f) => f.path.endsWith('weights/weight.bin'))!;
    const regular = listing.files.find((f) => f.path === 'config.json')!;
    for (const f of [lfs, regular]) {
      const opened = await origin.open(listing, f, 0);
      expect((await readAll(opened.stream)).byteLength).toBe(f.size);
    }
    const hubAuth = hub.counters.authorizations('hub');
    const cdnAuth = hub.counters.authorizations('cdn');
    expect(hubAuth.length).toBeGreaterThan(3);
    expect(hubAuth.every((a) => a === `Bearer ${TOKEN}`)).toBe(true);
    expect(cdnAuth.length).toBe(1);
    expect(cdnAuth).toEqual([null]);
    // The regular file went through the relative 307 to /api/resolve-cache on the Hub host.
    expect(hub.counters.requests('/api/resolve-cache/')).toBe(1);
  });

  it('opens at an offset with a Range (206), and handles 416 at the end', async () => {
    const listing = await origin.resolve(parseModelRef(TINY, {}));
    const f = listing.files.find((x) => x.path === 'AudioEncoder.mlmodelc/weights/weight.bin')!;
    const whole = filesUnder(wk, 'openai_whisper-tiny').find((x) => x.path === f.path)!.bytes;
    const opened = await origin.open(listing, f, 1000);
    expect(opened.offset).toBe(1000);
    expect(opened.total).toBe(f.size);
    expect((await readAll(opened.stream)).equals(whole.subarray(1000))).toBe(true);
    expect(hub.counters.log.filter((r) => r.server === 'cdn').map((r) => r.range)).toEqual(['bytes=1000-']);

    const atEnd = await origin.open(listing, f, f.size);
    expect(atEnd.offset).toBe(f.size);
    expect((await readAll(atEnd.stream)).byteLength).toBe(0);

    hub.faults.add(`openai_whisper-tiny/${f.path}`, { kind: 'ignoreRange' });
    const ignored = await origin.open(listing, f, 500);
    expect(ignored.offset).toBe(0);
    expect((await readAll(ignored.stream)).equals(whole)).toBe(true);
  });

  it('maps the Hub error table to distinct codes', async () => {
    hub.publish(mlxRepo('acme/private-model'), { private: true });
    hub.publish(mlxRepo('acme/gated-model'), { gated: 'manual', readers: ['someone_else'] });
    const anon = createHuggingFaceOrigin({ endpoint: hub.endpoint, token: null });
    const badToken = createHuggingFaceOrigin({ endpoint: hub.endpoint, token: 'hf_wrong_secret' });

    expect(await codeOf(origin.resolve(parseModelRef('nobody/nothing', {})))).toBe(ErrorCodes.REPO_NOT_FOUND);
    expect(await codeOf(anon.resolve(parseModelRef('acme/private-model', {})))).toBe(ErrorCodes.REPO_NOT_FOUND);
    expect(await codeOf(origin.resolve(parseModelRef('acme/private-model', {})))).toBe('ok');
    expect(await codeOf(origin.resolve(parseModelRef(`${WHISPERKIT_REPO}@no-such-branch`, {})))).toBe(ErrorCodes.REVISION_NOT_FOUND);
    expect(await codeOf(origin.resolve(parseModelRef(`${WHISPERKIT_REPO}:openai_whisper-huge`, {})))).toBe(ErrorCodes.ENTRY_NOT_FOUND);
    const badErr = await cacheErrorOf(badToken.resolve(parseModelRef('mlx-community/whisper-tiny', {})));
    expect(badErr.code).toBe(ErrorCodes.UNAUTHORIZED);
    expect(badErr.message).toMatch(/invalid/);
    expect(JSON.stringify(badErr)).not.toContain('hf_wrong_secret');
    expect(badErr.message).not.toContain('hf_wrong_secret');

    const gated = await origin.resolve(parseModelRef('acme/gated-model', {}));
    expect(await codeOf(origin.open(gated, gated.files[0]!, 0))).toBe(ErrorCodes.GATED_REPO);
    const gatedAnon = await anon.resolve(parseModelRef('acme/gated-model', {}));
    const e = await cacheErrorOf(anon.open(gatedAnon, gatedAnon.files[0]!, 0));
    expect(e.code).toBe(ErrorCodes.GATED_REPO);
    expect(e.message).toMatch(/HF_TOKEN/);

    const listing = await origin.resolve(parseModelRef('mlx-community/whisper-tiny', {}));
    const missing = { path: 'not-there.bin', size: 1 };
    expect(await codeOf(origin.open(listing, missing, 0))).toBe(ErrorCodes.ENTRY_NOT_FOUND);
  });

  it('5xx and 429 are retryable E_ORIGIN_UNAVAILABLE with Retry-After in ms; a refused connection too', async () => {
    const listing = await origin.resolve(parseModelRef('mlx-community/whisper-tiny', {}));
    const f = listing.files.find((x) => x.path === 'config.json')!;
    hub.faults.add('config.json', { kind: 'rateLimit', retryAfterSec: 3 });
    const e429 = await cacheErrorOf(origin.open(listing, f, 0));
    expect(e429.code).toBe(ErrorCodes.ORIGIN_UNAVAILABLE);
    expect(e429.retryable).toBe(true);
    expect(e429.details?.retryAfterMs).toBe(3000);
    hub.faults.add('config.json', { kind: 'status', status: 503 });
    const e503 = await cacheErrorOf(origin.open(listing, f, 0));
    expect([e503.code, e503.retryable, e503.details?.status]).toEqual([ErrorCodes.ORIGIN_UNAVAILABLE, true, 503]);

    const port = new URL(hub.endpoint).port;
    await hub.close();
    const gone = createHuggingFaceOrigin({ endpoint: `http://127.0.0.1:${port}`, token: TOKEN });
    const eConn = await cacheErrorOf(gone.resolve(parseModelRef('mlx-community/whisper-tiny', {})));
    expect([eConn.code, eConn.retryable]).toEqual([ErrorCodes.ORIGIN_UNAVAILABLE, true]);
    expect(eConn.message).not.toContain(TOKEN);
    hub = await startFakeHub(); // for afterEach
  });

  it('refuses a listing entry that climbs out of the model', async () => {
    hub.publish({ id: 'evil/model', files: [
      { path: 'ok.json', bytes: Buffer.from('{}'), lfs: false },
      { path: '../escape.txt', bytes: Buffer.from('x'), lfs: false },
    ] });
    const err = await cacheErrorOf(origin.resolve(parseModelRef('evil/model', {})));
    expect(err.code).toBe(ErrorCodes.UNSAFE_PATH);
    expect(err.message).toContain('../escape.txt');

    hub.publish({ id: 'evil/abs', files: [{ path: '/etc/passwd', bytes: Buffer.from('x'), lfs: false }] });
    expect(await codeOf(origin.resolve(parseModelRef('evil/abs', {})))).toBe(ErrorCodes.UNSAFE_PATH);
  });

  it('follows a renamed repo (relative 307) and resolves a refs/pr revision', async () => {
    await hub.close();
    hub = await startFakeHub({ repos: [mlxRepo()], renames: { 'old-org/whisper-tiny': 'mlx-community/whisper-tiny' } });
    hub.publish(mlxRepo('mlx-community/whisper-tiny', { seed: 'pr' }), { ref: 'refs/pr/1' });
    const o = createHuggingFaceOrigin({ endpoint: `${hub.endpoint}/`, token: TOKEN });
    const renamed = await o.resolve(parseModelRef('old-org/whisper-tiny', {}));
    expect(renamed.commit).toBe(hub.repos.get('mlx-community/whisper-tiny')!.refs.get('main'));
    const opened = await o.open(renamed, renamed.files.find((f) => f.path === 'config.json')!, 0);
    expect((await readAll(opened.stream)).byteLength).toBe(renamed.files.find((f) => f.path === 'config.json')!.size);
    const pr = await o.resolve(parseModelRef('mlx-community/whisper-tiny@refs/pr/1', {}));
    expect(pr.commit).toBe(hub.repos.get('mlx-community/whisper-tiny')!.refs.get('refs/pr/1'));
    expect(pr.commit).not.toBe(renamed.commit);
    expect(hub.counters.requests('/api/models/mlx-community/whisper-tiny/revision/refs/pr/1')).toBe(1);
  });

  it('the fake Hub answers the raw protocol: siblings, blobs, HEAD on LFS, 416, encoded tree paths', async () => {
    const info = (await (await fetch(`${hub.endpoint}/api/models/${WHISPERKIT_REPO}?blobs=true`)).json()) as {
      sha: string;
      siblings: Array<{ rfilename: string; size: number; lfs?: { sha256: string; pointerSize: number } }>;
    };
    expect(info.siblings).toHaveLength(wk.files.length);
    const bin = info.siblings.find((s) => s.rfilename === 'openai_whisper-tiny/MelSpectrogram.mlmodelc/weights/weight.bin')!;
    expect(bin.size).toBe(354_080);
    expect(bin.lfs?.pointerSize).toBe(125 + String(354_080).length);

    const head = await fetch(`${hub.endpoint}/${WHISPERKIT_REPO}/resolve/main/openai_whisper-tiny/MelSpectrogram.mlmodelc/weights/weight.bin`, {
      method: 'HEAD',
      redirect: 'manual',
    });
    expect(head.status).toBe(302);
    expect(head.headers.get('x-repo-commit')).toBe(info.sha);
    expect(head.headers.get('x-linked-size')).toBe('354080');
    expect(head.headers.get('x-linked-etag')).toBe(`"${bin.lfs!.sha256}"`);
    expect(head.headers.get('location')!.startsWith(hub.cdnEndpoint)).toBe(true);
    const r416 = await fetch(head.headers.get('location')!, { headers: { Range: 'bytes=354080-' } });
    expect(r416.status).toBe(416);
    expect(r416.headers.get('content-range')).toBe('bytes */354080');

    const enc = await fetch(`${hub.endpoint}/api/models/${WHISPERKIT_REPO}/tree/main/openai_whisper-tiny%2FTextDecoder.mlmodelc?recursive=True`);
    const raw = await fetch(`${hub.endpoint}/api/models/${WHISPERKIT_REPO}/tree/main/openai_whisper-tiny/TextDecoder.mlmodelc?recursive=1`);
    const a = (await enc.json()) as unknown[];
    expect(a).toEqual(await raw.json());
    expect(a.length).toBeGreaterThan(0);
    expect(enc.headers.get('link')).toMatch(/rel="next"/);
    expect(enc.headers.get('ratelimit')).toMatch(/^"resolvers";r=\d+;t=\d+$/);
  });

  it('over the resolvers quota: 429 with Retry-After from the RateLimit window; the token never reaches the log', async () => {
    await hub.close();
    hub = await startFakeHub({ repos: [mlxRepo()], rateLimit: { quota: 2, windowSec: 60 } });
    const logged: string[] = [];
    const o = createHuggingFaceOrigin({ endpoint: hub.endpoint, token: TOKEN, logger: { debug: (obj, msg) => logged.push(JSON.stringify({ obj, msg })) } });
    const listing = await o.resolve(parseModelRef('mlx-community/whisper-tiny', {})); // 2 requests: revision + tree
    const err = await cacheErrorOf(o.open(listing, listing.files[0]!, 0));
    expect([err.code, err.retryable]).toEqual([ErrorCodes.ORIGIN_UNAVAILABLE, true]);
    expect(err.details?.retryAfterMs).toBeGreaterThan(0);
    expect(err.details?.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(logged.length).toBeGreaterThanOrEqual(3);
    expect(logged.join('\n')).not.toContain(TOKEN);
  });

  it('parses Link headers', () => {
    const page = new URL('http://h/api/x?cursor=a');
    expect(nextLink('<http://h/api/x?cursor=b>; rel="next"', page)?.href).toBe('http://h/api/x?cursor=b');
    expect(nextLink('<http://h/p>; rel="prev", </api/x?cursor=c>; rel=next', page)?.href).toBe('http://h/api/x?cursor=c');
    expect(nextLink(undefined, page)).toBeNull();
    expect(nextLink('<http://h/p>; rel="prev"', page)).toBeNull();
  });

  it('generated bytes are deterministic, seed-dependent and not periodic', () => {
    const a = generateBytes('s', 300_000);
    expect(a.equals(generateBytes('s', 300_000))).toBe(true);
    expect(a.equals(generateBytes('t', 300_000))).toBe(false);
    expect(a.subarray(0, 65_521).equals(a.subarray(65_521, 131_042))).toBe(false);
    expect(a.some((b) => b !== 0)).toBe(true);
  });
});
