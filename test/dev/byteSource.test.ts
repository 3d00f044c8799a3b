import crypto from 'node:crypto';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { bufferSource, digestSource, generatedSource, gitSha1OfSource, sha256OfSource } from '../../dev/fixtures/byteSource.js';
import { startFakeHub, type FakeHub } from '../../dev/fixtures/fakeHub.js';
import { commitOf, generateBytes, gitBlobSha1, type RepoSpec } from '../../dev/fixtures/generate.js';

/** The block-repeat generator as it was first written (whole buffer in memory): the reference for the source. */
function referenceBytes(seed: string, size: number): Buffer {
  const block = Buffer.allocUnsafe(Math.min(65_521, Math.max(size, 1)));
  for (let off = 0, i = 0; off < block.length; off += 32, i++) {
    const h = crypto.createHash('sha256').update(`${seed}\0${i}`).digest();
    h.copy(block, off, 0, Math.min(32, block.length - off));
  }
  const out = Buffer.allocUnsafe(size);
  for (let off = 0, n = 0; off < size; off += block.length, n++) {
    const len = Math.min(block.length, size - off);
    block.copy(out, off, 0, len);
    if (len >= 4) out.writeUInt32BE((out.readUInt32BE(off) ^ n) >>> 0, off);
  }
  return out;
}

/** GET on loopback, following one redirect; the whole body. */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        if (res.statusCode === 302 && res.headers.location) {
          res.resume();
          resolve(get(res.headers.location, headers));
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

describe('generatedSource', () => {
  it('gives the bytes of generateBytes, for sizes around the block length and the 4-byte stamp', () => {
    for (const size of [0, 1, 3, 4, 5, 65_520, 65_521, 65_522, 65_524, 65_525, 3 * 65_521 + 2, 300_000]) {
      const ref = referenceBytes(`s${size}`, size);
      expect(generatedSource(`s${size}`, size).read(0, size).equals(ref)).toBe(true);
      expect(generateBytes(`s${size}`, size).equals(ref)).toBe(true);
    }
  });

  it('any range agrees with the whole, including ranges that split a stamp or cross blocks', () => {
    const size = 5 * 65_521 + 3;
    const whole = referenceBytes('ranges', size);
    const src = generatedSource('ranges', size);
    const rnd = (n: number) => Math.floor(Math.random() * n);
    const edges = [0, 1, 2, 3, 4, 65_520, 65_521, 65_522, 65_523, 65_525, 2 * 65_521 + 1, size - 3, size - 1, size];
    for (const a of edges) for (const b of edges) if (a <= b) expect(src.read(a, b).equals(whole.subarray(a, b))).toBe(true);
    for (let i = 0; i < 200; i++) {
      const a = rnd(size + 1);
      const b = a + rnd(size + 1 - a);
      expect(src.read(a, b).equals(whole.subarray(a, b))).toBe(true);
    }
  });

  it('refuses ranges outside the content and invalid sizes', () => {
    const src = generatedSource('x', 10);
    expect(() => src.read(-1, 2)).toThrow(RangeError);
    expect(() => src.read(0, 11)).toThrow(/outside \[0, 10\)/);
    expect(() => src.read(5, 4)).toThrow(RangeError);
    expect(() => generatedSource('x', -1)).toThrow(/invalid size/);
  });

  it('digestSource gives the sha256 and git blob SHA-1 of the content', () => {
    const size = 9 << 20;
    const bytes = referenceBytes('digest', size);
    expect(digestSource(generatedSource('digest', size))).toEqual({
      sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
      gitSha1: gitBlobSha1(bytes),
    });
    expect(sha256OfSource(generatedSource('digest', size))).toBe(crypto.createHash('sha256').update(bytes).digest('hex'));
    expect(gitSha1OfSource(generatedSource('digest', size))).toBe(gitBlobSha1(bytes));
    expect(digestSource(bufferSource(Buffer.from('abc'))).sha256).toBe(crypto.createHash('sha256').update('abc').digest('hex'));
  });
});

describe('fake Hub with a sourced file', () => {
  let hub: FakeHub | null = null;
  afterEach(async () => {
    await hub?.close();
    hub = null;
  });

  const size = 3 * 65_521 + 1000;
  const inMemory: RepoSpec = {
    id: 'org/sourced',
    files: [
      { path: 'config.json', bytes: Buffer.from('{}'), lfs: false },
      { path: 'weights.bin', bytes: referenceBytes('w', size), lfs: true },
    ],
  };

  it('lists, redirects and serves it exactly like the same bytes held in memory (same commit, digests, ranges, faults)', async () => {
    const sourced = { id: inMemory.id, files: [inMemory.files[0]!, { path: 'weights.bin', source: generatedSource('w', size), lfs: true }] };
    hub = await startFakeHub({ repos: [sourced] });
    const repo = hub.repos.get('org/sourced')!;
    const commit = repo.refs.get('main')!;
    expect(commit).toBe(commitOf(inMemory.files));
    const f = repo.commits.get(commit)!.get('weights.bin')!;
    expect(f.size).toBe(size);
    expect(f.sha256).toBe(crypto.createHash('sha256').update(inMemory.files[1]!.bytes).digest('hex'));
    expect(f.bytes.equals(inMemory.files[1]!.bytes)).toBe(true);
    expect(f.gitSha1).toBe(gitBlobSha1(inMemory.files[1]!.bytes));

    const url = `${hub.endpoint}/org/sourced/resolve/main/weights.bin`;
    const whole = await get(url);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(inMemory.files[1]!.bytes)).toBe(true);
    const part = await get(url, { Range: 'bytes=65519-' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 65519-${size - 1}/${size}`);
    expect(part.body.equals(inMemory.files[1]!.bytes.subarray(65_519))).toBe(true);

    hub.faults.add('weights.bin', { kind: 'corrupt' });
    const bad = await get(url);
    expect(bad.body.length).toBe(size);
    const diff = [...bad.body].flatMap((b, i) => (b !== inMemory.files[1]!.bytes[i] ? [i] : []));
    expect(diff).toEqual([Math.floor(size / 2)]);
    // The corruption touched a copy: the next answer is right again.
    expect((await get(url)).body.equals(inMemory.files[1]!.bytes)).toBe(true);

    hub.faults.add('weights.bin', { kind: 'short', missingBytes: 10 });
    expect((await get(url)).body.equals(inMemory.files[1]!.bytes.subarray(0, size - 10))).toBe(true);
  });
});
