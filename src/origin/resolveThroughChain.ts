import { CacheError, ErrorCodes, toErrorShape } from '../errors.js';
import type { Log } from '../logger.js';
import type { Listing, ModelRef, Origin } from './types.js';

/**
 * The origins are an ordered chain: a reference is resolved by the first origin that knows it; the
 * others' failures are logged, and when every origin fails the first failure is thrown (it is the
 * most authoritative: the configured order is the preference). A new kind of origin (a shared remote
 * tier, another mirror) joins the chain by implementing `Origin`; nothing here changes.
 */
export async function resolveThroughChain(
  origins: readonly Origin[],
  ref: ModelRef,
  signal: AbortSignal | undefined,
  logger?: Pick<Log, 'warn'>,
): Promise<{ listing: Listing; origin: Origin }> {
  if (origins.length === 0) {
    throw new CacheError(ErrorCodes.CONFIG, 'no origins configured: add one to "origins" in the config');
  }
  let firstError: unknown = null;
  for (const origin of origins) {
    try {
      return { listing: await origin.resolve(ref, signal), origin };
    } catch (err) {
      if (firstError === null) firstError = err;
      logger?.warn({ origin: origin.name, err: toErrorShape(err) }, 'origin could not resolve model');
    }
  }
  throw firstError;
}
