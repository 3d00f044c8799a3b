import crypto from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeHub } from '../../dev/fixtures/fakeHub.js';
import { waitFor } from './harness.js';
import {
  BIG,
  normalizeEtag,
  published,
  raw,
  startMirror,
  startMirrorHub,
  upstreamFileGets,
  WK,
  type Mirror,
  type RawResponse,
} from './hub-conformance-support.js';

/**
 * Misses through the endpoint: bytes reach the client while the upstream transfer is still running; a
 * corrupted upstream byte never reaches a client as a complete file (the transfer is cut off) and never
 * enters the cache; 8 clients missing one file at once share one upstream download; a file being
 * served is not evicted under its reader; with the origin down, cached files and listings keep their
 * metadata and uncached ones get the Hub's error shape after a bounded number of attempts.
 */

let hub: FakeHub;
let m: Mirror;

beforeAll(async () => {
  hub = await startMirrorHub();
  m = await startMirror(hub);
});

afterAll(async () => {
  await m?.stop();
  await hub?.close();
});

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

describe('a streaming miss', () => {
  it('hands the client its first bytes before the upstream transfer has finished, then the whole verified file', async () => {
    const f = published(hub, BIG, 'stream.bin');
    // The upstream pauses 3 s after its first MiB: the client must see bytes during that pause.
    hub.faults.add('stream.bin', { kind: 'stall', afterBytes: 1 << 20, ms: 3_000 });
    let upstreamDoneAtFirstByte: boolean | null = null;
    const res = await raw(m.url, `/${BIG}/resolve/main/stream.bin`, {
      onChunk: () => {
        if (upstreamDoneAtFirstByte !== null) return;
        const cdn = hub.counters.log.filter((r) => r.server === 'cdn' && r.path.endsWith(f.sha256) && r.method === 'GET');
        upstreamDoneAtFirstByte = cdn.length > 0 && cdn.every((r) => r.status !== 0);
      },
    });
    expect(res.status).toBe(200);
    expect(res.aborted).toBe(false);
    expect(upstreamDoneAtFirstByte, 'the first byte reached the client while the upstream was still sending').toBe(false);
    expect(res.headers['content-length'], 'the size is known up front').toBe(String(f.size));
    expect(sha(res.body)).toBe(f.sha256);
    expect(upstreamFileGets(hub, BIG, 'stream.bin')).toBe(1);
    // It is cached now: a second GET fetches nothing upstream.
    const again = await raw(m.url, `/${BIG}/resolve/main/stream.bin`);
    expect(sha(again.body)).toBe(f.sha256);
    expect(upstreamFileGets(hub, BIG, 'stream.bin')).toBe(1);
  });
});

describe('a corrupted upstream byte', () => {
  for (const file of ['corrupt.bin', 'corrupt.txt']) {
    it(`on a miss of ${file} (${file.endsWith('.bin') ? 'sha256' : 'git SHA-1'}) cuts the client's transfer off and caches nothing`, async () => {
      const f = published(hub, BIG, file);
      // Every attempt the daemon makes gets a flipped byte in the middle.
      hub.faults.add(file, { kind: 'corrupt', times: 50 });
      const bad = await raw(m.url, `/${BIG}/resolve/main/${file}`);
      const complete = (bad.status === 200 && !bad.aborted && bad.body.byteLength === f.size) || (bad.status === 200 && bad.body.equals(f.bytes));
      expect(complete, `status ${bad.status}, aborted ${bad.aborted}, ${bad.body.byteLength}/${f.size} bytes`).toBe(false);
      if (bad.status === 200) {
        expect(bad.aborted, 'a 200 whose bytes failed verification must end with the connection cut, not a clean end').toBe(true);
        expect(bad.body.byteLength).toBeLessThan(f.size);
      }
      // A client that probes after it (a resume, or another reader) is never handed the bad bytes as a whole file.
      const again = await raw(m.url, `/${BIG}/resolve/main/${file}`);
      if (again.status === 200 && !again.aborted) expect(sha(again.body)).toBe(f.sha256);
      // Upstream healthy again: the next request downloads anew (the bad bytes were never cached) and gets the file.
      hub.faults.clear();
      const before = upstreamFileGets(hub, BIG, file);
      const good = await raw(m.url, `/${BIG}/resolve/main/${file}`);
      expect(good.status).toBe(200);
      expect(good.aborted).toBe(false);
      expect(sha(good.body)).toBe(f.sha256);
      expect(upstreamFileGets(hub, BIG, file), 'fetched again: the corrupted copy was never admitted').toBeGreaterThan(before);
    });
  }
});

describe('8 clients missing one file at once', () => {
  for (const [i, stall] of [[1, true], [2, false], [3, true]] as const) {
    it(`share one upstream download (round ${i}${stall ? ', upstream pausing mid-file' : ''})`, async () => {
      const file = `crowd-${i}.bin`;
      const f = published(hub, BIG, file);
      if (stall) hub.faults.add(file, { kind: 'stall', afterBytes: 256 * 1024, ms: 1_500 });
      const before = upstreamFileGets(hub, BIG, file);
      expect(before).toBe(0);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, k) =>
          raw(m.url, `/${BIG}/resolve/main/${file}`, { headers: { 'User-Agent': `crowd-client-${k}` } }),
        ),
      );
      for (const [k, r] of results.entries()) {
        expect(r.status, `client ${k}`).toBe(200);
        expect(r.aborted, `client ${k}`).toBe(false);
        expect(sha(r.body), `client ${k}`).toBe(f.sha256);
        expect(normalizeEtag(r.headers['x-linked-etag']), `client ${k}`).toBe(f.sha256);
      }
      const seen = hub.counters.log.filter((r) => r.server === 'cdn' && r.path.endsWith(f.sha256)).map((r) => `${r.method} range=${r.range} status=${r.status}`);
      expect(upstreamFileGets(hub, BIG, file), `one upstream download for 8 concurrent readers; the CDN saw: ${seen.join(', ')}`).toBe(1);
    });
  }
});

describe('a file being served', () => {
  it('is leased while its response is in flight (clean skips it) and the reader gets every byte', async () => {
    const f = published(hub, BIG, 'lease.bin');
    const first = await raw(m.url, `/${BIG}/resolve/main/lease.bin`);
    expect(sha(first.body)).toBe(f.sha256);
    // A hit read by a reader that takes 64 KiB and then stops reading: the response cannot finish (the file
    // is far larger than the socket buffers), so the daemon is still serving it.
    const u = new URL(m.url);
    let leasesDuring: Array<{ model: string; name?: string }> = [];
    let cleanDuring = '';
    const got = await new Promise<RawResponse>((resolve, reject) => {
      const req = http.get({ host: u.hostname, port: Number(u.port), path: `/${BIG}/resolve/main/lease.bin`, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let paused = false;
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          if (paused) return;
          paused = true;
          res.pause();
          void (async () => {
            try {
              const l = await m.sb.cli(['--json', 'leases']);
              leasesDuring = l.json<{ leases: Array<{ model: string; name?: string }> }>().leases;
              cleanDuring = (await m.sb.cli(['--json', 'clean', '--all'])).stdout;
            } finally {
              res.resume();
            }
          })();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks), aborted: !res.complete }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    expect(got.status).toBe(200);
    expect(got.aborted).toBe(false);
    expect(sha(got.body), 'the reader got the whole file').toBe(f.sha256);
    expect(
      leasesDuring.filter((l) => `${l.model} ${l.name ?? ''}`.includes(BIG)),
      `a lease on the file being served (leases: ${JSON.stringify(leasesDuring)})`,
    ).not.toEqual([]);
    expect(cleanDuring, 'clean --all named the model it skipped because it is in use').toContain(BIG);
  });
});

describe('origin trouble', () => {
  it('an origin answering 503 gets the Hub error shape after a bounded number of attempts', async () => {
    const file = 'openai_whisper-base/TextDecoder.mlmodelc/model.mil';
    hub.faults.add(file, { kind: 'status', status: 503, times: 1_000 });
    hub.counters.reset();
    const res = await raw(m.url, `/${WK}/resolve/main/${file}`);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(String(res.headers['x-error-message'] ?? ''), 'X-Error-Message').not.toBe('');
    expect(typeof (JSON.parse(res.body.toString('utf8')) as { error?: unknown }).error).toBe('string');
    const attempts = hub.counters.log.filter((r) => r.server === 'hub' && r.path.startsWith(`/${WK}/resolve/`) && r.path.endsWith(`/${file}`)).length;
    // The sandbox config allows 2 retries; a few more probes (HEAD and GET) are fine, a retry loop is not.
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(6);
    hub.faults.clear();
  });

  it('with the origin gone, cached files and listings keep their full metadata and uncached files get the Hub error shape', async () => {
    const own = await startMirrorHub();
    const mm = await startMirror(own);
    try {
      const cached = 'openai_whisper-tiny/config.json';
      const cachedLfs = 'openai_whisper-tiny/MelSpectrogram.mlmodelc/coremldata.bin';
      const f = published(own, WK, cached);
      const g = published(own, WK, cachedLfs);
      const tree = await raw(mm.url, `/api/models/${WK}/tree/main/openai_whisper-tiny?recursive=true`);
      expect(tree.status).toBe(200);
      const info = await raw(mm.url, `/api/models/${WK}/revision/main`);
      expect(info.status).toBe(200);
      for (const p of [cached, cachedLfs]) expect((await raw(mm.url, `/${WK}/resolve/main/${p}`)).status).toBe(200);
      await own.close();
      await waitFor(async () => (await fetch(own.endpoint).then(() => false, () => true)), 10_000, 'the fake Hub to stop');

      for (const [p, pub] of [[cached, f], [cachedLfs, g]] as const) {
        const head = await raw(mm.url, `/${WK}/resolve/main/${p}`, { method: 'HEAD' });
        expect(head.status, `HEAD ${p} with the origin down`).toBe(200);
        expect(head.headers['x-repo-commit']).toBe(pub.commit);
        expect(normalizeEtag(head.headers['x-linked-etag'] ?? head.headers.etag)).toBe(pub.etag);
        expect(head.headers['content-length']).toBe(String(pub.size));
        const get = await raw(mm.url, `/${WK}/resolve/main/${p}`);
        expect(get.status).toBe(200);
        expect(get.body.equals(pub.bytes)).toBe(true);
      }
      const info2 = await raw(mm.url, `/api/models/${WK}/revision/main`);
      expect(info2.status, 'the listing is remembered').toBe(200);
      expect(JSON.parse(info2.body.toString('utf8'))).toEqual(JSON.parse(info.body.toString('utf8')));
      const tree2 = await raw(mm.url, `/api/models/${WK}/tree/main/openai_whisper-tiny?recursive=true`);
      expect(tree2.status).toBe(200);
      expect(JSON.parse(tree2.body.toString('utf8'))).toEqual(JSON.parse(tree.body.toString('utf8')));

      const cold = await raw(mm.url, `/${WK}/resolve/main/openai_whisper-base/config.json`);
      expect(cold.status, cold.body.toString('utf8')).toBeGreaterThanOrEqual(400);
      expect(String(cold.headers['x-error-message'] ?? '')).not.toBe('');
      expect(typeof (JSON.parse(cold.body.toString('utf8')) as { error?: unknown }).error).toBe('string');
    } finally {
      await mm.stop();
      await own.close().catch(() => undefined);
    }
  });
});
