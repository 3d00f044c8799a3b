import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeHub } from '../../dev/fixtures/fakeHub.js';
import { makeSandbox } from './harness.js';
import { parsePrometheus } from '../accounting/parsePrometheus.js';
import {
  hex40,
  MANY,
  MLX,
  normalizeEtag,
  published,
  raw,
  runStart,
  startMirror,
  startMirrorHub,
  stats,
  TOKENIZER,
  WK,
  xetAdvertisements,
  type Mirror,
  type RawResponse,
} from './hub-conformance-support.js';

/**
 * Conformance of the Hub-compatible endpoint with what the Hub's clients read, per the Hub protocol
 * and the clients' own code: huggingface_hub (Python) on HEAD (`X-Repo-Commit`, `X-Linked-Etag`/`ETag`,
 * `X-Linked-Size`/`Content-Length`), swift-transformers and WhisperKit (the same, commit as 40 hex),
 * huggingface.js (a `Range: bytes=0-0` GET answered 206 with `Content-Range`), on misses and hits; the
 * error headers and bodies; Range, 206 and 416; the listings with `Link` pagination on our own host; Xet
 * advertisements stripped; run and client labels in the accounting. Plain `node:http` against a daemon
 * child process whose upstream is the fake Hub. The tests share one daemon and run in order.
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

const TINY_CONFIG = 'openai_whisper-tiny/config.json'; // regular (git) file
const TINY_MEL = 'openai_whisper-tiny/MelSpectrogram.mlmodelc/weights/weight.bin'; // LFS file
const anon = { 'User-Agent': 'conformance-test' };

/** The headers every client reads from a resolve answer for `file`, checked against what the Hub published. */
function expectFileHeaders(res: RawResponse, f: ReturnType<typeof published>, what: string): void {
  const h = res.headers;
  expect(h['x-repo-commit'], `${what}: X-Repo-Commit`).toBe(f.commit);
  expect(String(h['x-repo-commit']), `${what}: swift requires 40 hex`).toMatch(hex40);
  // Python and swift read X-Linked-Etag first, then ETag; huggingface.js X-Linked-ETag then ETag.
  const etag = h['x-linked-etag'] ?? h.etag;
  expect(normalizeEtag(etag), `${what}: the etag clients name their blob by`).toBe(f.etag);
  if (f.lfs) {
    expect(h['x-linked-etag'], `${what}: LFS X-Linked-Etag byte-identical to the Hub's`).toBe(`"${f.sha256}"`);
    expect(h['x-linked-size'], `${what}: X-Linked-Size`).toBe(String(f.size));
  } else {
    expect(h.etag, `${what}: ETag byte-identical to the Hub's (git blob SHA-1, quoted)`).toBe(`"${f.gitSha1}"`);
    if (h['x-linked-etag'] !== undefined) expect(h['x-linked-etag']).toBe(`"${f.gitSha1}"`);
    if (h['x-linked-size'] !== undefined) expect(h['x-linked-size']).toBe(String(f.size));
  }
  expect(h['accept-ranges'], `${what}: Accept-Ranges`).toBe('bytes');
  expect(xetAdvertisements(res), `${what}: Xet advertisements`).toEqual([]);
  // Served here, not redirected: no Location, and no header that names the upstream hosts.
  expect(h.location, `${what}: Location`).toBeUndefined();
  const upstreamHosts = [new URL(hub.endpoint).host, new URL(hub.cdnEndpoint).host];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    for (const host of upstreamHosts) expect(res.rawHeaders[i + 1], `${what}: header ${res.rawHeaders[i]}`).not.toContain(host);
  }
}

function expectHubError(res: RawResponse, status: number, code: string | null, what: string, method = 'GET'): void {
  expect(res.status, `${what}: status (body ${res.body.toString('utf8').slice(0, 300)})`).toBe(status);
  if (code) expect(res.headers['x-error-code'], `${what}: X-Error-Code`).toBe(code);
  expect(String(res.headers['x-error-message'] ?? ''), `${what}: X-Error-Message`).not.toBe('');
  if (method === 'GET' || method === 'POST') {
    expect(String(res.headers['content-type']), `${what}: JSON error body`).toMatch(/application\/json/);
    const body = JSON.parse(res.body.toString('utf8')) as { error?: unknown };
    expect(typeof body.error, `${what}: {"error": …}`).toBe('string');
  } else {
    expect(res.body.byteLength, `${what}: HEAD has no body`).toBe(0);
  }
}

describe('the endpoint itself', () => {
  it('daemon status --json reports hubUrl and hubSecretFile', async () => {
    const st = await m.sb.cli(['--json', 'daemon', 'status']);
    const d = st.json<Record<string, unknown>>();
    expect(d.hubUrl, st.stdout).toBe(m.url);
    expect(d.hubSecretFile, st.stdout).toBe(m.secretFile);
  });

  it('is off without hubMirror in the config: status reports hubUrl null', async () => {
    const sb = makeSandbox({ endpoint: hub.endpoint, models: {} });
    try {
      expect((await sb.cli(['daemon', 'start'])).code).toBe(0);
      const full = (await sb.cli(['--json', 'status'])).json<Record<string, unknown>>();
      expect('hubUrl' in full ? full.hubUrl : (full.daemon as Record<string, unknown>)?.hubUrl).toBeNull();
    } finally {
      await sb.cleanup();
    }
  });

  it('listens on 127.0.0.1 only and writes its secret to a 0600 file', async () => {
    expect(m.secret.length).toBeGreaterThanOrEqual(32);
    expect(fs.statSync(m.secretFile).mode & 0o777).toBe(0o600);
    // huggingface.js refuses an access token that does not start with `hf_` (checkCredentials), and the
    // secret is what clients pass as their HF_TOKEN.
    expect(m.secret.startsWith('hf_'), 'the secret must start with hf_ for huggingface.js to accept it').toBe(true);
    const port = Number(new URL(m.url).port);
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (external) {
      const refused = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, external.address);
        s.once('connect', () => {
          s.destroy();
          resolve(false);
        });
        s.once('error', () => resolve(true));
      });
      expect(refused, `port ${port} must not answer on ${external.address}`).toBe(true);
    }
  });
});

describe('repository info: GET /api/models/{repo}[/revision/{rev}]', () => {
  it('answers id, sha and every file in siblings, for no revision, main, HEAD and the commit', async () => {
    const commit = hub.repos.get(WK)!.refs.get('main')!;
    const files = [...hub.repos.get(WK)!.commits.get(commit)!.keys()].sort();
    for (const p of [`/api/models/${WK}`, `/api/models/${WK}/revision/main`, `/api/models/${WK}/revision/HEAD`, `/api/models/${WK}/revision/${commit}`]) {
      const res = await raw(m.url, p, { headers: anon });
      expect(res.status, `${p}: ${res.body.toString('utf8').slice(0, 300)}`).toBe(200);
      const info = JSON.parse(res.body.toString('utf8')) as { id: string; sha: string; siblings: Array<{ rfilename: string }> };
      expect(info.id, p).toBe(WK);
      expect(info.sha, p).toBe(commit);
      expect(info.siblings.map((s) => s.rfilename).sort(), p).toEqual(files);
    }
  });

  it('takes a revision percent-encoded as one component (refs%2Fpr%2F1)', async () => {
    const spec = { id: MLX, files: [{ path: 'config.json', bytes: Buffer.from('{"pr": 1}'), lfs: false }] };
    const prCommit = hub.publish(spec, { ref: 'refs/pr/1' });
    const res = await raw(m.url, `/api/models/${MLX}/revision/refs%2Fpr%2F1`, { headers: anon });
    expect(res.status, res.body.toString('utf8')).toBe(200);
    expect((JSON.parse(res.body.toString('utf8')) as { sha: string }).sha).toBe(prCommit);
    const file = await raw(m.url, `/${MLX}/resolve/refs%2Fpr%2F1/config.json`, { headers: anon });
    expect(file.status).toBe(200);
    expect(file.body.toString('utf8')).toBe('{"pr": 1}');
    expect(file.headers['x-repo-commit']).toBe(prCommit);
  });

  it('with ?blobs=true gives each sibling its size (and lfs sha256 for LFS files)', async () => {
    const res = await raw(m.url, `/api/models/${WK}/revision/main?blobs=true`, { headers: anon });
    expect(res.status).toBe(200);
    const info = JSON.parse(res.body.toString('utf8')) as { siblings: Array<{ rfilename: string; size?: number; lfs?: { sha256: string } }> };
    for (const s of info.siblings) {
      const f = published(hub, WK, s.rfilename);
      expect(s.size, s.rfilename).toBe(f.size);
      if (f.lfs) expect(s.lfs?.sha256, s.rfilename).toBe(f.sha256);
    }
  });

  it('answers the Hub error shapes for an unknown revision and an unknown repository', async () => {
    expectHubError(await raw(m.url, `/api/models/${WK}/revision/no-such-branch`, { headers: anon }), 404, 'RevisionNotFound', 'unknown revision');
    // The Hub answers 401 to a request without a token, 404 with one (it does not tell private from missing).
    expectHubError(await raw(m.url, '/api/models/nobody/no-such-repo', { headers: anon }), 401, 'RepoNotFound', 'unknown repo, anonymous');
    expectHubError(
      await raw(m.url, '/api/models/nobody/no-such-repo', { headers: { ...anon, Authorization: `Bearer ${m.secret}` } }),
      404,
      'RepoNotFound',
      'unknown repo, with the secret',
    );
  });
});

describe('tree listing: GET /api/models/{repo}/tree/{rev}[/{path}]', () => {
  type Entry = { type: string; path: string; oid: string; size: number; lfs?: { oid: string; size: number; pointerSize: number }; xetHash?: string };

  async function listAll(base: string, first: string, headers: Record<string, string> = anon): Promise<{ entries: Entry[]; links: string[] }> {
    const entries: Entry[] = [];
    const links: string[] = [];
    let next: string | null = first;
    for (let page = 0; next && page < 100; page++) {
      const u: URL = new URL(next, base);
      const res = await raw(`${u.protocol}//${u.host}`, `${u.pathname}${u.search}`, { headers });
      expect(res.status, `${next}: ${res.body.toString('utf8').slice(0, 300)}`).toBe(200);
      entries.push(...(JSON.parse(res.body.toString('utf8')) as Entry[]));
      const link = res.headers.link;
      next = null;
      if (typeof link === 'string') {
        links.push(link);
        next = /<([^>]+)>;\s*rel="next"/.exec(link)?.[1] ?? null;
      }
    }
    return { entries, links };
  }

  it('lists recursively over several pages whose Link points at the endpoint, equal to the Hub minus xetHash', async () => {
    const upstream = await listAll(hub.endpoint, `/api/models/${WK}/tree/main?recursive=true&expand=false`);
    expect(upstream.links.length, 'the fake Hub paginates (50 per page)').toBeGreaterThan(0);
    expect(upstream.entries.some((e) => e.xetHash), 'the fake Hub advertises Xet').toBe(true);
    const ours = await listAll(m.url, `${m.url}/api/models/${WK}/tree/main?recursive=true&expand=false`);
    expect(ours.entries.length).toBe(upstream.entries.length);
    for (const link of ours.links) {
      expect(link, 'Link rewritten to our own host').toContain(`<${m.url}/`);
      expect(link).not.toContain(hub.endpoint);
    }
    expect(ours.entries.filter((e) => 'xetHash' in e), 'xetHash stripped').toEqual([]);
    const strip = (e: Entry) => ({ type: e.type, path: e.path, size: e.size, ...(e.type === 'file' ? { oid: e.oid } : {}), ...(e.lfs ? { lfs: e.lfs } : {}) });
    expect(ours.entries.map(strip).sort((a, b) => a.path.localeCompare(b.path))).toEqual(
      upstream.entries.map(strip).sort((a, b) => a.path.localeCompare(b.path)),
    );
  });

  it('paginates a listing of more than 1000 entries with Link on its own host, the /run/<id> prefix kept', async () => {
    const upstream = await listAll(hub.endpoint, `/api/models/${MANY}/tree/main?recursive=true&expand=false`);
    expect(upstream.entries.length).toBe(1_053); // 1050 files and 3 folders
    const run = await runStart(m.sb, 'pages');
    for (const base of [m.url, `${m.url}/run/${run}`]) {
      const ours = await listAll(base, `${base}/api/models/${MANY}/tree/main?recursive=true&expand=false`);
      expect(ours.links.length, `${base}: more than one page`).toBeGreaterThan(0);
      for (const link of ours.links) {
        expect(link, 'Link on our own host, with the prefix the client used').toContain(`<${base}/api/models/${MANY}/tree/`);
        expect(link).not.toContain(hub.endpoint);
      }
      expect(ours.entries.map((e) => e.path).sort()).toEqual(upstream.entries.map((e) => e.path).sort());
    }
  });

  it('lists a folder given with / raw (huggingface.js) or encoded as %2F (Python), recursive as true, 1 or True', async () => {
    const folder = 'openai_whisper-tiny/AudioEncoder.mlmodelc';
    const want = (await listAll(hub.endpoint, `/api/models/${WK}/tree/main/${folder}?recursive=true`)).entries.map((e) => e.path).sort();
    expect(want.length).toBeGreaterThan(3);
    for (const q of [
      `/api/models/${WK}/tree/main/${folder}?recursive=true&expand=false`,
      `/api/models/${WK}/tree/main/${encodeURIComponent(folder)}?recursive=1`,
      `/api/models/${WK}/tree/main/${encodeURIComponent(folder)}?recursive=True&expand=False`,
    ]) {
      const got = (await listAll(m.url, q)).entries.map((e) => e.path).sort();
      expect(got, q).toEqual(want);
    }
    const top = (await listAll(m.url, `/api/models/${WK}/tree/main`)).entries;
    expect(top.map((e) => e.path).sort()).toEqual(['.gitattributes', 'README.md', 'config.json', 'openai_whisper-base', 'openai_whisper-tiny']);
  });

  it('answers EntryNotFound for an unknown folder and RevisionNotFound for an unknown revision', async () => {
    expectHubError(await raw(m.url, `/api/models/${WK}/tree/main/no-such-folder`, { headers: anon }), 404, 'EntryNotFound', 'unknown folder');
    expectHubError(await raw(m.url, `/api/models/${WK}/tree/no-such-rev`, { headers: anon }), 404, 'RevisionNotFound', 'unknown revision');
  });
});

describe('paths-info: POST /api/models/{repo}/paths-info/{rev}', () => {
  it('answers a JSON body (huggingface.js) with oid, lfs, lastCommit and no xetHash', async () => {
    const paths = [TINY_CONFIG, TINY_MEL, 'openai_whisper-tiny/AudioEncoder.mlmodelc', 'no/such/file'];
    const res = await raw(m.url, `/api/models/${WK}/paths-info/main`, {
      method: 'POST',
      headers: { ...anon, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ paths, expand: true }),
    });
    expect(res.status, res.body.toString('utf8')).toBe(200);
    const entries = JSON.parse(res.body.toString('utf8')) as Array<{ path: string; type: string; oid: string; size: number; lfs?: { oid: string }; xetHash?: string; lastCommit?: { id: string } }>;
    const byPath = new Map(entries.map((e) => [e.path, e]));
    const cfg = published(hub, WK, TINY_CONFIG);
    const mel = published(hub, WK, TINY_MEL);
    expect(byPath.get(TINY_CONFIG)).toMatchObject({ type: 'file', oid: cfg.gitSha1, size: cfg.size });
    expect(byPath.get(TINY_CONFIG)?.lfs).toBeUndefined();
    expect(byPath.get(TINY_MEL)).toMatchObject({ type: 'file', size: mel.size, lfs: { oid: mel.sha256, size: mel.size } });
    expect(byPath.get(TINY_CONFIG)?.lastCommit?.id).toBe(cfg.commit);
    expect(byPath.get('openai_whisper-tiny/AudioEncoder.mlmodelc')?.type).toBe('directory');
    expect(byPath.has('no/such/file')).toBe(false);
    expect(entries.filter((e) => 'xetHash' in e)).toEqual([]);
  });

  it('answers the form-encoded body huggingface_hub sends', async () => {
    const res = await raw(m.url, `/api/models/${WK}/paths-info/main`, {
      method: 'POST',
      headers: { 'User-Agent': 'huggingface_hub/1.28.0; python/3.12.4', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams([['paths', TINY_CONFIG], ['paths', TINY_MEL], ['expand', 'True']]).toString(),
    });
    expect(res.status, res.body.toString('utf8')).toBe(200);
    const entries = JSON.parse(res.body.toString('utf8')) as Array<{ path: string }>;
    expect(entries.map((e) => e.path).sort()).toEqual([TINY_MEL, TINY_CONFIG].sort());
  });
});

describe('resolve: HEAD and GET /{repo}/resolve/{rev}/{path}', () => {
  for (const [kind, file] of [['regular', TINY_CONFIG], ['LFS', TINY_MEL]] as const) {
    it(`HEAD then GET of a ${kind} file, miss and hit: 200 with every header the clients read`, async () => {
      const f = published(hub, WK, file);
      const url = `/${WK}/resolve/main/${file}`;
      const pyHead = { 'User-Agent': 'huggingface_hub/1.28.0; python/3.12.4' };
      const head1 = await raw(m.url, url, { method: 'HEAD', headers: pyHead });
      expect(head1.status, 'HEAD answers 200 itself (Python follows only relative redirects on HEAD)').toBe(200);
      expectFileHeaders(head1, f, 'HEAD, cold');
      expect(head1.headers['content-length'], 'HEAD Content-Length is the file size').toBe(String(f.size));
      expect(head1.body.byteLength).toBe(0);

      const get1 = await raw(m.url, url, { headers: pyHead });
      expect(get1.status).toBe(200);
      expectFileHeaders(get1, f, 'GET');
      expect(get1.aborted).toBe(false);
      expect(get1.headers['content-length']).toBe(String(f.size));
      expect(get1.body.equals(f.bytes), 'GET body is the file').toBe(true);

      const before = hub.counters.log.length;
      const head2 = await raw(m.url, url, { method: 'HEAD', headers: { 'User-Agent': 'swift-transformers/1.1.6' } });
      const get2 = await raw(m.url, url, { headers: { 'User-Agent': 'swift-transformers/1.1.6' } });
      expectFileHeaders(head2, f, 'HEAD, hit');
      expectFileHeaders(get2, f, 'GET, hit');
      expect(get2.body.equals(f.bytes)).toBe(true);
      const upstream = hub.counters.log.slice(before).filter((r) => r.method === 'GET' && (r.server === 'cdn' || r.path.startsWith('/api/resolve-cache/')));
      expect(upstream, 'a hit fetches no bytes upstream').toEqual([]);
    });
  }

  it('a cold file probed with Range: bytes=0-0 (huggingface.js) answers 206 with Content-Range and the etag', async () => {
    const file = 'openai_whisper-tiny/TextDecoder.mlmodelc/weights/weight.bin';
    const f = published(hub, WK, file);
    const probe = await raw(m.url, `/${WK}/resolve/main/${file}`, {
      headers: { Range: 'bytes=0-0', Accept: 'application/vnd.xet-fileinfo+json, */*' },
    });
    expect(probe.status).toBe(206);
    expect(probe.headers['content-range']).toBe(`bytes 0-0/${f.size}`);
    expect(probe.headers['content-length']).toBe('1');
    expect(probe.body.equals(f.bytes.subarray(0, 1))).toBe(true);
    expectFileHeaders(probe, f, 'range probe');
    // And again now that it may be cached.
    const again = await raw(m.url, `/${WK}/resolve/main/${file}`, { headers: { Range: 'bytes=0-0' } });
    expect(again.status).toBe(206);
    expect(again.headers['content-range']).toBe(`bytes 0-0/${f.size}`);
  });

  it('GET with Range bytes=N- and bytes=a-b answers 206 with the slice; past the end 416 with bytes */size', async () => {
    const file = 'openai_whisper-tiny/AudioEncoder.mlmodelc/weights/weight.bin';
    const f = published(hub, WK, file);
    const url = `/${WK}/resolve/main/${file}`;
    for (const round of ['cold', 'warm']) {
      const n = Math.floor(f.size / 3);
      const tail = await raw(m.url, url, { headers: { Range: `bytes=${n}-` } });
      expect(tail.status, round).toBe(206);
      expect(tail.headers['content-range'], round).toBe(`bytes ${n}-${f.size - 1}/${f.size}`);
      expect(tail.headers['content-length'], round).toBe(String(f.size - n));
      expect(tail.body.equals(f.bytes.subarray(n)), round).toBe(true);
      const mid = await raw(m.url, url, { headers: { Range: 'bytes=100-1099' } });
      expect(mid.status, round).toBe(206);
      expect(mid.headers['content-range'], round).toBe(`bytes 100-1099/${f.size}`);
      expect(mid.body.equals(f.bytes.subarray(100, 1100)), round).toBe(true);
      const past = await raw(m.url, url, { headers: { Range: `bytes=${f.size}-` } });
      expect(past.status, round).toBe(416);
      expect(past.headers['content-range'], round).toBe(`bytes */${f.size}`);
    }
  });

  it('resolves by commit as well as by branch, with the same headers', async () => {
    const f = published(hub, WK, 'openai_whisper-tiny/generation_config.json');
    const res = await raw(m.url, `/${WK}/resolve/${f.commit}/openai_whisper-tiny/generation_config.json`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expectFileHeaders(res, f, 'by commit');
  });

  it('answers EntryNotFound (with X-Repo-Commit), RevisionNotFound and RepoNotFound in the Hub shape, on GET and HEAD', async () => {
    const commit = hub.repos.get(WK)!.refs.get('main')!;
    for (const method of ['GET', 'HEAD']) {
      const missing = await raw(m.url, `/${WK}/resolve/main/openai_whisper-tiny/no-such-file.json`, { method, headers: anon });
      expectHubError(missing, 404, 'EntryNotFound', `${method} missing file`, method);
      expect(missing.headers['x-repo-commit'], 'EntryNotFound carries X-Repo-Commit (Python caches .no_exist/<commit>)').toBe(commit);
      expectHubError(await raw(m.url, `/${WK}/resolve/no-such-rev/config.json`, { method, headers: anon }), 404, 'RevisionNotFound', `${method} unknown revision`, method);
      expectHubError(await raw(m.url, '/nobody/no-such-repo/resolve/main/config.json', { method, headers: anon }), 401, 'RepoNotFound', `${method} unknown repo`, method);
    }
  });
});

describe('accounting: run and client labels', () => {
  it('each resolve HEAD/GET is a hit or a miss of its run (header or /run/<id>/ prefix) and of its client (User-Agent)', async () => {
    const runA = await runStart(m.sb, 'header-run');
    const runB = await runStart(m.sb, 'prefix-run');
    const tok = `${TOKENIZER}/resolve/main`;
    const asks: Array<{ run: 'A' | 'B'; ua: string; method: string; file: string }> = [
      { run: 'A', ua: 'huggingface_hub/1.28.0; python/3.12.4; session_id/abc', method: 'HEAD', file: 'tokenizer.json' },
      { run: 'A', ua: 'huggingface_hub/1.28.0; python/3.12.4; session_id/abc', method: 'GET', file: 'tokenizer.json' },
      { run: 'A', ua: 'huggingface_hub/1.28.0; python/3.12.4; session_id/abc', method: 'GET', file: 'tokenizer.json' },
      { run: 'B', ua: 'swift-transformers/1.1.6', method: 'HEAD', file: 'vocab.json' },
      { run: 'B', ua: 'swift-transformers/1.1.6', method: 'GET', file: 'vocab.json' },
      { run: 'B', ua: 'WhisperKit/1 CFNetwork/1568.100.1 Darwin/24.0.0', method: 'GET', file: 'merges.txt' },
      { run: 'B', ua: 'huggingface.js/2.17.5', method: 'GET', file: 'merges.txt' },
      { run: 'B', ua: 'curl/8.5.0', method: 'GET', file: 'normalizer.json' },
    ];
    for (const a of asks) {
      const res =
        a.run === 'A'
          ? await raw(m.url, `/${tok}/${a.file}`, { method: a.method, headers: { 'User-Agent': a.ua, 'X-Vocorize-Cache-Run': runA } })
          : await raw(`${m.url}/run/${runB}`, `/${tok}/${a.file}`, { method: a.method, headers: { 'User-Agent': a.ua } });
      expect(res.status, `${a.method} ${a.file} in run ${a.run}: ${res.body.toString('utf8').slice(0, 200)}`).toBe(200);
    }
    const a = await stats(m.sb, ['--run', runA]);
    const b = await stats(m.sb, ['--run', runB]);
    expect(a.hits + a.misses + a.errors, 'run A: one event per resolve request').toBe(3);
    expect(b.hits + b.misses + b.errors, 'run B: one event per resolve request').toBe(5);
    expect(a.errors + b.errors).toBe(0);
    expect(a.misses, 'a cold file is a miss').toBeGreaterThanOrEqual(1);
    expect(a.hits, 'the repeated GET is a hit').toBeGreaterThanOrEqual(1);
    expect(b.misses).toBeGreaterThanOrEqual(3);

    const byClient = await stats(m.sb, ['--run', runB, '--by', 'client']);
    const clients = new Map((byClient.breakdown ?? []).map((row) => [String(row.client), row]));
    const count = (c: string) => {
      const row = clients.get(c);
      return row ? Number(row.hits) + Number(row.misses) + Number(row.errors ?? 0) : 0;
    };
    expect(count('swift-transformers'), `swift-transformers and WhisperKit: ${JSON.stringify(byClient.breakdown)}`).toBe(3);
    expect(count('huggingface.js'), JSON.stringify(byClient.breakdown)).toBe(1);
    expect(count('http'), JSON.stringify(byClient.breakdown)).toBe(1);
    const byClientA = await stats(m.sb, ['--run', runA, '--by', 'client']);
    expect(byClientA.breakdown?.find((row) => row.client === 'huggingface_hub'), JSON.stringify(byClientA.breakdown)).toMatchObject({ hits: a.hits, misses: a.misses });

    // The prefix form covers the API routes too (HF_ENDPOINT=http://127.0.0.1:N/run/<id>).
    const api = await raw(`${m.url}/run/${runB}`, `/api/models/${TOKENIZER}/revision/main`);
    expect(api.status).toBe(200);
    expect((JSON.parse(api.body.toString('utf8')) as { id: string }).id).toBe(TOKENIZER);
    const tree = await raw(`${m.url}/run/${runB}`, `/api/models/${TOKENIZER}/tree/main`);
    expect(tree.status).toBe(200);
    for (const link of [tree.headers.link].flat().filter((l): l is string => typeof l === 'string')) {
      expect(link, 'a Link keeps the run prefix').toContain(`${m.url}/run/${runB}/`);
    }

    // Prometheus sees the same requests as stats.
    const all = await stats(m.sb);
    const prom = await m.sb.cli(['metrics', '--format', 'prometheus']);
    expect(prom.code, prom.stderr).toBe(0);
    const fams = parsePrometheus(prom.stdout);
    const sample = (outcome: string) => fams.get('vocorize_cache_requests_total')?.samples.find((s) => s.labels.outcome === outcome)?.value;
    expect(sample('hit')).toBe(all.hits);
    expect(sample('miss')).toBe(all.misses);
    expect(all.hits + all.misses).toBeGreaterThanOrEqual(8);
  });
});
