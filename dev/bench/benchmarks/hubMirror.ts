import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startFakeHub, type FakeHub } from '../../fixtures/fakeHub.js';
import { generateBytes, whisperKitRepo, type RepoSpec } from '../../fixtures/generate.js';
import { connect } from '../../../src/ipc/client.js';
import { figure } from '../figures.js';
import { startDaemonProc, tempRoot, writeConfig, type DaemonProc } from '../harness.js';
import { repeat, spread } from '../stats.js';
import type { Benchmark, Figure } from '../types.js';
import { freePort } from '../../fixtures/freePort.js';

const REPO = 'bench/hub-mirror';
const WK = 'argmaxinc/whisperkit-coreml';
const HIT_BYTES = 64 * 1024 * 1024;
const COLD_BYTES = 290_000_000;
const METADATA_MS = 1_500;
const METADATA_CONNS = 8;

/**
 * The Hub-compatible HTTP endpoint of a daemon (its own process, upstream the fake Hub on loopback):
 * - hit throughput: GET of a cached 64 MiB file through the endpoint vs a plain `node:http` static file
 *   server (its own process, `fs.createReadStream`) serving the same file from disk (bar >= 0.8x);
 * - time to first byte of a cold 290 MB file through the endpoint (a streaming miss) vs the upstream's
 *   own time to first byte for the same file, following its redirect to the CDN as any client must
 *   (bar <= 2x), for an anonymous request and one with the local secret; each repetition uses a file
 *   never asked for before;
 * - metadata requests/s (repo info, tree, HEAD of a cached file) with 8 keep-alive connections in a
 *   closed loop vs the static server answering a canned body of the same size.
 * The client is this process (node:http, keep-alive), the same for ours and the reference.
 */
export const hubMirror: Benchmark = {
  name: 'hub-mirror',
  describe: 'Hub endpoint: 64 MiB hit vs static node:http server, cold 290 MB TTFB vs upstream, metadata req/s',
  async run(ctx) {
    const reps = Math.min(ctx.reps, 3);
    const tmp = tempRoot('hubm');
    const files: RepoSpec['files'] = [{ path: 'hit.bin', bytes: generateBytes('hubm/hit', HIT_BYTES), lfs: true }];
    const secretReps = Math.min(reps, 2);
    for (let i = 0; i <= reps + secretReps; i++) files.push({ path: `cold-${i}.bin`, bytes: generateBytes(`hubm/cold-${i}`, COLD_BYTES), lfs: true });
    const hub = await startFakeHub({ repos: [{ id: REPO, files }, whisperKitRepo({ weightScale: 0.01 })], treePageSize: 1000 });
    let daemon: DaemonProc | null = null;
    let stat: StaticServer | null = null;
    try {
      const port = await freePort();
      const { configPath, socketPath } = writeConfig({ root: tmp.dir, endpoint: hub.endpoint });
      const cfg = JSON.parse(fs.readFileSync(configPath, 'utf8')) as Record<string, unknown>;
      // A configured token, as on a developer's machine: requests without the local secret are then
      // checked readable anonymously (one empty-range request upstream per file) before they are served.
      const origins = [{ type: 'huggingface', endpoint: hub.endpoint, token: 'hf_fake_token' }];
      fs.writeFileSync(configPath, JSON.stringify({ ...cfg, origins, hubMirror: { port } }));
      daemon = await startDaemonProc(ctx.distDir, configPath, socketPath);
      const ours = `http://127.0.0.1:${port}`;
      await waitForHttp(`${ours}/api/models/${REPO}/revision/main`);

      const hitFile = path.join(tmp.dir, 'hit.bin');
      fs.writeFileSync(hitFile, files[0]!.bytes);
      const infoBody = await get(`${ours}/api/models/${WK}/revision/main`);
      const infoFile = path.join(tmp.dir, 'info.json');
      fs.writeFileSync(infoFile, infoBody.body);
      stat = await startStaticServer({ '/hit.bin': hitFile, '/info.json': infoFile });

      const figs: Figure[] = [];
      figs.push(...(await hitThroughput(ctx, reps, ours, stat.url)));
      const c = await connect({ socketPath });
      const st = (await c.call('status', {})) as unknown as { hubSecretFile: string | null };
      await c.close();
      if (!st.hubSecretFile) throw new Error('status names no hubSecretFile');
      const secret = fs.readFileSync(st.hubSecretFile, 'utf8').trim();
      figs.push(...(await coldTtfb(ctx, reps, ours, hub, { first: 1, label: 'anonymous' })));
      figs.push(...(await coldTtfb(ctx, secretReps, ours, hub, { first: reps + 1, label: 'with the local secret', secret })));
      figs.push(...(await metadata(ctx, ours, stat.url, hub)));
      return figs;
    } finally {
      await stat?.stop();
      await daemon?.stop();
      await hub.close();
      tmp.dispose();
    }
  },
};

async function hitThroughput(ctx: Parameters<Benchmark['run']>[0], reps: number, ours: string, bare: string): Promise<Figure[]> {
  const url = `${ours}/${REPO}/resolve/main/hit.bin`;
  const warm = await download(url);
  if (warm.bytes !== HIT_BYTES) throw new Error(`warming ${url} got ${warm.bytes} bytes (status ${warm.status})`);
  ctx.log(`hit: warmed ${url}`);
  const o: number[] = [];
  const r: number[] = [];
  await repeat(
    Math.max(reps, 3),
    async (i) => {
      const a = await download(url);
      const b = await download(`${bare}/hit.bin`);
      if (a.bytes !== HIT_BYTES || b.bytes !== HIT_BYTES) throw new Error(`short read: ours ${a.bytes}, static ${b.bytes}`);
      if (i >= 0) {
        o.push(HIT_BYTES / 1e6 / (a.ms / 1000));
        r.push(HIT_BYTES / 1e6 / (b.ms / 1000));
      }
    },
    1,
  );
  const so = spread(o);
  const sr = spread(r);
  return [
    figure('hub-mirror', 'hit, 64 MiB file over the endpoint', 'MB/s', so, {
      refSpread: sr,
      refName: 'static node:http server (createReadStream), same file',
      target: '>= 0.8x the static server',
      pass: so.median / sr.median >= 0.8,
      note: 'one GET at a time, whole body read by a node:http client in the bench process; both servers in their own process',
    }),
  ];
}

async function coldTtfb(
  ctx: Parameters<Benchmark['run']>[0],
  reps: number,
  ours: string,
  hub: FakeHub,
  who: { first: number; label: string; secret?: string },
): Promise<Figure[]> {
  const o: number[] = [];
  const r: number[] = [];
  const thr: number[] = [];
  await repeat(
    reps,
    async (i) => {
      // The warm-up (i < 0) of the anonymous series uses cold-0; the secret series has no warm-up.
      const file = `cold-${who.first + i}.bin`;
      // Upstream first (the fake Hub keeps nothing between requests), then ours on the same, still uncached, file.
      const up = await download(`${hub.endpoint}/${REPO}/resolve/main/${file}`, { firstByteOnly: true });
      const us = await download(`${ours}/${REPO}/resolve/main/${file}`, { authorization: who.secret });
      if (us.bytes !== COLD_BYTES) throw new Error(`cold ${file} through the endpoint: ${us.bytes} bytes (status ${us.status})`);
      ctx.log(`cold ${file} (${who.label}): ttfb ours ${us.ttfbMs.toFixed(1)} ms, upstream ${up.ttfbMs.toFixed(1)} ms, whole ${us.ms.toFixed(0)} ms`);
      if (i >= 0) {
        o.push(us.ttfbMs);
        r.push(up.ttfbMs);
        thr.push(COLD_BYTES / 1e6 / (us.ms / 1000));
      }
    },
    who.secret ? 0 : 1,
  );
  const so = spread(o);
  const sr = spread(r);
  return [
    figure('hub-mirror', `cold 290 MB file, time to first byte, ${who.label}`, 'ms', so, {
      refSpread: sr,
      refName: "upstream's own time to first byte (redirect to the CDN followed)",
      ratio: so.median / sr.median,
      ratioMeaning: 'ours / upstream (lower is better)',
      target: '<= 2x the upstream',
      pass: so.median / sr.median <= 2,
      note: 'a streaming miss: the client gets bytes while they arrive from upstream and are hashed; every repetition is a file never asked for before',
    }),
    figure('hub-mirror', `cold 290 MB file through the endpoint, whole, ${who.label}`, 'MB/s', spread(thr), {
      note: 'the same cold GETs read to the end (download, hash, fsync, admission, streamed to the client)',
    }),
  ];
}

async function metadata(ctx: Parameters<Benchmark['run']>[0], ours: string, bare: string, hub: FakeHub): Promise<Figure[]> {
  const tree = `${ours}/api/models/${WK}/tree/main/openai_whisper-tiny?recursive=true&expand=false`;
  const info = `${ours}/api/models/${WK}/revision/main`;
  const head = `${ours}/${WK}/resolve/main/openai_whisper-tiny/config.json`;
  for (const u of [tree, info]) if ((await get(u)).status !== 200) throw new Error(`${u}: not 200`);
  if ((await download(head)).status !== 200) throw new Error(`${head}: not 200`);
  const before = hub.counters.log.length;
  const figs: Figure[] = [];
  const bareRate = await closedLoop(() => ({ url: `${bare}/info.json`, method: 'GET' }));
  const mixed = [
    { url: info, method: 'GET' },
    { url: tree, method: 'GET' },
    { url: head, method: 'HEAD' },
  ];
  let k = 0;
  const ourRate = await closedLoop(() => mixed[k++ % mixed.length]!);
  const upstream = hub.counters.log.length - before;
  ctx.log(`metadata: ours ${ourRate.toFixed(0)} req/s, static ${bareRate.toFixed(0)} req/s, upstream requests meanwhile ${upstream}`);
  figs.push(
    figure('hub-mirror', `metadata requests/s, ${METADATA_CONNS} conn`, 'req/s', spread([ourRate]), {
      refSpread: spread([bareRate]),
      refName: 'static node:http server answering the repo-info JSON from disk',
      target: '>= 0.5x the static server',
      pass: ourRate / bareRate >= 0.5,
      note: `repo info, recursive tree of a variant folder and HEAD of a cached file in turn, ${METADATA_MS} ms closed loop; ${upstream} upstream requests meanwhile`,
    }),
  );
  return figs;
}

// ---- client helpers (node:http, keep-alive) ----

const agent = new http.Agent({ keepAlive: true, maxSockets: METADATA_CONNS });

interface Download {
  status: number;
  bytes: number;
  ttfbMs: number;
  ms: number;
}

/** GETs `url` (following redirects), discarding the body; times the first body byte and the end. */
function download(
  url: string,
  opts: { firstByteOnly?: boolean; method?: string; authorization?: string | undefined } = {},
  t0 = performance.now(),
  hops = 0,
): Promise<Download> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'Accept-Encoding': 'identity' };
    if (opts.authorization) headers.Authorization = `Bearer ${opts.authorization}`;
    const req = http.request(url, { agent, method: opts.method ?? 'GET', headers }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location && hops < 5) {
        res.resume();
        res.on('end', () => resolve(download(new URL(res.headers.location!, url).toString(), opts, t0, hops + 1)));
        return;
      }
      let bytes = 0;
      let ttfbMs = Number.NaN;
      res.on('data', (d: Buffer) => {
        if (bytes === 0) {
          ttfbMs = performance.now() - t0;
          if (opts.firstByteOnly) {
            res.destroy();
            resolve({ status, bytes: d.length, ttfbMs, ms: ttfbMs });
          }
        }
        bytes += d.length;
      });
      res.on('end', () => resolve({ status, bytes, ttfbMs, ms: performance.now() - t0 }));
      res.on('error', (err) => (opts.firstByteOnly ? undefined : reject(err)));
    });
    req.on('error', reject);
    req.end();
  });
}

function get(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** Requests/s of METADATA_CONNS closed loops over keep-alive connections for METADATA_MS (after a short warm-up). */
async function closedLoop(next: () => { url: string; method: string }): Promise<number> {
  const run = async (ms: number) => {
    const end = performance.now() + ms;
    let n = 0;
    await Promise.all(
      Array.from({ length: METADATA_CONNS }, async () => {
        while (performance.now() < end) {
          const r = next();
          const d = await download(r.url, { method: r.method });
          if (d.status !== 200) throw new Error(`${r.method} ${r.url}: ${d.status}`);
          n++;
        }
      }),
    );
    return n;
  };
  await run(200);
  const t0 = performance.now();
  const n = await run(METADATA_MS);
  return n / ((performance.now() - t0) / 1000);
}


async function waitForHttp(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await get(url);
      if (r.status === 200) return;
      if (Date.now() > deadline) throw new Error(`${url} answered ${r.status}: ${r.body.toString('utf8').slice(0, 300)}`);
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`the endpoint at ${url} did not answer: ${String(err)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- the reference: a static file server in its own process ----

interface StaticServer {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `GET <route>` streams the file with fs.createReadStream (Content-Length, keep-alive); nothing else. */
const STATIC_SERVER = `
const fs = require('node:fs');
const http = require('node:http');
const routes = JSON.parse(process.argv[1]);
const server = http.createServer((req, res) => {
  const file = routes[req.url];
  if (!file) { res.writeHead(404, { 'Content-Length': 0 }); res.end(); return; }
  const size = fs.statSync(file).size;
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size, 'Accept-Ranges': 'bytes' });
  if (req.method === 'HEAD') { res.end(); return; }
  fs.createReadStream(file).pipe(res);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

function startStaticServer(routes: Record<string, string>): Promise<StaticServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', STATIC_SERVER, JSON.stringify(routes)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => reject(new Error(`static server exited ${code}: ${err}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      resolve({
        url: `http://127.0.0.1:${Number(out.slice(0, nl))}`,
        child,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}
