/**
 * Concurrent callers of `run` with the same key share one execution of `fn` (the first caller's) and
 * its outcome. The entry is forgotten once it settles, so a later call runs again. A caller that passes
 * an AbortSignal stops waiting when it fires (rejecting with the signal's reason) but the shared work
 * continues for the others: `fn` is never given any caller's signal.
 */
export interface SingleFlight<K, V> {
  run(key: K, fn: () => Promise<V>, signal?: AbortSignal): Promise<V>;
  /** True while a run for `key` is in flight. */
  has(key: K): boolean;
  /** Number of keys in flight. */
  readonly size: number;
}

export function createSingleFlight<K, V>(): SingleFlight<K, V> {
  const inflight = new Map<K, Promise<V>>();

  function shared(key: K, fn: () => Promise<V>): Promise<V> {
    const existing = inflight.get(key);
    if (existing) return existing;
    const p = (async () => fn())().finally(() => {
      if (inflight.get(key) === p) inflight.delete(key);
    });
    inflight.set(key, p);
    // Nobody may be waiting any more (every caller gave up): the outcome must not become an unhandled rejection.
    p.catch(() => undefined);
    return p;
  }

  return {
    run(key, fn, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      const p = shared(key, fn);
      if (!signal) return p;
      return new Promise<V>((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        p.then(
          (v) => {
            signal.removeEventListener('abort', onAbort);
            resolve(v);
          },
          (e: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(e);
          },
        );
      });
    },
    has: (key) => inflight.has(key),
    get size() {
      return inflight.size;
    },
  };
}
