import fs from 'node:fs';
import path from 'node:path';
import { whisperKitRepo } from '../../fixtures/generate.js';
import { connect } from '../../../src/ipc/client.js';
import { figure } from '../figures.js';
import { BASE_REF, openSandbox } from '../fixture.js';
import { cpuMs, runChild } from '../harness.js';
import { repeat, spread, timed } from '../stats.js';
import type { Benchmark } from '../types.js';

const REPO = 'argmaxinc/whisperkit-coreml';
const VARIANT = 'openai_whisper-base';

/**
 * A cold get of the WhisperKit base variant with weights scaled to ~290 MB from the fake Hub on
 * loopback (the daemon in its own process: Hub API, downloads, BlobWriter hashing sha256 (+ git SHA-1 for small files),
 * fsync, admit), vs a plain node:http download of the same 17 files to disk in a child process with the
 * daemon's concurrency (4), with and without sha256 in the same pass. The model is evicted between
 * repetitions (blobs go with it), so every repetition is a full miss. Also the daemon's CPU time per miss
 * against the plain download's with sha256: on a loaded machine the work done moves less than the time.
 */
export const miss: Benchmark = {
  name: 'miss',
  describe: 'cold get of ~290 MB from the fake Hub on loopback vs a plain HTTP download to disk',
  async run(ctx) {
    const sb = await openSandbox(ctx.distDir, { repo: whisperKitRepo({ weightScale: 2 }), prefix: 'miss' });
    try {
      const repo = sb.hub.repos.get(REPO)!;
      const commit = repo.refs.get('main')!;
      const files = [...repo.commits.get(commit)!.values()].filter((f) => f.path.startsWith(`${VARIANT}/`));
      const bytes = files.reduce((a, f) => a + f.bytes.length, 0);
      const urls = files.map((f) => ({ url: `${sb.hub.endpoint}/${REPO}/resolve/${commit}/${f.path}`, path: f.path }));
      const c = await connect({ socketPath: sb.socketPath });
      const ours: number[] = [];
      const plain: number[] = [];
      const hashed: number[] = [];
      const ourCpu: number[] = [];
      const refCpu: number[] = [];
      const reps = Math.min(ctx.reps, 3);
      let n = 0;
      const plainRun = async (hash: boolean) => {
        const outDir = path.join(sb.root, `plain-${n++}`);
        const r = await runChild<{ ms: number; bytes: number; cpuMs: number }>('httpDownload', { files: urls, outDir, concurrency: 4, hash });
        fs.rmSync(outDir, { recursive: true, force: true });
        if (r.bytes !== bytes) throw new Error(`plain download got ${r.bytes} bytes, expected ${bytes}`);
        return r;
      };
      await repeat(
        reps,
        async (i) => {
          const cpu0 = cpuMs(sb.daemon.pid);
          const ms = await timed(async () => {
            const r = await c.call('get', { model: BASE_REF, lease: false, client: 'bench' });
            if (r.hit || r.bytes !== bytes) throw new Error(`expected a miss of ${bytes} bytes, got hit=${r.hit} ${r.bytes}`);
          });
          const cpu = cpuMs(sb.daemon.pid) - cpu0;
          await c.call('evict', { model: BASE_REF });
          const p = await plainRun(false);
          const h = await plainRun(true);
          if (i >= 0) {
            ours.push(ms);
            plain.push(p.ms);
            hashed.push(h.ms);
            ourCpu.push(cpu);
            refCpu.push(h.cpuMs);
          }
        },
        1,
      );
      await c.close();
      const mbps = (ms: number[]) => spread(ms.map((m) => bytes / 1e6 / (m / 1000)));
      const o = mbps(ours);
      const p = mbps(plain);
      const h = mbps(hashed);
      const note = `${files.length} files, ${(bytes / 1e6).toFixed(0)} MB; ours includes Hub API calls, sha256 (git SHA-1 only for files up to 10 MiB), fsync and admission; the plain download does not fsync`;
      const ifMissed = 'bench/README.md (miss path) has the profile and what is left.';
      const perGb = (ms: number[]) => spread(ms.map((m) => m / 1000 / (bytes / 1e9)));
      return [
        figure('miss', 'cold get', 'MB/s', o, { refSpread: p, refName: 'plain download to disk', target: '>= 0.85× plain download', note, ifMissed }),
        figure('miss', 'cold get vs download+sha256', 'MB/s', o, { refSpread: h, refName: 'plain download + sha256', target: '>= 0.95× (hash in the same pass)', ifMissed }),
        figure('miss', 'daemon CPU per GB', 's/GB', perGb(ourCpu), {
          refSpread: perGb(refCpu),
          refName: 'plain download + sha256, CPU per GB',
          ratioMeaning: 'ours/reference CPU time (lower is better)',
          note: 'utime + stime of the daemon over each miss (all its threads), and of the plain-download child',
        }),
      ];
    } finally {
      await sb.dispose();
    }
  },
};
