import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { startFakeHub, type FakeHub } from '../../fixtures/fakeHub.js';
import { whisperKitRepo } from '../../fixtures/generate.js';
import type { S3OriginConfig } from '../../../src/config/types.js';
import { connect } from '../../../src/ipc/client.js';
import type { MetricsJson } from '../../../src/ipc/accountingResults.js';
import { createS3Client } from '../../../src/origin/s3/s3Client.js';
import { figure } from '../figures.js';
import { BASE_REF } from '../fixture.js';
import { rssBytes, startDaemonProc, tempRoot, type DaemonProc } from '../harness.js';
import { repeat, spread, timed } from '../stats.js';
import type { Benchmark, Figure } from '../types.js';
import { freePort } from '../../fixtures/freePort.js';

const REPO = 'argmaxinc/whisperkit-coreml';
const VARIANT = 'openai_whisper-base';
const RUNNERS = 8;

interface Store {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  kind: string;
  stop(): Promise<void>;
}


/** The S3_ENDPOINT store, else a moto server started for this benchmark, else null (skipped). */
async function openStore(log: (m: string) => void): Promise<Store | null> {
  if (process.env.S3_ENDPOINT) {
    return {
      endpoint: process.env.S3_ENDPOINT,
      accessKeyId: process.env.S3_ACCESS_KEY ?? '',
      secretAccessKey: process.env.S3_SECRET_KEY ?? '',
      region: process.env.S3_REGION ?? 'us-east-1',
      kind: 'S3_ENDPOINT',
      stop: async () => {},
    };
  }
  const port = await freePort();
  const python = process.env.MOTO_PYTHON ?? 'python3';
  let child: ChildProcess;
  try {
    child = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  } catch {
    return null;
  }
  const failed = new Promise<null>((r) => {
    child.once('error', () => r(null));
    child.once('exit', () => r(null));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const ready = (async () => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        await (await fetch(`${endpoint}/`)).arrayBuffer();
        return true;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    return null;
  })();
  const ok = await Promise.race([ready, failed]);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  if (!ok) {
    await stop();
    log(`tier: no S3_ENDPOINT and ${python} -m moto.server did not start`);
    return null;
  }
  return { endpoint, accessKeyId: 'testing', secretAccessKey: 'testing', region: 'us-east-1', kind: 'moto', stop };
}

/**
 * The fleet tier. (1) Tier-hit throughput: a cold get of the WhisperKit base variant (~150 MB) by a
 * read-only daemon whose tier holds every blob (stream from the store, sha256 in the same pass, fsync,
 * admit), vs a plain SDK GetObject of the same objects to disk with the same concurrency (4). (2) Fan-out:
 * RSS of 8 runners' daemons (separate processes and caches) while they all take the model from the tier
 * at once: each daemon's peak must stay bounded, far below the model's size. Uses the S3_ENDPOINT store,
 * else a moto server; skipped with a note when neither is available.
 */
export const tier: Benchmark = {
  name: 'tier',
  describe: 'fleet tier: a tier-hit get vs a plain SDK GET of the same objects; daemon RSS while 8 runners miss from the tier',
  async run(ctx) {
    const store = await openStore(ctx.log);
    if (!store) {
      return [
        {
          benchmark: 'tier',
          name: 'tier hit throughput',
          unit: 'MB/s',
          value: 0,
          note: 'skipped: no S3 store (set S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY, or install moto for python3 -m moto.server)',
        },
      ];
    }
    const tmp = tempRoot('tier');
    const daemons: DaemonProc[] = [];
    let hub: FakeHub | null = null;
    const bucket = `vc-bench-${randomBytes(5).toString('hex')}`;
    const s3 = (mode: S3OriginConfig['mode']): S3OriginConfig => ({
      type: 's3',
      endpoint: store.endpoint,
      bucket,
      prefix: '',
      region: store.region,
      accessKeyId: store.accessKeyId,
      secretAccessKey: store.secretAccessKey,
      forcePathStyle: true,
      mode,
      trustMetadata: false,
      uploadQueue: { maxBlobs: 64, maxBytesInFlight: 2e9 },
    });
    const { sdk, client } = await createS3Client(s3('read-write'), { maxAttempts: 3 });
    try {
      await client.send(new sdk.CreateBucketCommand({ Bucket: bucket }));
      hub = await startFakeHub({ repos: [whisperKitRepo({ weightScale: 1 })], treePageSize: 1000 });
      const repo = hub.repos.get(REPO)!;
      const files = [...repo.commits.get(repo.refs.get('main')!)!.values()].filter((f) => f.path.startsWith(`${VARIANT}/`));
      const bytes = files.reduce((a, f) => a + f.bytes.length, 0);
      const blobs = [...new Set(files.map((f) => f.sha256))];

      const daemon = async (name: string, mode: S3OriginConfig['mode']): Promise<DaemonProc> => {
        const root = path.join(tmp.dir, name);
        fs.mkdirSync(root, { recursive: true, mode: 0o700 });
        const configPath = path.join(root, 'cache-config.json');
        const socketPath = path.join(root, 'run', 'daemon.sock');
        const { type: _t, uploadQueue: _u, trustMetadata: _m, ...entry } = s3(mode);
        fs.writeFileSync(
          configPath,
          JSON.stringify({
            cacheDir: path.join(root, 'cache'),
            socketPath,
            maxSize: '20GB',
            origins: [{ type: 's3', ...entry }, { type: 'huggingface', endpoint: hub!.endpoint }],
            log: { level: 'warn', file: path.join(root, 'daemon.log') },
          }),
        );
        const d = await startDaemonProc(ctx.distDir, configPath, socketPath);
        daemons.push(d);
        return d;
      };
      const metrics = async (d: DaemonProc): Promise<MetricsJson> => {
        const c = await connect({ socketPath: d.socketPath });
        try {
          return (await c.call('metrics', {})) as MetricsJson;
        } finally {
          await c.close();
        }
      };

      // Runner A fills the tier from the Hub.
      ctx.log('tier: seeding the bucket from the fake Hub');
      const a = await daemon('a', 'read-write');
      const ca = await connect({ socketPath: a.socketPath });
      await ca.call('get', { model: BASE_REF, lease: false, client: 'bench' });
      await ca.close();
      const deadline = Date.now() + 300_000;
      for (;;) {
        const live = (await metrics(a)).tier.live;
        if (live && live.uploadPending === 0 && live.uploaded + live.uploadExisted >= blobs.length) break;
        if (Date.now() > deadline) throw new Error(`the tier did not receive ${blobs.length} blobs: ${JSON.stringify(live)}`);
        await new Promise((r) => setTimeout(r, 200));
      }

      // (1) Tier-hit get vs plain SDK GETs.
      const b = await daemon('b', 'read-only');
      const cb = await connect({ socketPath: b.socketPath });
      const ours: number[] = [];
      const plain: number[] = [];
      const hashed: number[] = [];
      let n = 0;
      /** GetObject of every blob to disk, 4 at a time; with `hash`, sha256 in the same pass (checked). */
      const plainGet = async (hash: boolean): Promise<number> => {
        const out = path.join(tmp.dir, `plain-${n++}`);
        fs.mkdirSync(out);
        const queue = [...blobs];
        let got = 0;
        const ms = await timed(async () => {
          await Promise.all(
            Array.from({ length: 4 }, async () => {
              for (let sha = queue.shift(); sha; sha = queue.shift()) {
                const r = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: `blobs/sha256/${sha}` }));
                const file = path.join(out, sha);
                if (hash) {
                  const h = createHash('sha256');
                  const tap = new Transform({
                    transform(chunk: Buffer, _e, done) {
                      h.update(chunk);
                      done(null, chunk);
                    },
                  });
                  await pipeline(r.Body as Readable, tap, fs.createWriteStream(file));
                  if (h.digest('hex') !== sha) throw new Error(`plain GET of ${sha}: wrong bytes`);
                } else await pipeline(r.Body as Readable, fs.createWriteStream(file));
                got += fs.statSync(file).size;
              }
            }),
          );
        });
        fs.rmSync(out, { recursive: true, force: true });
        const unique = blobs.reduce((s, sha) => s + files.find((f) => f.sha256 === sha)!.bytes.length, 0);
        if (got !== unique) throw new Error(`plain GET got ${got} bytes, expected ${unique}`);
        return ms;
      };
      await repeat(
        Math.min(ctx.reps, 3),
        async () => {
          const ms = await timed(async () => {
            const r = await cb.call('get', { model: BASE_REF, lease: false, client: 'bench' });
            if (r.hit || r.bytes !== bytes) throw new Error(`expected a miss of ${bytes} bytes, got hit=${r.hit} ${r.bytes}`);
          });
          await cb.call('evict', { model: BASE_REF });
          ours.push(ms);
          plain.push(await plainGet(false));
          hashed.push(await plainGet(true));
        },
        1,
      );
      await cb.close();
      const mB = await metrics(b);
      if (mB.tier.live!.uploaded !== 0 || mB.bytesDownloaded !== 0) throw new Error('the read-only runner uploaded or downloaded from the Hub');
      const mbps = (ms: number[]) => spread(ms.map((m) => bytes / 1e6 / (m / 1000)));
      const o = mbps(ours);
      const p = mbps(plain);
      const h = mbps(hashed);
      const figures: Figure[] = [
        figure('tier', 'tier hit throughput', 'MB/s', o, {
          refSpread: p,
          refName: 'plain SDK GetObject to disk',
          target: '>= 0.8× plain GET',
          pass: o.median / p.median >= 0.8,
          note: `${files.length} files (${blobs.length} blobs), ${(bytes / 1e6).toFixed(0)} MB from ${store.kind}; ours streams, hashes (sha256, git SHA-1 for small files), fsyncs and admits`,
        }),
        figure('tier', 'tier hit vs GET+sha256', 'MB/s', o, {
          refSpread: h,
          refName: 'plain SDK GetObject + sha256 to disk',
          target: '>= 0.8× (hash in the same pass)',
          pass: o.median / h.median >= 0.8,
        }),
      ];

      // (2) 8 runners' misses fan out from the tier at once.
      const runners: DaemonProc[] = [];
      for (let i = 0; i < RUNNERS; i++) runners.push(await daemon(`r${i}`, 'read-only'));
      const idle = runners.map((d) => rssBytes(d.pid));
      const peak = [...idle];
      const sampler = setInterval(() => {
        runners.forEach((d, i) => {
          const r = rssBytes(d.pid);
          if (r > peak[i]!) peak[i] = r;
        });
      }, 25);
      const fanMs = await timed(() =>
        Promise.all(
          runners.map(async (d) => {
            const c = await connect({ socketPath: d.socketPath });
            try {
              const r = await c.call('get', { model: BASE_REF, lease: false, client: 'bench' });
              if (r.bytes !== bytes) throw new Error('fan-out get returned the wrong model');
            } finally {
              await c.close();
            }
          }),
        ),
      );
      clearInterval(sampler);
      const mb = (x: number) => x / 1e6;
      const peakMax = Math.max(...peak);
      const idleMax = Math.max(...idle);
      const growth = Math.max(...peak.map((x, i) => x - idle[i]!));
      figures.push(
        figure('tier', `daemon peak RSS, ${RUNNERS} runners missing from the tier at once`, 'MB', spread([mb(peakMax)]), {
          refSpread: spread([mb(idleMax)]),
          refName: 'idle daemon RSS',
          target: `growth < 200 MB per daemon (model ${(bytes / 1e6).toFixed(0)} MB)`,
          pass: mb(growth) < 200,
          note: `largest growth over idle ${mb(growth).toFixed(0)} MB; ${RUNNERS} daemons took ${(RUNNERS * bytes / 1e6).toFixed(0)} MB from the tier in ${(fanMs / 1000).toFixed(1)} s`,
        }),
      );
      return figures;
    } finally {
      for (const d of daemons) await d.stop();
      await hub?.close();
      try {
        for (;;) {
          const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket }));
          const keys = (page.Contents ?? []).map((o) => o.Key!);
          if (keys.length === 0) break;
          for (const Key of keys) await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key }));
        }
        await client.send(new sdk.DeleteBucketCommand({ Bucket: bucket }));
      } catch {
        // best effort: a moto store goes away with its process
      }
      client.destroy();
      await store.stop();
      tmp.dispose();
    }
  },
};
