import path from 'node:path';
import { connect } from '../../../src/ipc/client.js';
import { startBareServer } from '../bareServer.js';
import { figure } from '../figures.js';
import { openSandbox, TINY_REF } from '../fixture.js';
import { all, runHitClients, type HitRun } from '../hitRuns.js';
import { percentile, repeat, spread } from '../stats.js';
import type { Benchmark, Figure } from '../types.js';

const GETS = 3000;

/**
 * Sequential gets of a cached 17-file model from a separate client process over the daemon's socket
 * (accounting on, no lease), vs the same client against a bare server with the same framing that does
 * no work. Per repetition: p50, p99, max; figures are medians over repetitions with min–max.
 */
export const hitLatency: Benchmark = {
  name: 'hit-latency',
  describe: 'get of a cached 17-file model, one client process, sequential: p50/p99/max vs a bare framed round trip',
  async run(ctx) {
    const sb = await openSandbox(ctx.distDir, { warm: [TINY_REF], prefix: 'lat' });
    try {
      const c = await connect({ socketPath: sb.socketPath });
      const sample = await c.call('get', { model: TINY_REF, lease: false, client: 'bench' });
      await c.close();
      const bareSock = path.join(sb.root, 'bare.sock');
      const bare = await startBareServer(bareSock, sample);
      const ours: HitRun[] = [];
      const refs: HitRun[] = [];
      try {
        await repeat(ctx.reps, async () => {
          ours.push(await runHitClients(ctx.distDir, { socketPath: sb.socketPath, model: TINY_REF, connections: 1, gets: GETS }));
          refs.push(await runHitClients(ctx.distDir, { socketPath: bareSock, model: TINY_REF, connections: 1, gets: GETS }));
        });
      } finally {
        await bare.close();
      }
      const q = (runs: HitRun[], p: number) => spread(runs.map((r) => percentile(all(r), p)));
      const mx = (runs: HitRun[]) => spread(runs.map((r) => Math.max(...all(r))));
      const b = 'hit-latency';
      const figs: Figure[] = [
        figure(b, 'get p50', 'ms', q(ours, 50), { refSpread: q(refs, 50), refName: 'bare round trip p50', target: '<= 0.3 ms', pass: q(ours, 50).median <= 0.3 }),
        figure(b, 'get p99', 'ms', q(ours, 99), { refSpread: q(refs, 99), refName: 'bare round trip p99', target: '<= 2 ms', pass: q(ours, 99).median <= 2 }),
        figure(b, 'get max', 'ms', mx(ours), { refSpread: mx(refs), refName: 'bare round trip max' }),
      ];
      figs.forEach((f) => (f.note = `${GETS} sequential gets per repetition, 1 connection, accounting on, lease:false`));
      return figs;
    } finally {
      await sb.dispose();
    }
  },
};
