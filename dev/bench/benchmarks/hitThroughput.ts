import { figure } from '../figures.js';
import { openSandbox, TINY_REF } from '../fixture.js';
import { all, runHitClients } from '../hitRuns.js';
import { percentile, repeat, spread } from '../stats.js';
import type { Benchmark, Figure } from '../types.js';

const DURATION_MS = 1500;
const LEVELS = [1, 8, 32];
/** Client processes per level: enough that one client event loop is not the limit, few enough for 2 cores. */
const processesFor = (conns: number) => Math.min(conns, 4);

/**
 * Closed-loop gets of a cached model from N concurrent connections spread over several client
 * processes for a fixed time: total gets/s and p99. No reference process: the bar is absolute.
 */
export const hitThroughput: Benchmark = {
  name: 'hit-throughput',
  describe: 'gets/s and p99 with 1, 8 and 32 concurrent connections (separate client processes)',
  async run(ctx) {
    const sb = await openSandbox(ctx.distDir, { warm: [TINY_REF], prefix: 'thr' });
    try {
      const figs: Figure[] = [];
      for (const conns of LEVELS) {
        const runs = await repeat(Math.min(ctx.reps, 3), () =>
          runHitClients(ctx.distDir, { socketPath: sb.socketPath, model: TINY_REF, connections: conns, durationMs: DURATION_MS, warmup: 100 }, processesFor(conns)),
        );
        const rate = spread(runs.map((r) => all(r).length / (r.elapsedMs / 1000)));
        const p99 = spread(runs.map((r) => percentile(all(r), 99)));
        const note = `${conns} connection(s) over ${processesFor(conns)} client process(es), ${DURATION_MS} ms closed loop, lease:false`;
        figs.push(
          figure('hit-throughput', `gets/s, ${conns} conn`, 'gets/s', rate, {
            note,
            ...(conns === 8 ? { target: '>= 10000 gets/s', pass: rate.median >= 10_000 } : {}),
          }),
          figure('hit-throughput', `p99, ${conns} conn`, 'ms', p99, { note }),
        );
      }
      return figs;
    } finally {
      await sb.dispose();
    }
  },
};
