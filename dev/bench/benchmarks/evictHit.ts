import fs from 'node:fs';
import path from 'node:path';
import { connect } from '../../../src/ipc/client.js';
import { figure } from '../figures.js';
import { BIG_REF, bigModelRepo, openSandbox, TINY_REF } from '../fixture.js';
import { all, runHitClients, type HitRun } from '../hitRuns.js';
import { percentile, repeat, spread } from '../stats.js';
import type { Benchmark, Figure } from '../types.js';

const BIG_BYTES = 1_000_000_000;
const CONNECTIONS = 4;
const WINDOW_MS = 2000;
/** When the eviction is sent, after the hit clients are launched (they start measuring at about +500 ms). */
const EVICT_AT_MS = 1000;
const REPS = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the cache's tmp/ until nothing is left in it (the evicted files are deleted); ms waited. */
async function removalMs(tmpDir: string, since: number): Promise<number> {
  for (;;) {
    if (fs.readdirSync(tmpDir).length === 0) return performance.now() - since;
    await sleep(2);
  }
}

/**
 * Hits of a cached 17-file model from a separate client process (4 connections, closed loop, for 2 s)
 * while the daemon evicts a ~1 GB model (its files deleted as the hits run), vs the same run on an idle
 * daemon. Per repetition the big model is fetched again first. Figures: medians over repetitions.
 */
export const evictHit: Benchmark = {
  name: 'evict-hit',
  describe: 'get p99 while a ~1 GB model is evicted, vs an idle daemon (client process, 4 connections)',
  async run(ctx) {
    const sb = await openSandbox(ctx.distDir, { extraRepos: [bigModelRepo(BIG_BYTES)], warm: [TINY_REF], prefix: 'evh' });
    const tmpDir = path.join(sb.cacheDir, 'v1', 'tmp');
    try {
      const c = await connect({ socketPath: sb.socketPath });
      const idle: HitRun[] = [];
      const busy: HitRun[] = [];
      const removals: number[] = [];
      const fetches: number[] = [];
      try {
        await repeat(Math.min(ctx.reps, REPS), async () => {
          const f0 = performance.now();
          await c.call('get', { model: BIG_REF, lease: false, client: 'bench-warm' });
          fetches.push(performance.now() - f0);
          idle.push(await runHitClients(ctx.distDir, { socketPath: sb.socketPath, model: TINY_REF, connections: CONNECTIONS, durationMs: WINDOW_MS }));
          const hits = runHitClients(ctx.distDir, { socketPath: sb.socketPath, model: TINY_REF, connections: CONNECTIONS, durationMs: WINDOW_MS });
          await sleep(EVICT_AT_MS);
          const e0 = performance.now();
          const r = await c.call('evict', { model: BIG_REF });
          if (r.freedBytes < BIG_BYTES) throw new Error(`evict freed ${r.freedBytes} bytes, expected about ${BIG_BYTES}`);
          removals.push(await removalMs(tmpDir, e0));
          busy.push(await hits);
        });
      } finally {
        await c.close();
      }
      ctx.log(`big model fetched in ${fetches.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s; its files deleted in ${removals.map((ms) => ms.toFixed(0)).join(', ')} ms after evict`);
      const q = (runs: HitRun[], p: number) => spread(runs.map((r) => percentile(all(r), p)));
      const mx = (runs: HitRun[]) => spread(runs.map((r) => Math.max(...all(r))));
      const b = 'evict-hit';
      const note =
        `${CONNECTIONS} connections, ${WINDOW_MS} ms window, evict of a ${BIG_BYTES / 1e9} GB model sent ~${EVICT_AT_MS - 500} ms in; ` +
        `file deletion took ${spread(removals).median.toFixed(0)} ms (median); a stalled event loop delays one get per ` +
        'connection, which shows in max rather than p99';
      const figs: Figure[] = [
        figure(b, 'get p99 while a big model is evicted', 'ms', q(busy, 99), {
          refSpread: q(idle, 99),
          refName: 'get p99 on an idle daemon',
          target: '<= 5 ms',
          pass: q(busy, 99).median <= 5,
        }),
        figure(b, 'get max while a big model is evicted', 'ms', mx(busy), { refSpread: mx(idle), refName: 'get max on an idle daemon' }),
      ];
      figs.forEach((f) => (f.note = note));
      return figs;
    } finally {
      await sb.dispose();
    }
  },
};
