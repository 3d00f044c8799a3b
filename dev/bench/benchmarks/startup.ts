import path from 'node:path';
import { figure } from '../figures.js';
import { startDaemonProc, tempRoot, writeConfig } from '../harness.js';
import { sharedSeed } from '../seedIndex.js';
import { repeat, spread } from '../stats.js';
import type { Benchmark } from '../types.js';

const MODELS = 10_000;

/**
 * Daemon ready: spawn `cache-manager daemon run` (the built CLI) until it answers `hello` on its socket,
 * with 10,000 models in the index vs an empty index (same run). Includes Node start-up and module loading.
 */
export const startup: Benchmark = {
  name: 'startup',
  describe: 'daemon ready (answers hello) with 10,000 models in the index vs an empty one',
  async run(ctx) {
    const tmp = tempRoot('startup');
    try {
      const full = path.join(tmp.dir, 'full');
      const empty = path.join(tmp.dir, 'empty');
      const { cacheDir, ms: seedMs } = await sharedSeed(MODELS);
      const fc = writeConfig({ root: full, cacheDir });
      const ec = writeConfig({ root: empty });
      ctx.log(`seeded ${MODELS} models in ${(seedMs / 1000).toFixed(1)} s`);
      const once = async (c: typeof fc) => {
        const d = await startDaemonProc(ctx.distDir, c.configPath, c.socketPath);
        await d.stop();
        return d.readyMs;
      };
      const withModels: number[] = [];
      const bare: number[] = [];
      await repeat(
        ctx.reps,
        async (i) => {
          const a = await once(fc);
          const b = await once(ec);
          if (i >= 0) {
            withModels.push(a);
            bare.push(b);
          }
        },
        1,
      );
      const s = spread(withModels);
      return [
        figure('startup', `ready with ${MODELS} models`, 'ms', s, {
          refSpread: spread(bare),
          refName: 'ready with an empty index',
          target: '<= 300 ms',
          pass: s.median <= 300,
          note: 'spawn of the built CLI `daemon run` until hello answers (includes node start-up, module load, watchers)',
        }),
      ];
    } finally {
      tmp.dispose();
    }
  },
};
