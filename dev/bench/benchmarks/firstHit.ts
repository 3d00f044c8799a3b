import { performance } from 'node:perf_hooks';
import { connect } from '../../../src/ipc/client.js';
import { figure } from '../figures.js';
import { openSandbox, TINY_REF } from '../fixture.js';
import { startDaemonProc } from '../harness.js';
import { percentile, repeat, spread } from '../stats.js';
import type { Benchmark } from '../types.js';

/** Daemon starts per repetition; each gives one first get and one second get. */
const STARTS = 10;

/**
 * The first get of a cached 17-file model after a daemon start (which lstats every file of the model
 * against its fingerprint before serving it) vs the second get on the same connection (a memory
 * lookup). Per repetition: p50 over STARTS daemon starts; figures are medians over repetitions.
 */
export const firstHit: Benchmark = {
  name: 'first-hit',
  describe: 'first get of a cached 17-file model after a daemon start (files lstat-checked) vs the second get',
  async run(ctx) {
    const sb = await openSandbox(ctx.distDir, { warm: [TINY_REF], prefix: 'first' });
    try {
      const firsts: number[] = [];
      const seconds: number[] = [];
      await repeat(ctx.reps, async () => {
        const f: number[] = [];
        const s: number[] = [];
        for (let i = 0; i < STARTS; i++) {
          await sb.daemon.stop();
          sb.daemon = await startDaemonProc(ctx.distDir, sb.configPath, sb.socketPath);
          const c = await connect({ socketPath: sb.socketPath });
          try {
            let t = performance.now();
            const a = await c.call('get', { model: TINY_REF, lease: false, client: 'bench' });
            f.push(performance.now() - t);
            t = performance.now();
            const b = await c.call('get', { model: TINY_REF, lease: false, client: 'bench' });
            s.push(performance.now() - t);
            if (!a.hit || !b.hit) throw new Error('first-hit: the cached model was not a hit after a restart');
          } finally {
            await c.close();
          }
        }
        firsts.push(percentile(f, 50));
        seconds.push(percentile(s, 50));
      });
      const ours = spread(firsts);
      return [
        figure('first-hit', 'first hit after start p50', 'ms', ours, {
          refSpread: spread(seconds),
          refName: 'second get p50',
          note: `${STARTS} daemon starts per repetition; 17-file model; one connection, lease:false; client round trip included`,
        }),
      ];
    } finally {
      await sb.dispose();
    }
  },
};
