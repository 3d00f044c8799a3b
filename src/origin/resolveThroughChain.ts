import { CacheError, ErrorCodes, toErrorShape } from '../errors.js';
import type { Log } from '../logger.js';
import type { Listing, ModelRef, Origin } from './types.js';

/**
 * The origins are an ordered chain: a reference is resolved by the first origin that knows it; the
 * others' failures are logged, and when every origin fails the first failure is thrown (it is the
 * most authoritative: the configured order is the preference). A new kind of origin (a shared remote
 * tier, another mirror) joins the chain by implementing `Origin`; nothing here changes.
 *
 * `fallbacks` are sources of metadata that are trusted less than every origin (a fleet tier's refs and
 * listings, with trustMetadata): tried in order only when every origin was unreachable (a retryable
 * failure) or none is configured, never in place of an origin's answer (an origin that says "no such
 * repo" is believed). When they fail too, the origins' first failure is still the one thrown.
 */
export async function resolveThroughChain(
  origins: readonly Origin[],
  ref: ModelRef,
  signal: AbortSignal | undefined,
  logger?: Pick<Log, 'warn'>,
  fallbacks: readonly Origin[] = [],
): Promise<{ listing: Listing; origin: Origin }> {
  if (origins.length === 0 && fallbacks.length === 0) {
    throw new CacheError(ErrorCodes.CONFIG, 'no origins configured: add one to "origins" in the config');
  }
  let firstError: unknown = null;
  let unreachable = true;
  const attempt = async (origin: Origin) => {
    try {
      return { listing: await origin.resolve(ref, signal), origin };
    } catch (err) {
      if (firstError === null) firstError = err;
      if (!toErrorShape(err).retryable) unreachable = false;
      logger?.warn({ origin: origin.name, err: toErrorShape(err) }, 'origin could not resolve model');
      return null;
    }
  };
  for (const origin of origins) {
    const got = await attempt(origin);
    if (got) return got;
  }
  if (unreachable && !signal?.aborted) {
    for (const origin of fallbacks) {
      const got = await attempt(origin);
      if (got) return got;
    }
  }
  throw firstError;
}
