import os from 'node:os';
import path from 'node:path';
import { figure } from '../figures.js';
import { openSandbox, TINY_REF } from '../fixture.js';
import { sandboxEnv, timeProcess } from '../harness.js';
import { repeat, spread } from '../stats.js';
import type { Benchmark } from '../types.js';

/** 1-minute load average, rounded, for the figures' notes: ratios are comparable only within one run. */
const load = () => Math.round(os.loadavg()[0]! * 100) / 100;

/**
 * Whole-process wall time of the built CLI against a running daemon: `get` of a cached model (a hit),
 * `status`, `daemon status` and `release` (of an ended lease), each against `node -e 0` (bare Node
 * start-up) measured in the same rounds, interleaved, so the machine's load weighs on both alike.
 */
export const cli: Benchmark = {
  name: 'cli',
  describe: 'wall time of `cache-manager get` (hit), `status`, `daemon status`, `release` as whole processes vs `node -e 0`',
  async run(ctx) {
    const sb = await openSandbox(ctx.distDir, { warm: [TINY_REF], prefix: 'cli' });
    try {
      const env = sandboxEnv(sb.configPath);
      const main = path.join(ctx.distDir, 'cli/main.js');
      const commands: Array<{ name: string; args: string[]; bar: number }> = [
        { name: 'cache-manager get (hit)', args: ['get', TINY_REF], bar: 1.3 },
        { name: 'cache-manager status', args: ['status'], bar: 1.5 },
        { name: 'cache-manager daemon status', args: ['daemon', 'status'], bar: 1.5 },
        { name: 'cache-manager release', args: ['release', 'l-ended'], bar: 1.5 },
      ];
      const node: number[] = [];
      const times = commands.map((): number[] => []);
      const loadStart = load();
      await repeat(
        Math.max(ctx.reps, 15),
        async (i) => {
          const n = await timeProcess(process.execPath, ['-e', '0'], env);
          const t: number[] = [];
          for (const c of commands) t.push(await timeProcess(process.execPath, [main, ...c.args], env));
          if (i < 0) return;
          node.push(n);
          t.forEach((ms, j) => times[j]!.push(ms));
        },
        2,
      );
      const loadEnd = load();
      const ref = spread(node);
      return commands.map((c, j) => {
        const s = spread(times[j]!);
        const ratio = s.median / ref.median;
        return figure('cli', c.name, 'ms', s, {
          refSpread: ref,
          refName: 'node -e 0',
          ratio,
          ratioMeaning: 'ours/node start-up',
          target: `<= ${c.bar}x node -e 0`,
          pass: ratio <= c.bar,
          note: `medians of interleaved rounds; load average ${loadStart} -> ${loadEnd}`,
        });
      });
    } finally {
      await sb.dispose();
    }
  },
};
