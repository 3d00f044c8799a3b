import os from 'node:os';
import path from 'node:path';
import { figure } from '../figures.js';
import { startDaemonProc, tempRoot, timeProcess, writeConfig } from '../harness.js';
import { sharedSeed } from '../seedIndex.js';
import { repeat, spread } from '../stats.js';
import type { Benchmark } from '../types.js';

const MODELS = 10_000;
/** The bar: daemon ready within this many times bare Node start-up (`node -e 0`), same run. */
const BAR = 3;

const load = () => Math.round(os.loadavg()[0]! * 100) / 100;

/**
 * Daemon ready: spawn `cache-manager daemon run` (the built CLI) until it answers `hello` on its socket,
 * with 10,000 models in the index and with an empty one, each against `node -e 0` measured in the same
 * rounds. Includes Node start-up and module loading.
 */
export const startup: Benchmark = {
  name: 'startup',
  describe: 'daemon ready (answers hello) with 10,000 models in the index and with an empty one, vs node -e 0',
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
      const node: number[] = [];
      const loadStart = load();
      await repeat(
        Math.max(ctx.reps, 7),
        async (i) => {
          const n = await timeProcess(process.execPath, ['-e', '0']);
          const a = await once(fc);
          const b = await once(ec);
          if (i >= 0) {
            node.push(n);
            withModels.push(a);
            bare.push(b);
          }
        },
        1,
      );
      const loadEnd = load();
      const ref = spread(node);
      const note = (what: string) =>
        `spawn of the built CLI \`daemon run\` until hello answers (node start-up, module load, ${what}, socket, watchers); load average ${loadStart} -> ${loadEnd}`;
      return [
        [`ready with ${MODELS} models`, spread(withModels), note(`index open and load of ${MODELS} models`)] as const,
        ['ready with an empty index', spread(bare), note('empty index')] as const,
      ].map(([name, s, n]) =>
        figure('startup', name, 'ms', s, {
          refSpread: ref,
          refName: 'node -e 0',
          ratio: s.median / ref.median,
          ratioMeaning: 'ours/node start-up',
          target: `<= ${BAR}x node -e 0`,
          pass: s.median / ref.median <= BAR,
          note: n,
        }),
      );
    } finally {
      tmp.dispose();
    }
  },
};
