import { CacheError } from '../../src/errors.js';

/**
 * The CacheError a promise rejects with. Fails the test if the promise resolves; any other
 * rejection is rethrown unchanged, so an unexpected failure surfaces as itself.
 */
export async function cacheErrorOf(p: Promise<unknown>): Promise<CacheError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CacheError) return e;
    throw e;
  }
  throw new Error('expected a CacheError, but the promise resolved');
}

/** The code of the CacheError a promise rejects with, or 'ok' when it resolves. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CacheError) return e.code;
    throw e;
  }
  return 'ok';
}
