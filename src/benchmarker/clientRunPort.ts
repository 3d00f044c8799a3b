import { z } from '../vendor/zod.js';
import { CacheError, ErrorCodes } from '../errors.js';
import type { Method, ParamsOf, ResultOf } from '../ipc/protocol.js';
import type { CacheRunPort, RunCacheStats } from './types.js';

/** What the adapter needs: the `call` of an IPC client or a CLI session. */
export interface RunPortCaller {
  call<M extends Method>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>>;
}

const n = z.number().nonnegative();
const statsReply = z.object({
  hits: z.number().int().nonnegative(),
  misses: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  hitRate: z.number().min(0).max(1).nullable(),
  bytesDownloaded: n,
  bytesAvoided: n,
  timeSavedMs: n,
  breakdown: z.array(z.record(z.string(), z.unknown())).optional(),
});
const runStartReply = z.object({ id: z.string().min(1) });

function malformed(method: string, issue: string): CacheError {
  return new CacheError(ErrorCodes.INTERNAL, `the daemon's ${method} reply is malformed (${issue})`);
}

/**
 * A CacheRunPort over the daemon's `runStart` / `runEnd` / `stats {run, by: 'model'}` calls. Replies are
 * validated; the models with misses in the run become `missedModels` (for "warm these" advice).
 */
export function cacheRunPortFrom(caller: RunPortCaller): CacheRunPort {
  return {
    async startRun(label) {
      const r = runStartReply.safeParse(await caller.call('runStart', { label }));
      if (!r.success) throw malformed('runStart', r.error.issues[0]?.message ?? 'no id');
      return r.data.id;
    },
    async endRun(id) {
      await caller.call('runEnd', { id });
    },
    async runStats(id): Promise<RunCacheStats | null> {
      const r = statsReply.safeParse(await caller.call('stats', { run: id, by: 'model' }));
      if (!r.success) throw malformed('stats', `${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`);
      const { breakdown, ...numbers } = r.data;
      const missedModels = (breakdown ?? []).flatMap((g) =>
        typeof g.model === 'string' && typeof g.misses === 'number' && g.misses > 0 ? [g.model] : [],
      );
      return { ...numbers, missedModels };
    },
  };
}
