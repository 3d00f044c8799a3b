import path from 'node:path';
import { figure } from '../figures.js';
import { openSandbox, TINY_REF } from '../fixture.js';
import { sandboxEnv, timeProcess } from '../harness.js';
import { repeat, spread } from '../stats.js';
import type { Benchmark } from '../types.js';

/**
 * Whole-process wall time of the built CLI against a running daemon: `status` and `get` of a cached model
 * (a hit), vs `node -e 0` (bare Node start-up) on the same machine.
 */
export const cli: Benchmark = {
  name: 'cli',
  describe: 'wall time of `cache-manager status` and `cache-manager get` (hit) as whole processes',
  async run(ctx) {
    const sb = await openSandbox(ctx.distDir, { warm: [TINY_REF], prefix: 'cli' });
    try {
      const env = sandboxEnv(sb.configPath);
      const main = path.join(ctx.distDir, 'cli/main.js');
      const node: number[] = [];
      const status: number[] = [];
      const get: number[] = [];
      await repeat(
        Math.max(ctx.reps, 10),
        async (i) => {
          const n = await timeProcess(process.execPath, ['-e', '0'], env);
          const s = await timeProcess(process.execPath, [main, 'status'], env);
          const g = await timeProcess(process.execPath, [main, 'get', TINY_REF], env);
          if (i >= 0) {
            node.push(n);
            status.push(s);
            get.push(g);
          }
        },
        2,
      );
      const ref = spread(node);
      return [
        figure('cli', 'cache-manager status', 'ms', spread(status), { refSpread: ref, refName: 'node -e 0', ratioMeaning: 'ours/node start-up' }),
        figure('cli', 'cache-manager get (hit)', 'ms', spread(get), { refSpread: ref, refName: 'node -e 0', ratioMeaning: 'ours/node start-up' }),
      ];
    } finally {
      await sb.dispose();
    }
  },
};
