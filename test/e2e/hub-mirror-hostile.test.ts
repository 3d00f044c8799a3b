import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { expect } from 'vitest';
import type { FakeHub } from '../../dev/fixtures/fakeHub.js';
import { generateBytes } from '../../dev/fixtures/generate.js';
import { daemonPid, waitFor, type Sandbox } from './harness.js';
import { hubTest } from './hubTest.js';

/**
 * The Hub-compatible endpoint attacked as a hostile local account would: raw HTTP requests (no client
 * library normalizing them) against a real daemon child process whose upstream is the fake Hub, with a
 * configured Hub token. Each test names the attack and what must hold.
 */
const it = hubTest.extend('sandboxOptions', { models: {} });

const TOKEN = 'hf_fake_token';

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request with the target sent byte for byte as given (no URL normalization). */
function raw(url: string, method: string, target: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<Raw> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path: target, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function publishRepo(hub: FakeHub, id: string, opts: { private?: boolean; gated?: 'manual'; readers?: string[] } = {}, bigBytes = 200_000): void {
  hub.publish(
    {
      id,
      files: [
        { path: 'config.json', bytes: Buffer.from(JSON.stringify({ id })), lfs: false },
        { path: 'weights/model.bin', bytes: generateBytes(`${id}/w`, bigBytes), lfs: true },
      ],
    },
    opts,
  );
}

async function start(
  sb: Sandbox,
  hub: FakeHub,
  extra: Record<string, unknown> = {},
  top: Record<string, unknown> = {},
): Promise<{ url: string; secret: string; secretFile: string }> {
  sb.writeConfig({ origins: [{ type: 'huggingface', endpoint: hub.endpoint, token: TOKEN }], hubMirror: { port: 0, ...extra }, ...top });
  expect((await sb.cli(['daemon', 'start'])).code).toBe(0);
  const st = (await sb.cli(['--json', 'status'])).json<{ hubUrl: string; hubSecretFile: string }>();
  return { url: st.hubUrl, secret: fs.readFileSync(st.hubSecretFile, 'utf8').trim(), secretFile: st.hubSecretFile };
}

const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

it('path traversal in every form is refused (400/404), never reads outside the repo, never leaks the secret', async ({ sb, hub }) => {
  publishRepo(hub, 'acme/pub');
  const { url, secret } = await start(sb, hub);
  // A file that exists, to show the endpoint serves what it should.
  expect((await raw(url, 'GET', '/acme/pub/resolve/main/config.json')).status).toBe(200);
  const targets = [
    '/acme/pub/resolve/main/../../../../etc/passwd',
    '/acme/pub/resolve/main/weights/../config.json',
    '/acme/pub/resolve/main/%2e%2e/%2e%2e/etc/passwd',
    '/acme/pub/resolve/main/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
    '/acme/pub/resolve/main/%252e%252e%252fetc%252fpasswd',
    '/acme/pub/resolve/main/..%5c..%5cetc%5cpasswd',
    '/acme/pub/resolve/main/weights\\..\\config.json',
    '/acme/pub/resolve/main/config.json%00.bin',
    '/acme/pub/resolve/main/%2Fetc%2Fpasswd',
    '/acme/pub/resolve/main//etc/passwd',
    '/acme/pub/resolve/main/C:%5cWindows',
    '/acme/pub/resolve/main/./config.json',
    `/acme/pub/resolve/main/${'a/'.repeat(600)}x`,
    '/acme%2F..%2F..%2Fetc/pub/resolve/main/config.json',
    '/../../etc/passwd/resolve/main/config.json',
    '/acme/%2e%2e/resolve/main/config.json',
    '/acme/pub/resolve/..%2F..%2Fmain/config.json',
    '/acme/pub/resolve/%2e%2e/config.json',
    '/api/models/acme/pub/tree/main/..%2F..%2Fetc',
    '/api/models/acme/pub/tree/main/%2e%2e',
    '/api/models/acme/..%2Fpub',
    '/api/models/acme/pub/revision/..%2F..%2Fmain',
    '/run/../acme/pub/resolve/main/../../etc/passwd',
    '/run/%2e%2e%2f%2e%2e/acme/pub/resolve/main/%2e%2e/x',
    '/run/x/run/y/acme/pub/resolve/main/config.json',
    '/run/%00/acme/pub/resolve/main/config.json',
    '/run//acme/pub/resolve/main/config.json',
    '/acme/pub%00/resolve/main/config.json',
    '/acme/pub/resolve/main%00/config.json',
    '/acme/p%20ub/resolve/main/config.json',
    '/acme/pub/resolve/main/' + '%ff%fe',
    '/acme/pub/resolve/main/%',
  ];
  for (const t of targets) {
    for (const headers of [{}, bearer(secret)]) {
      const r = await raw(url, 'GET', t, headers);
      expect(r.status, t).toBeGreaterThanOrEqual(400);
      expect(r.status, t).toBeLessThan(500);
      const text = r.body.toString('latin1') + JSON.stringify(r.headers);
      expect(text.includes('root:'), t).toBe(false);
      expect(text.includes(secret), t).toBe(false);
      expect(text.includes(TOKEN), t).toBe(false);
    }
  }
  // A target with `..` in the file path is a 400 naming the path, not a 404.
  const dots = await raw(url, 'GET', '/acme/pub/resolve/main/%2e%2e/config.json');
  expect(dots.status).toBe(400);
  expect(String(dots.headers['x-error-message'])).toMatch(/"\.\."/);
  // The daemon is still up and serving.
  expect((await raw(url, 'GET', '/acme/pub/resolve/main/config.json')).status).toBe(200);
});

it('gated and private repos: no way in without the secret (tree, paths-info, info, resolve, run prefix, wrong/empty/garbage Authorization), even once cached', async ({ sb, hub }) => {
  publishRepo(hub, 'acme/priv', { private: true });
  publishRepo(hub, 'acme/gate', { gated: 'manual', readers: [TOKEN] });
  const { url, secret } = await start(sb, hub);
  // Cache both with the secret: listing, tree and both files.
  for (const repo of ['acme/priv', 'acme/gate']) {
    for (const t of [`/api/models/${repo}`, `/api/models/${repo}/tree/main?recursive=true`, `/${repo}/resolve/main/config.json`, `/${repo}/resolve/main/weights/model.bin`]) {
      expect((await raw(url, 'GET', t, bearer(secret))).status, t).toBe(200);
    }
  }
  const commit = hub.repos.get('acme/priv')!.refs.get('main')!;
  const wrongAuth: Array<Record<string, string>> = [
    {},
    { Authorization: '' },
    { Authorization: 'Bearer' },
    { Authorization: 'Bearer ' },
    { Authorization: `Bearer ${secret.slice(0, -1)}` },
    { Authorization: `Bearer ${secret}x` },
    { Authorization: `Bearer ${secret.toUpperCase()}` },
    { Authorization: `Basic ${Buffer.from(`user:${secret}`).toString('base64')}` },
    { Authorization: `Token ${secret}` },
    { Authorization: `Bearer ${TOKEN}` },
    { Authorization: 'Bearer \u00ff\u00fe' },
    { Authorization: `Bearer ${'A'.repeat(8000)}` },
    { 'X-Authorization': `Bearer ${secret}` },
    { Cookie: `token=${secret}` },
  ];
  const privTargets = [
    ['GET', '/api/models/acme/priv'],
    ['GET', `/api/models/acme/priv/revision/${commit}`],
    ['GET', '/api/models/acme/priv/tree/main'],
    ['GET', `/api/models/acme/priv/tree/${commit}/weights`],
    ['POST', '/api/models/acme/priv/paths-info/main'],
    ['GET', '/acme/priv/resolve/main/config.json'],
    ['HEAD', `/acme/priv/resolve/${commit}/weights/model.bin`],
    ['GET', `/acme/priv/raw/${commit}/config.json`],
    ['GET', `/run/r1/acme/priv/resolve/${commit}/weights/model.bin`],
    ['GET', `/run/r1/api/models/acme/priv/tree/${commit}?recursive=1`],
    ['GET', '/api/whoami-v2'],
  ] as const;
  const gateTargets = [
    ['GET', '/acme/gate/resolve/main/weights/model.bin'],
    ['HEAD', '/acme/gate/resolve/main/config.json'],
    ['GET', '/run/r2/acme/gate/resolve/main/config.json'],
  ] as const;
  const before = hub.counters.authorizations('hub').length;
  for (const headers of wrongAuth) {
    for (const [method, t] of [...privTargets, ...gateTargets]) {
      const body = method === 'POST' ? JSON.stringify({ paths: ['config.json', 'weights/model.bin', 'weights'] }) : undefined;
      const h = method === 'POST' ? { ...headers, 'Content-Type': 'application/json' } : headers;
      const r = await raw(url, method, t, h, body);
      expect(r.status, `${method} ${t} ${JSON.stringify(headers).slice(0, 60)}`).toBe(401);
      expect(r.body.includes(Buffer.from(JSON.stringify({ id: 'acme/priv' }))), t).toBe(false);
      expect(r.body.includes(Buffer.from('model.bin')) && !t.includes('model.bin'), t).toBe(false);
    }
  }
  // Whatever those requests sent upstream carried no token at all: not ours, not the client's.
  const seen = hub.counters.authorizations('hub').slice(before);
  expect(seen.every((a) => a === null)).toBe(true);
  expect(hub.counters.authorizations('cdn').every((a) => a === null)).toBe(true);
});

it('paths-info with a path of many slashes answers at once (no catastrophic regex) and the daemon stays responsive', async ({ sb, hub }) => {
  publishRepo(hub, 'acme/slashes');
  const { url } = await start(sb, hub);
  expect((await raw(url, 'GET', '/api/models/acme/slashes')).status).toBe(200);
  // Paths in the body are validated as resolve paths are: these are refused (absolute, too long) at once.
  const body = JSON.stringify({ paths: [`${'/'.repeat(900_000)}x`, 'config.json'] });
  const r = await raw(url, 'POST', '/api/models/acme/slashes/paths-info/main', { 'Content-Type': 'application/json' }, body);
  expect(r.status).toBe(400);
  // Same through the form encoding huggingface_hub uses, and a path of slashes only (trailing slashes stripped).
  const form = new URLSearchParams([['paths', `${'/'.repeat(250_000)}x`], ['paths', 'config.json']]).toString();
  const f = await raw(url, 'POST', '/api/models/acme/slashes/paths-info/main', { 'Content-Type': 'application/x-www-form-urlencoded' }, form);
  expect(f.status).toBe(400);
  const trailing = JSON.stringify({ paths: [`config.json${'/'.repeat(900_000)}x`] });
  expect((await raw(url, 'POST', '/api/models/acme/slashes/paths-info/main', { 'Content-Type': 'application/json' }, trailing)).status).toBe(400);
  const ok = await raw(url, 'POST', '/api/models/acme/slashes/paths-info/main', { 'Content-Type': 'application/json' }, JSON.stringify({ paths: ['config.json'] }));
  expect(ok.status).toBe(200);
  expect((JSON.parse(ok.body.toString()) as Array<{ path: string }>).map((e) => e.path)).toEqual(['config.json']);
  expect((await sb.cli(['--json', 'status'])).code).toBe(0);
});

/** A GET sent on a raw socket whose answer is never read (the socket is paused: the kernel buffers fill). */
function neverRead(url: string, target: string, extraHeaders = ''): Promise<net.Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port) }, () => {
      s.write(`GET ${target} HTTP/1.1\r\nHost: ${u.host}\r\n${extraHeaders}\r\n`);
      s.pause();
      resolve(s);
    });
    s.on('error', reject);
  });
}

it('a client that never reads a cached file is cut after a while: its lease is released, other readers are not held up', async ({ sb, hub }) => {
  const BIG = 48 * 1024 * 1024;
  publishRepo(hub, 'acme/big', {}, BIG);
  const { url } = await start(sb, hub);
  const t = '/acme/big/resolve/main/weights/model.bin';
  const first = await raw(url, 'GET', t);
  expect(first.status).toBe(200);
  expect(first.body.byteLength).toBe(BIG);
  const stuck = await neverRead(url, t);
  let closed = false;
  stuck.on('close', () => (closed = true));
  const leases = async () => (await sb.cli(['--json', 'status'])).json<{ leases: number }>().leases;
  await waitFor(async () => (await leases()) >= 1, 60_000, 'the stuck reader holds a lease');
  // Another reader of the same file gets all of it meanwhile.
  const other = await raw(url, 'GET', t);
  expect(other.body.equals(first.body)).toBe(true);
  // The stuck one is cut and its lease released (without the client doing anything).
  await waitFor(async () => (await leases()) === 0, 150_000, 'the stuck reader to be cut');
  stuck.resume();
  await waitFor(() => closed, 30_000, 'the stuck socket to close');
});

it('many idle connections are bounded: the daemon keeps few descriptors for them and still answers the socket and the endpoint', async ({ sb, hub, skip }) => {
  publishRepo(hub, 'acme/conns');
  const { url } = await start(sb, hub);
  const pid = daemonPid(sb.cacheDir)!;
  if (!fs.existsSync(`/proc/${pid}/fd`)) skip('no /proc to count descriptors');
  const fds = () => fs.readdirSync(`/proc/${pid}/fd`).length;
  const base = fds();
  const u = new URL(url);
  const open: net.Socket[] = [];
  try {
    for (let i = 0; i < 800; i++) {
      const s = net.connect({ host: u.hostname, port: Number(u.port) });
      s.on('error', () => undefined);
      open.push(s);
    }
    await Promise.all(open.map((s) => new Promise<void>((r) => (s.connecting ? s.once('connect', () => r()).once('close', () => r()) : r()))));
    // Every connection was accepted by the kernel; the daemon holds at most its bound of them.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(fds() - base).toBeLessThan(400);
    expect((await sb.cli(['--json', 'status'])).code).toBe(0);
  } finally {
    for (const s of open) s.destroy();
  }
  await waitFor(async () => (await raw(url, 'GET', '/acme/conns/resolve/main/config.json').catch(() => null))?.status === 200, 60_000, 'the endpoint to answer again');
});

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

it('readers that join a streaming miss late (from the start or inside the window) and never read hold little memory each, and do not stall the reader that reads', async ({ sb, hub, skip }) => {
  const BIG = 40 * 1024 * 1024;
  publishRepo(hub, 'acme/cold', {}, BIG);
  const { url } = await start(sb, hub);
  const pid = daemonPid(sb.cacheDir)!;
  if (!fs.existsSync(`/proc/${pid}/status`)) skip('no /proc to read the memory of the daemon');
  const t = '/acme/cold/resolve/main/weights/model.bin';
  expect((await raw(url, 'HEAD', t)).status).toBe(200);
  const commit = hub.repos.get('acme/cold')!.refs.get('main')!;
  const file = hub.repos.get('acme/cold')!.commits.get(commit)!.get('weights/model.bin')!;
  // Upstream sends 24 MiB, then pauses: readers joining now start 16 MiB behind the newest byte.
  hub.faults.add(file.path, { kind: 'stall', afterBytes: 24 * 1024 * 1024, ms: 12_000 });
  const base = rssBytes(pid);
  const res = await fetch(`${url}${t}`);
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const parts: Buffer[] = [];
  let got = 0;
  while (got < 20 * 1024 * 1024) {
    const r = await reader.read();
    if (r.done) break;
    parts.push(Buffer.from(r.value));
    got += r.value.byteLength;
  }
  const stuck: net.Socket[] = [];
  try {
    // Half from the start (behind the window), half from inside the window.
    for (let i = 0; i < 16; i++) stuck.push(await neverRead(url, t, i % 2 ? `Range: bytes=${9 * 1024 * 1024 + i}-\r\n` : ''));
    await new Promise((r) => setTimeout(r, 3_000));
    const grown = rssBytes(pid) - base;
    expect(grown).toBeLessThan(150 * 1024 * 1024);
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      parts.push(Buffer.from(r.value));
    }
    expect(Buffer.concat(parts).equals(file.bytes)).toBe(true);
  } finally {
    for (const s of stuck) s.destroy();
  }
});

it('clients that disconnect mid-miss: the download completes and is admitted once, no lease is left, no temp file remains', async ({ sb, hub }) => {
  publishRepo(hub, 'acme/drop', {}, 2 * 1024 * 1024);
  const { url } = await start(sb, hub);
  const t = '/acme/drop/resolve/main/weights/model.bin';
  const commit = hub.repos.get('acme/drop')!.refs.get('main')!;
  const file = hub.repos.get('acme/drop')!.commits.get(commit)!.get('weights/model.bin')!;
  hub.faults.add(file.path, { kind: 'stall', afterBytes: 256 * 1024, ms: 3_000 });
  const before = hub.counters.requests(`/${'acme/drop'}/resolve`, 'GET');
  // Four clients start the miss, take a first chunk and hang up.
  await Promise.all(
    [0, 1, 2, 3].map(async () => {
      const ac = new AbortController();
      const res = await fetch(`${url}${t}`, { signal: ac.signal });
      expect(res.status).toBe(200);
      const r = await res.body!.getReader().read();
      expect(r.done).toBe(false);
      ac.abort();
    }),
  );
  const status = async () => (await sb.cli(['--json', 'status'])).json<{ leases: number; downloadsInFlight: number }>();
  await waitFor(async () => (await status()).downloadsInFlight === 0, 120_000, 'the download to finish');
  expect((await status()).leases).toBe(0);
  const tmp = `${sb.cacheDir}/v1/tmp`;
  expect(fs.existsSync(tmp) ? fs.readdirSync(tmp) : []).toEqual([]);
  // It was admitted: the next read is a hit, with no new upstream download.
  const n = hub.counters.requests(`/${'acme/drop'}/resolve`, 'GET');
  const again = await raw(url, 'GET', t);
  expect(again.body.equals(file.bytes)).toBe(true);
  expect(hub.counters.requests(`/${'acme/drop'}/resolve`, 'GET')).toBe(n);
  expect(n - before).toBeGreaterThanOrEqual(1);
});

it('malformed requests get clear 4xx answers and lose nothing: ranges, methods, bodies, content types; the token never appears in an answer or the log', async ({ sb, hub }) => {
  publishRepo(hub, 'acme/mal');
  const log = `${sb.root}/daemon.log`;
  const { url, secret } = await start(sb, hub, {}, { log: { file: log, level: 'debug' } });
  const t = '/acme/mal/resolve/main/config.json';
  const full = await raw(url, 'GET', t);
  expect(full.status).toBe(200);
  const size = full.body.byteLength;
  const ranges: Array<[string, number, number | null]> = [
    ['bytes=5-2', 200, size],
    ['bytes=0-0,2-3', 200, size],
    ['bytes=-0', 416, 0],
    [`bytes=${size}-`, 416, 0],
    ['bytes=99999999999999999999999-', 416, 0],
    ['bytes=0-99999999999999999999999', 206, size],
    ['bytes=-99999999999999999999999', 206, size],
    ['bytes=-1', 206, 1],
    ['items=0-1', 200, size],
    ['bytes=abc', 200, size],
    [`bytes=${' '.repeat(8000)}x`, 200, size],
  ];
  for (const [range, status, len] of ranges) {
    const r = await raw(url, 'GET', t, { Range: range });
    expect(r.status, range.slice(0, 40)).toBe(status);
    if (len !== null) expect(r.body.byteLength, range.slice(0, 40)).toBe(len);
  }
  for (const m of ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND']) {
    const r = await raw(url, m, t);
    expect(r.status, m).toBeGreaterThanOrEqual(400);
    expect(r.status, m).toBeLessThan(500);
  }
  const pi = '/api/models/acme/mal/paths-info/main';
  const bodies: Array<[string | Buffer, string]> = [
    ['{not json', 'application/json'],
    ['{"paths": 5}', 'application/json'],
    ['{"paths": [1, 2]}', 'application/json'],
    ['null', 'application/json'],
    [Buffer.alloc(3 * 1024 * 1024, 0x61), 'application/octet-stream'],
    [JSON.stringify({ paths: Array.from({ length: 20_000 }, (_, i) => `f${i}`) }), 'application/json'],
  ];
  for (const [body, ct] of bodies) {
    const r = await raw(url, 'POST', pi, { 'Content-Type': ct }, body).catch((e: Error) => ({ status: -1, headers: {}, body: Buffer.from(e.message) }));
    // A huge body may be cut before it is all sent; when an answer comes, it is a 400.
    if (r.status !== -1) expect(r.status, String(body).slice(0, 30)).toBe(400);
  }
  const ok = await raw(url, 'POST', pi, { 'Content-Type': 'text/plain' }, 'paths=config.json');
  expect(ok.status).toBe(200);
  // Upstream errors on an authorized request are told without the token.
  hub.faults.add('weights/model.bin', { kind: 'status', status: 500, times: 50 });
  let failed: Raw;
  try {
    failed = await raw(url, 'GET', '/acme/mal/resolve/main/weights/model.bin', bearer(secret));
  } finally {
    hub.faults.clear();
  }
  expect(failed.status).toBeGreaterThanOrEqual(400);
  for (const r of [full, failed]) expect((r.body.toString('latin1') + JSON.stringify(r.headers)).includes(TOKEN)).toBe(false);
  expect((await raw(url, 'GET', t)).body.equals(full.body)).toBe(true);
  const logged = fs.readFileSync(log, 'utf8');
  expect(logged).toMatch(/hub endpoint/);
  expect(logged.includes(TOKEN)).toBe(false);
  expect(logged.includes(secret)).toBe(false);
});

it('anonymous misses cannot fill the disk past maxSize: files larger than the cache are refused (507), the rest evict by LRU and usage stays under the limit', async ({ sb, hub }) => {
  for (let i = 0; i < 6; i++) publishRepo(hub, `acme/fill-${i}`, {}, 1_500_000);
  publishRepo(hub, 'acme/huge', {}, 5_000_000);
  const { url } = await start(sb, hub, {}, { maxSize: 4_000_000 });
  const huge = await raw(url, 'GET', '/acme/huge/resolve/main/weights/model.bin');
  expect(huge.status, String(huge.headers['x-error-message'])).toBe(507);
  for (let i = 0; i < 6; i++) {
    const r = await raw(url, 'GET', `/acme/fill-${i}/resolve/main/weights/model.bin`);
    expect(r.status, `fill-${i}`).toBe(200);
    expect(r.body.byteLength).toBe(1_500_000);
    const st = (await sb.cli(['--json', 'status'])).json<{ usedBytes: number }>();
    expect(st.usedBytes, `after fill-${i}`).toBeLessThanOrEqual(4_000_000);
  }
  const tmp = `${sb.cacheDir}/v1/tmp`;
  expect(fs.existsSync(tmp) ? fs.readdirSync(tmp) : []).toEqual([]);
});
