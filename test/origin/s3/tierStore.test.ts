import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../src/errors.js';
import { createTierStore, type TierStore } from '../../../src/origin/s3/tierStore.js';
import { cacheErrorOf } from '../../support/cacheErrorOf.js';
import { s3StoreKinds, useS3Store } from '../../support/s3Env.js';

const MIB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Yields `b` in uneven chunks, as a file stream would. */
const bodyOf = (b: Buffer) => () => Readable.from((function* () {
  for (let at = 0; at < b.length; at += 700_001) yield b.subarray(at, at + 700_001);
})());

for (const kind of s3StoreKinds()) {
  describe(`tierStore against the ${kind} store`, () => {
    const s3 = useS3Store(kind);
    const stores: TierStore[] = [];
    const tier = (o: Parameters<typeof s3.store.origin>[0] = {}, deps: Parameters<typeof createTierStore>[1] = {}) => {
      const t = createTierStore(s3.store.origin(o), deps);
      stores.push(t);
      return t;
    };
    afterAll(() => stores.forEach((t) => t.close()));

    const listKeys = async (): Promise<string[]> => {
      const { sdk, client } = await s3.store.client();
      const r = await client.send(new sdk.ListObjectsV2Command({ Bucket: s3.store.bucket }));
      return (r.Contents ?? []).map((o) => o.Key!).sort();
    };

    it('probe: reachable, conditional PUT detected by trying it, probe object removed', async () => {
      const t = tier({ prefix: 'probe-test' });
      const p = await t.probe();
      expect(p.reachable).toBe(true);
      expect(p.error).toBeUndefined();
      if (kind === 'moto') expect(p.conditionalPut).toBe(true);
      // What the probe found is what the store does: a second conditional PUT over an existing key is refused.
      const { sdk, client } = await s3.store.client();
      await client.send(new sdk.PutObjectCommand({ Bucket: s3.store.bucket, Key: 'cond-check', Body: 'a' }));
      const refused = await client
        .send(new sdk.PutObjectCommand({ Bucket: s3.store.bucket, Key: 'cond-check', Body: 'b', IfNoneMatch: '*' }))
        .then(() => false, (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode === 412);
      expect(p.conditionalPut).toBe(refused);
      await client.send(new sdk.DeleteObjectCommand({ Bucket: s3.store.bucket, Key: 'cond-check' }));
      expect((await listKeys()).filter((k) => k.startsWith('probe-test/'))).toEqual([]);
      expect(await t.probe()).toBe(p);
    });

    it('put, head, read whole and from an offset; a second put is "exists"', async () => {
      const now = Date.parse('2026-11-30T10:00:00.000Z');
      const t = tier({ prefix: 'fleet/a' }, { clock: () => now });
      const data = randomBytes(3 * MIB + 17);
      const h = sha(data);
      expect(await t.headBlob(h)).toBeNull();
      expect(await t.openBlob(h, 0)).toBeNull();
      expect(await t.putBlob(h, data.length, bodyOf(data))).toBe('stored');
      expect(await listKeys()).toContain(`fleet/a/blobs/sha256/${h}`);
      expect(await t.headBlob(h)).toEqual({ size: data.length, lastReadMs: now });
      const whole = await t.openBlob(h, 0);
      expect(whole).not.toBeNull();
      expect(whole!.offset).toBe(0);
      expect(whole!.total).toBe(data.length);
      expect(sha(await readAll(whole!.stream))).toBe(h);
      const tail = await t.openBlob(h, 1_000_000);
      expect(tail!.offset).toBe(1_000_000);
      expect(tail!.total).toBe(data.length);
      expect((await readAll(tail!.stream)).equals(data.subarray(1_000_000))).toBe(true);
      const end = await t.openBlob(h, data.length);
      expect(end!.total).toBe(data.length);
      expect((await readAll(end!.stream)).length).toBe(0);
      let called = 0;
      expect(await t.putBlob(h, data.length, () => (called++, bodyOf(data)()))).toBe('exists');
      if (!(await t.probe()).conditionalPut) expect(called).toBe(0);
    });

    it('bytes that do not hash to the key are never stored (single PUT and multipart)', async () => {
      const t = tier({ prefix: 'poison' }, { multipartThreshold: 5 * MIB, partSize: 5 * MIB });
      const good = randomBytes(2 * MIB);
      const bad = Buffer.from(good);
      bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
      const e1 = await cacheErrorOf(t.putBlob(sha(good), good.length, bodyOf(bad)));
      expect(e1.code).toBe(ErrorCodes.INTEGRITY);
      expect(e1.message).toContain(sha(good));
      expect(await t.headBlob(sha(good))).toBeNull();
      const short = await cacheErrorOf(t.putBlob(sha(good), good.length + 1, bodyOf(good)));
      expect(short.code).not.toBe('ok');
      expect(await t.headBlob(sha(good))).toBeNull();

      const big = randomBytes(11 * MIB);
      const bigBad = Buffer.from(big);
      bigBad[7 * MIB] = bigBad[7 * MIB]! ^ 1;
      const e2 = await cacheErrorOf(t.putBlob(sha(big), big.length, bodyOf(bigBad)));
      expect(e2.code).toBe(ErrorCodes.INTEGRITY);
      expect(await t.headBlob(sha(big))).toBeNull();
      expect((await listKeys()).filter((k) => k.startsWith('poison/'))).toEqual([]);
    });

    it('multipart above the threshold: whole and ranged reads across a part boundary, intact after a touch', async () => {
      let now = Date.parse('2026-02-01T00:00:00.000Z');
      const t = tier({ prefix: 'mp' }, { multipartThreshold: 5 * MIB, partSize: 5 * MIB, clock: () => now });
      const data = randomBytes(11 * MIB + 5);
      const h = sha(data);
      expect(await t.putBlob(h, data.length, bodyOf(data))).toBe('stored');
      expect((await t.headBlob(h))!.size).toBe(data.length);
      expect(sha(await readAll((await t.openBlob(h, 0))!.stream))).toBe(h);
      const at = 5 * MIB - 3;
      const r = await t.openBlob(h, at);
      expect(r!.offset).toBe(at);
      expect((await readAll(r!.stream)).equals(data.subarray(at))).toBe(true);
      // Refreshing last-read copies the object onto itself: a multipart object stays whole.
      now = Date.parse('2026-02-03T00:00:00.000Z');
      await t.touchBlob(h);
      expect(await t.headBlob(h)).toEqual({ size: data.length, lastReadMs: now });
      expect(sha(await readAll((await t.openBlob(h, 0))!.stream))).toBe(h);
      expect((await readAll((await t.openBlob(h, at))!.stream)).equals(data.subarray(at))).toBe(true);
    });

    it('touchBlob refreshes last-read; listBlobs reports blobs only, with size and times', async () => {
      let now = Date.parse('2026-01-01T00:00:00.000Z');
      const t = tier({ prefix: 'list/x' }, { clock: () => now });
      const a = randomBytes(1000);
      const b = randomBytes(2000);
      await t.putBlob(sha(a), a.length, bodyOf(a));
      await t.putBlob(sha(b), b.length, bodyOf(b));
      await t.putAlias(gitSha1(a), sha(a));
      await t.putJson('listings/org/model/abc.json', { files: [] });
      now = Date.parse('2026-03-01T12:00:00.000Z');
      await t.touchBlob(sha(b));
      expect((await t.headBlob(sha(b)))!.lastReadMs).toBe(now);
      expect((await t.headBlob(sha(a)))!.lastReadMs).toBe(Date.parse('2026-01-01T00:00:00.000Z'));
      const got = [];
      for await (const x of t.listBlobs()) got.push(x);
      got.sort((x, y) => x.size - y.size);
      expect(got.map((x) => [x.sha256, x.size, x.lastReadMs])).toEqual([
        [sha(a), 1000, Date.parse('2026-01-01T00:00:00.000Z')],
        [sha(b), 2000, now],
      ]);
      for (const x of got) expect(x.lastModifiedMs).toBeGreaterThan(Date.parse('2020-01-01'));
      // A blob under another prefix is another fleet's.
      const other = tier({ prefix: 'list/y' });
      const seen = [];
      for await (const x of other.listBlobs()) seen.push(x);
      expect(seen).toEqual([]);
    });

    it('aliases and JSON: round trip, absent is null, garbage is null', async () => {
      const t = tier({ prefix: 'meta' });
      const blob = randomBytes(100);
      const g = gitSha1(blob);
      expect(await t.getAlias(g)).toBeNull();
      await t.putAlias(g, sha(blob));
      expect(await t.getAlias(g)).toBe(sha(blob));
      const { sdk, client } = await s3.store.client();
      const g2 = gitSha1(randomBytes(10));
      await client.send(new sdk.PutObjectCommand({ Bucket: s3.store.bucket, Key: `meta/git-sha1/${g2}`, Body: 'not a digest' }));
      expect(await t.getAlias(g2)).toBeNull();
      const listing = { commit: 'a'.repeat(40), files: [{ path: 'x.bin', size: 3 }] };
      await t.putJson(`listings/org/model/${'a'.repeat(40)}.json`, listing);
      expect(await t.getJson(`listings/org/model/${'a'.repeat(40)}.json`)).toEqual(listing);
      expect(await t.has(`listings/org/model/${'a'.repeat(40)}.json`)).toBe(true);
      expect(await t.getJson('refs/org/model/main')).toBeNull();
      expect(await t.has('refs/org/model/main')).toBe(false);
      await client.send(new sdk.PutObjectCommand({ Bucket: s3.store.bucket, Key: 'meta/refs/org/model/main', Body: '{nope' }));
      expect(await t.getJson('refs/org/model/main')).toBeNull();
      expect((await cacheErrorOf(t.getJson('../escape'))).code).toBe(ErrorCodes.BAD_REQUEST);
    });

    it('deleteBlobs deletes in batches (Content-MD5 added for stores that need it) and counts', async () => {
      const t = tier({ prefix: 'del' });
      const blobs = Array.from({ length: 5 }, () => randomBytes(500));
      for (const b of blobs) await t.putBlob(sha(b), b.length, bodyOf(b));
      expect(await t.deleteBlobs(blobs.slice(0, 3).map(sha))).toBe(3);
      for (const [i, b] of blobs.entries()) expect((await t.headBlob(sha(b))) === null).toBe(i < 3);
      expect(await t.deleteBlobs([])).toBe(0);
    });

    it('a read-only tier never writes: puts and deletes refused, touch does nothing, probe writes nothing', async () => {
      const rw = tier({ prefix: 'ro' }, { clock: () => Date.parse('2026-01-01T00:00:00Z') });
      const data = randomBytes(300);
      await rw.putBlob(sha(data), data.length, bodyOf(data));
      const before = await listKeys();
      const ro = tier({ prefix: 'ro', mode: 'read-only' }, { clock: () => Date.parse('2026-06-01T00:00:00Z') });
      const p = await ro.probe();
      expect(p).toEqual({ reachable: true, conditionalPut: false });
      const other = randomBytes(10);
      expect((await cacheErrorOf(ro.putBlob(sha(other), other.length, bodyOf(other)))).code).toBe(ErrorCodes.USAGE);
      expect((await cacheErrorOf(ro.putAlias(gitSha1(other), sha(other)))).code).toBe(ErrorCodes.USAGE);
      expect((await cacheErrorOf(ro.putJson('refs/a/b/main', 'x'))).code).toBe(ErrorCodes.USAGE);
      expect((await cacheErrorOf(ro.deleteBlobs([sha(data)]))).code).toBe(ErrorCodes.USAGE);
      await ro.touchBlob(sha(data));
      expect((await ro.headBlob(sha(data)))!.lastReadMs).toBe(Date.parse('2026-01-01T00:00:00Z'));
      expect(sha(await readAll((await ro.openBlob(sha(data), 0))!.stream))).toBe(sha(data));
      expect(await listKeys()).toEqual(before);
    });

    it('a bucket that does not exist is a final config error naming it', async () => {
      const t = tier({ bucket: `vc-missing-${randomBytes(4).toString('hex')}` });
      const p = await t.probe();
      expect(p.reachable).toBe(false);
      expect(p.error).toContain('does not exist');
      const e = await cacheErrorOf(t.headBlob('0'.repeat(64)).then(() => t.listBlobs()[Symbol.asyncIterator]().next()));
      expect(e.code).toBe(ErrorCodes.CONFIG);
      expect(e.retryable).toBe(false);
      expect(e.message).toContain(t.config.bucket);
    });

    if (kind === 'env') {
      it('a wrong secret key is a final config error about credentials', async () => {
        const t = tier({ secretAccessKey: 'not-the-secret' });
        const e = await cacheErrorOf(t.headBlob('0'.repeat(64)));
        expect(e.code).toBe(ErrorCodes.CONFIG);
        expect(e.retryable).toBe(false);
        expect(e.message).toMatch(/credentials/);
      });
    }
  });
}

describe('tierStore when the store is not there or failing', () => {
  let closedPort = 0;
  let failing: http.Server;
  let failingUrl = '';
  beforeAll(async () => {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    closedPort = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    failing = http.createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0"?><Error><Code>ServiceUnavailable</Code><Message>down</Message></Error>');
    });
    await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
    failingUrl = `http://127.0.0.1:${(failing.address() as net.AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => failing.close(() => r())));

  const cfg = (endpoint: string) => ({
    type: 's3' as const,
    endpoint,
    bucket: 'some-bucket',
    prefix: '',
    region: 'us-east-1',
    accessKeyId: 'k',
    secretAccessKey: 's',
    forcePathStyle: true,
    mode: 'read-write' as const,
    trustMetadata: false,
    uploadQueue: { maxBlobs: 1, maxBytesInFlight: 1 },
  });

  it('connection refused: retryable E_ORIGIN_UNAVAILABLE naming the endpoint; probe says unreachable', async () => {
    const t = createTierStore(cfg(`http://127.0.0.1:${closedPort}`));
    try {
      const e = await cacheErrorOf(t.headBlob('a'.repeat(64)));
      expect(e.code).toBe(ErrorCodes.ORIGIN_UNAVAILABLE);
      expect(e.retryable).toBe(true);
      expect(e.message).toContain(`127.0.0.1:${closedPort}`);
      const p = await t.probe();
      expect(p.reachable).toBe(false);
      expect(p.error).toContain('some-bucket');
    } finally {
      t.close();
    }
  });

  it('5xx: retryable E_ORIGIN_UNAVAILABLE', async () => {
    const t = createTierStore(cfg(failingUrl));
    try {
      const e = await cacheErrorOf(t.openBlob('b'.repeat(64), 0));
      expect(e.code).toBe(ErrorCodes.ORIGIN_UNAVAILABLE);
      expect(e.retryable).toBe(true);
      expect(e.message).toContain('HTTP 503');
    } finally {
      t.close();
    }
  });

  it('bad digests and keys are refused before any request', async () => {
    const t = createTierStore(cfg(`http://127.0.0.1:${closedPort}`));
    expect((await cacheErrorOf(t.headBlob('xyz'))).code).toBe(ErrorCodes.BAD_REQUEST);
    expect((await cacheErrorOf(t.getAlias('nope'))).code).toBe(ErrorCodes.BAD_REQUEST);
    expect((await cacheErrorOf(t.putJson('a//b', 1))).code).toBe(ErrorCodes.BAD_REQUEST);
    t.close();
  });
});
