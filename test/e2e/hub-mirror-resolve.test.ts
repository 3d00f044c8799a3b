import fs from 'node:fs';
import http from 'node:http';
import { expect } from 'vitest';
import type { FakeHub, HubFile } from '../../dev/fixtures/fakeHub.js';
import type { Sandbox } from './harness.js';
import { WK } from './daemon-helpers.js';
import { hubTest } from './hubTest.js';

/**
 * The Hub-compatible endpoint through a real daemon child process, with the fake Hub upstream:
 * status, resolve (HEAD, GET, Range) of cached and uncached files, metadata routes, errors.
 */
const it = hubTest.extend('sandboxOptions', { models: {} });

const VARIANT = 'openai_whisper-tiny';

async function startWithEndpoint(sb: Sandbox, extra: Record<string, unknown> = {}): Promise<{ url: string; secretFile: string }> {
  sb.writeConfig({ hubMirror: { port: 0, ...extra } });
  const start = await sb.cli(['daemon', 'start']);
  expect(start.code, start.stderr).toBe(0);
  const st = (await sb.cli(['--json', 'status'])).json<{ hubUrl: string | null; hubSecretFile: string | null }>();
  expect(st.hubUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  return { url: st.hubUrl!, secretFile: st.hubSecretFile! };
}

function rawGet(base: string, target: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: target, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

function fileOf(hub: FakeHub, path: string): { commit: string; file: HubFile } {
  const repo = hub.repos.get(WK)!;
  const commit = repo.refs.get('main')!;
  return { commit, file: repo.commits.get(commit)!.get(path)! };
}


it('reports hubUrl and a 0600 secret file in status, and null when the endpoint is off', async ({ sb, sandbox }) => {
  const { url, secretFile } = await startWithEndpoint(sb);
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect((fs.statSync(secretFile).mode & 0o777).toString(8)).toBe('600');
  expect(fs.readFileSync(secretFile, 'utf8').trim()).toMatch(/^hf_local_[0-9a-f]{48}$/);

  const off = sandbox({ models: {} });
  off.writeConfig({});
  expect((await off.cli(['daemon', 'start'])).code).toBe(0);
  const st = (await off.cli(['--json', 'status'])).json<{ hubUrl: unknown; hubSecretFile: unknown }>();
  expect(st).toMatchObject({ hubUrl: null, hubSecretFile: null });
});

it('HEAD and GET resolve a regular and an LFS file with the Hub headers; the second GET is a hit with no upstream request', async ({ sb, hub }) => {
  const { url } = await startWithEndpoint(sb);
  const regular = fileOf(hub, `${VARIANT}/config.json`);
  const lfs = fileOf(hub, `${VARIANT}/AudioEncoder.mlmodelc/weights/weight.bin`);
  expect(lfs.file.lfs).toBe(true);

  const h1 = await fetch(`${url}/${WK}/resolve/main/${regular.file.path}`, { method: 'HEAD' });
  expect(h1.status).toBe(200);
  expect(h1.headers.get('x-repo-commit')).toBe(regular.commit);
  expect(h1.headers.get('etag')).toBe(`"${regular.file.gitSha1}"`);
  expect(h1.headers.get('content-length')).toBe(String(regular.file.bytes.byteLength));
  expect(h1.headers.get('accept-ranges')).toBe('bytes');
  expect(h1.headers.get('x-linked-etag')).toBeNull();

  const h2 = await fetch(`${url}/${WK}/resolve/main/${lfs.file.path}`, { method: 'HEAD' });
  expect(h2.status).toBe(200);
  expect(h2.headers.get('x-linked-etag')).toBe(`"${lfs.file.sha256}"`);
  expect(h2.headers.get('x-linked-size')).toBe(String(lfs.file.bytes.byteLength));
  expect(h2.headers.get('etag')).toBe(`"${lfs.file.oid}"`);
  expect([...h2.headers.keys()].filter((k) => k.startsWith('x-xet'))).toEqual([]);

  for (const f of [regular, lfs]) {
    const before = hub.counters.requests(`/${WK}/resolve/${f.commit}/${f.file.path}`, 'GET');
    const a = await fetch(`${url}/${WK}/resolve/main/${f.file.path}`);
    expect(a.status).toBe(200);
    expect(Buffer.from(await a.arrayBuffer()).equals(f.file.bytes)).toBe(true);
    expect(hub.counters.requests(`/${WK}/resolve/${f.commit}/${f.file.path}`, 'GET')).toBe(before + 1);
    const b = await fetch(`${url}/${WK}/resolve/${f.commit}/${f.file.path}`);
    expect(Buffer.from(await b.arrayBuffer()).equals(f.file.bytes)).toBe(true);
    expect(hub.counters.requests(`/${WK}/resolve/${f.commit}/${f.file.path}`, 'GET')).toBe(before + 1);
  }
  // Only the two files were fetched, not the repo.
  expect(hub.counters.requests(`/${WK}/resolve`, 'GET')).toBe(2);

  const stats = (await sb.cli(['--json', 'stats'])).json<{ hits: number; misses: number }>();
  // HEAD ×2 (misses: not cached yet), GET ×2 misses, GET ×2 hits.
  expect(stats).toMatchObject({ hits: 2, misses: 4 });
});

it('answers Range requests with 206 and Content-Range (the bytes=0-0 probe included), and 416 past the end', async ({ sb, hub }) => {
  const { url } = await startWithEndpoint(sb);
  const lfs = fileOf(hub, `${VARIANT}/TextDecoder.mlmodelc/weights/weight.bin`);
  const size = lfs.file.bytes.byteLength;
  const probe = await fetch(`${url}/${WK}/resolve/main/${lfs.file.path}`, { headers: { Range: 'bytes=0-0' } });
  expect(probe.status).toBe(206);
  expect(probe.headers.get('content-range')).toBe(`bytes 0-0/${size}`);
  expect(Buffer.from(await probe.arrayBuffer()).equals(lfs.file.bytes.subarray(0, 1))).toBe(true);

  const tail = await fetch(`${url}/${WK}/resolve/main/${lfs.file.path}`, { headers: { Range: 'bytes=100-' } });
  expect(tail.status).toBe(206);
  expect(tail.headers.get('content-range')).toBe(`bytes 100-${size - 1}/${size}`);
  expect(Buffer.from(await tail.arrayBuffer()).equals(lfs.file.bytes.subarray(100))).toBe(true);

  const past = await fetch(`${url}/${WK}/resolve/main/${lfs.file.path}`, { headers: { Range: `bytes=${size}-` } });
  expect(past.status).toBe(416);
  expect(past.headers.get('content-range')).toBe(`bytes */${size}`);
});

it('serves repo info, the tree (paginated, Link on this host) and paths-info', async ({ sb, hub }) => {
  const { url } = await startWithEndpoint(sb);
  const repo = hub.repos.get(WK)!;
  const commit = repo.refs.get('main')!;
  const files = [...repo.commits.get(commit)!.values()];

  const info = await (await fetch(`${url}/api/models/${WK}/revision/main`)).json() as { sha: string; id: string; siblings: Array<{ rfilename: string }> };
  expect(info.sha).toBe(commit);
  expect(info.id).toBe(WK);
  expect(info.siblings.map((s) => s.rfilename).sort()).toEqual(files.map((f) => f.path).sort());

  const blobs = await (await fetch(`${url}/api/models/${WK}?blobs=true`)).json() as { siblings: Array<{ rfilename: string; size: number; lfs?: { sha256: string } }> };
  const w = blobs.siblings.find((s) => s.rfilename.endsWith('weight.bin'))!;
  expect(w.lfs?.sha256).toMatch(/^[0-9a-f]{64}$/);

  // Expanded pages hold 50 entries: follow Link until it is absent, always on this endpoint's host.
  const seen: Array<{ path: string; type: string; oid: string; lfs?: { oid: string } }> = [];
  let next: string | null = `${url}/api/models/${WK}/tree/main?recursive=true&expand=true`;
  let pages = 0;
  while (next) {
    expect(next.startsWith(url)).toBe(true);
    const res = await fetch(next);
    expect(res.status).toBe(200);
    seen.push(...((await res.json()) as typeof seen));
    const link = res.headers.get('link');
    next = link ? /<([^>]+)>;\s*rel="next"/.exec(link)![1]! : null;
    pages++;
  }
  expect(pages).toBeGreaterThan(1);
  const seenFiles = seen.filter((e) => e.type === 'file');
  expect(seenFiles.map((e) => e.path).sort()).toEqual(files.map((f) => f.path).sort());
  for (const e of seenFiles) {
    const f = files.find((x) => x.path === e.path)!;
    expect(e.oid).toBe(f.oid);
    if (f.lfs) expect(e.lfs?.oid).toBe(f.sha256);
  }
  // A folder listing (Python encodes the slash) matches the fake Hub's own.
  const py = await (await fetch(`${url}/api/models/${WK}/tree/main/${VARIANT}%2FAudioEncoder.mlmodelc?recursive=True&expand=False`)).json() as Array<{ path: string; oid: string; type: string }>;
  const up = await (await fetch(`${hub.endpoint}/api/models/${WK}/tree/main/${VARIANT}/AudioEncoder.mlmodelc?recursive=true&expand=false`)).json() as Array<{ path: string; oid: string; type: string }>;
  const key = (a: Array<{ path: string; oid: string; type: string }>) => a.map((e) => `${e.type} ${e.path} ${e.type === 'file' ? e.oid : ''}`).sort();
  expect(key(py)).toEqual(key(up));

  const pi = await fetch(`${url}/api/models/${WK}/paths-info/main`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ paths: [`${VARIANT}/config.json`, 'nope.txt'], expand: true }),
  });
  const piBody = (await pi.json()) as Array<{ path: string; oid: string; lastCommit: { id: string } }>;
  expect(piBody).toHaveLength(1);
  expect(piBody[0]).toMatchObject({ path: `${VARIANT}/config.json`, oid: fileOf(hub, `${VARIANT}/config.json`).file.gitSha1, lastCommit: { id: commit } });
  // The same as a form body (huggingface_hub).
  const form = await fetch(`${url}/api/models/${WK}/paths-info/main`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `paths=${encodeURIComponent(`${VARIANT}/config.json`)}&expand=False`,
  });
  expect(((await form.json()) as unknown[]).length).toBe(1);
});

it('answers errors in the Hub shape, and refuses unsafe paths with 400', async ({ sb, hub }) => {
  const { url } = await startWithEndpoint(sb);
  const commit = hub.repos.get(WK)!.refs.get('main')!;
  const missing = await fetch(`${url}/${WK}/resolve/main/no/such/file.bin`, { method: 'HEAD' });
  expect(missing.status).toBe(404);
  expect(missing.headers.get('x-error-code')).toBe('EntryNotFound');
  expect(missing.headers.get('x-repo-commit')).toBe(commit);

  const rev = await fetch(`${url}/${WK}/resolve/nobranch/config.json`);
  expect(rev.status).toBe(404);
  expect(rev.headers.get('x-error-code')).toBe('RevisionNotFound');
  expect(((await rev.json()) as { error: string }).error).toMatch(/nobranch/);

  const repo = await fetch(`${url}/nobody/nothing/resolve/main/config.json`);
  expect(repo.status).toBe(401);
  expect(repo.headers.get('x-error-code')).toBe('RepoNotFound');

  // Sent raw (fetch would normalise the dots away).
  for (const p of ['a/../b', 'a/%2E%2E/b', '..%2F..%2Fetc/passwd', '%2Fetc/passwd', 'a%5Cb', 'a%00b', 'a//b', './a']) {
    const r = await rawGet(url, `/${WK}/resolve/main/${p}`);
    expect(r.status, p).toBe(400);
    expect(r.headers['x-error-message'], p).toMatch(/path/);
  }
});

it('a file being served is leased (eviction refused) until its response ends; the single-file model can be pinned', async ({ sb, hub }) => {
  const { url } = await startWithEndpoint(sb);
  const id = 'acme/lease-big';
  // Larger than what socket buffers can hold for a paused reader, so the response stays open.
  const bytes = Buffer.alloc(48 * 1024 * 1024, 3);
  hub.publish({ id, files: [{ path: 'w.bin', bytes, lfs: true }] });
  const warm = await fetch(`${url}/${id}/resolve/main/w.bin`);
  await warm.arrayBuffer();
  type M = { model: string; leased: boolean; repo: string; pinned: boolean };
  const models = async () => (await sb.cli(['--json', 'list'])).json<{ models: M[] }>().models.filter((m) => m.repo === id);
  const [model] = await models();
  expect(model).toMatchObject({ leased: false });

  const res = await fetch(`${url}/${id}/resolve/main/w.bin`);
  const reader = res.body!.getReader();
  const first = await reader.read();
  expect(first.done).toBe(false);
  // The client has not read the rest: the response is still open, the model is leased.
  expect((await models())[0]!.leased).toBe(true);
  const evict = await sb.cli(['evict', model!.model]);
  expect(evict.code).not.toBe(0);
  expect(evict.stderr).toMatch(/E_IN_USE/);
  let n = first.value!.byteLength;
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    n += r.value.byteLength;
  }
  expect(n).toBe(bytes.byteLength);
  await waitUntil(async () => (await models())[0]!.leased === false);
  expect((await sb.cli(['pin', model!.model])).code).toBe(0);
  expect((await models())[0]!.pinned).toBe(true);
});

async function waitUntil(pred: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not reached');
}

it('answers revision HEAD (huggingface.js modelInfo asks for it), whoami only with the secret, and datasets as not found', async ({ sb, hub }) => {
  const { url, secretFile } = await startWithEndpoint(sb);
  const head = (await (await fetch(`${url}/api/models/${WK}/revision/HEAD?expand=sha&expand=private`)).json()) as { sha: string };
  expect(head.sha).toBe(hub.repos.get(WK)!.refs.get('main'));
  const secret = fs.readFileSync(secretFile, 'utf8').trim();
  expect((await fetch(`${url}/api/whoami-v2`)).status).toBe(401);
  const me = await fetch(`${url}/api/whoami-v2`, { headers: { Authorization: `Bearer ${secret}` } });
  expect(me.status).toBe(200);
  expect(JSON.stringify(await me.json())).not.toContain(secret);
  const ds = await fetch(`${url}/api/datasets/acme/data/revision/main`);
  expect(ds.headers.get('x-error-code')).toBe('RepoNotFound');
  const none = await fetch(`${url}/no/route/here`);
  expect(none.status).toBe(404);
});

it('a file a whole-model get already cached is served without an upstream request and stored once (same blob)', async ({ sb, hub }) => {
  const { url } = await startWithEndpoint(sb);
  const got = await sb.cli(['--json', 'get', `${WK}@main:openai_whisper-base`]);
  expect(got.code, got.stderr).toBe(0);
  const blobsBefore = (await sb.cli(['--json', 'status'])).json<{ blobs: number; usedBytes: number }>();
  hub.counters.reset();
  const p = 'openai_whisper-base/TextDecoder.mlmodelc/weights/weight.bin';
  const res = await fetch(`${url}/${WK}/resolve/main/${p}`);
  expect(res.status).toBe(200);
  const body = Buffer.from(await res.arrayBuffer());
  expect(body.equals(fileOf(hub, p).file.bytes)).toBe(true);
  expect(hub.counters.requests(`/${WK}/resolve`, 'GET')).toBe(0);
  const after = (await sb.cli(['--json', 'status'])).json<{ blobs: number; usedBytes: number }>();
  expect(after.blobs).toBe(blobsBefore.blobs);
  expect(after.usedBytes).toBe(blobsBefore.usedBytes);
  const stats = (await sb.cli(['--json', 'stats', '--by', 'client'])).json<{ breakdown: Array<{ client: string; hits: number }> }>();
  expect(stats.breakdown.find((r) => r.client === 'huggingface.js')?.hits).toBe(1);
});
