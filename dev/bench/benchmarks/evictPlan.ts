import { openCache } from '../../../src/cache/openCache.js';
import { planEviction, type PlanModel } from '../../../src/lru/planEviction.js';
import { figure } from '../figures.js';
import { sharedSeed } from '../seedIndex.js';
import { repeat, spread } from '../stats.js';
import type { Benchmark } from '../types.js';

const MODELS = 10_000;

/**
 * Choosing what to evict among 10,000 models: the pure planner (lru/planEviction) over the cache's
 * in-memory model list (list() → PlanModel[] → plan), for an incoming model that forces evicting down to
 * the low watermark (about 10% of the models).
 */
export const evictPlan: Benchmark = {
  name: 'evict-plan',
  describe: 'planEviction among 10,000 models (from the cache list, in memory)',
  async run(ctx) {
    {
      const { cacheDir, ms: seedMs } = await sharedSeed(MODELS);
      ctx.log(`seeded ${MODELS} models in ${(seedMs / 1000).toFixed(1)} s`);
      const cache = openCache({ cacheDir, limitBytes: 1e15, lowWatermark: 0.9 });
      try {
        const totals = cache.totals();
        let planned = 0;
        const plan = (): number => {
          const t0 = performance.now();
          const models: PlanModel[] = cache.list().map((m) => ({ id: m.id, size: m.size, lastAccess: m.lastAccess, pinned: m.pinned, leased: false }));
          const p = planEviction({
            models,
            usedBytes: totals.usedBytes,
            reservedBytes: 0,
            incomingBytes: 1,
            limitBytes: totals.usedBytes,
            lowWatermark: 0.9,
          });
          planned = p.evict.length;
          return performance.now() - t0;
        };
        const ms = await repeat(Math.max(ctx.reps, 20), async () => plan(), 3);
        const s = spread(ms);
        return [
          figure('evict-plan', `plan among ${cache.list().length} models`, 'ms', s, {
            target: '<= 100 ms',
            pass: s.median <= 100,
            note: `evicts ${planned} models down to the 90% watermark; includes building the input from cache.list()`,
          }),
        ];
      } finally {
        cache.close();
      }
    }
  },
};
