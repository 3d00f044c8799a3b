import { figure } from '../figures.js';
import { openSandbox, TINY_REF } from '../fixture.js';
import { rssBytes } from '../harness.js';
import { runHitClients } from '../hitRuns.js';
import { percentile, spread } from '../stats.js';
import type { Benchmark } from '../types.js';

const TOTAL = 100_000;
const CONNS = 8;
const MB = 1024 * 1024;

/**
 * 100,000 leased gets (get + release) over 8 connections in 4 client processes. Daemon RSS from
 * /proc before (idle, after warm-up) and after; p99 of the first 10,000 vs the last 10,000 gets (by
 * per-connection order: the first/last 1,250 of each connection).
 */
export const soak: Benchmark = {
  name: 'soak',
  describe: '100,000 gets over 8 connections: daemon RSS before/after, p99 first vs last 10k',
  async run(ctx) {
    const sb = await openSandbox(ctx.distDir, { warm: [TINY_REF], prefix: 'soak' });
    try {
      const pid = sb.daemon.pid;
      await new Promise((r) => setTimeout(r, 1500));
      const idle = rssBytes(pid);
      const run = await runHitClients(ctx.distDir, { socketPath: sb.socketPath, model: TINY_REF, connections: CONNS, gets: TOTAL / CONNS, warmup: 50, leased: true }, 4);
      await new Promise((r) => setTimeout(r, 2500));
      const after = rssBytes(pid);
      // A second, identical round: a leak keeps growing, a heap high-water mark does not.
      await runHitClients(ctx.distDir, { socketPath: sb.socketPath, model: TINY_REF, connections: CONNS, gets: TOTAL / CONNS, warmup: 0, leased: true }, 4);
      await new Promise((r) => setTimeout(r, 2500));
      const after2 = rssBytes(pid);
      const k = 10_000 / CONNS;
      const first = run.perConnection.flatMap((l) => l.slice(0, k));
      const last = run.perConnection.flatMap((l) => l.slice(-k));
      const one = (x: number) => spread([x]);
      const growth = (after - idle) / MB;
      const b = 'soak';
      const note = `${TOTAL} leased gets (get timed, release not) over ${CONNS} connections in 4 processes, ${(run.elapsedMs / 1000).toFixed(1)} s`;
      return [
        figure(b, 'daemon RSS idle', 'MB', one(idle / MB), { target: '<= 80 MB', pass: idle / MB <= 80, note: 'after start-up and one warm get, from /proc/<pid>/status VmRSS' }),
        figure(b, 'daemon RSS after', 'MB', one(after / MB), { note }),
        figure(b, 'RSS growth', 'MB', one(growth), { target: '<= 10 MB', pass: growth <= 10 }),
        figure(b, 'RSS growth, 2nd 100k', 'MB', one((after2 - after) / MB), { note: 'same load again: flat means the first growth was a high-water mark, not a leak' }),
        figure(b, 'p99 last 10k', 'ms', one(percentile(last, 99)), {
          reference: { name: 'p99 first 10k', value: Math.round(percentile(first, 99) * 1000) / 1000 },
          ratio: percentile(last, 99) / percentile(first, 99),
          ratioMeaning: 'last/first; flat is ~1',
        }),
      ];
    } finally {
      await sb.dispose();
    }
  },
};
