import { describe, expect, it } from 'vitest';
import { createSingleFlight } from '../../src/origin/singleFlight.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('createSingleFlight', () => {
  it('runs once for concurrent callers of one key and again after it settles', async () => {
    const sf = createSingleFlight<string, number>();
    let runs = 0;
    const d = deferred<number>();
    const fn = () => {
      runs++;
      return d.promise;
    };
    const callers = Array.from({ length: 10 }, () => sf.run('k', fn));
    const other = sf.run('other', async () => 7);
    expect(sf.has('k')).toBe(true);
    d.resolve(42);
    expect(await Promise.all(callers)).toEqual(Array(10).fill(42));
    expect(await other).toBe(7);
    expect(runs).toBe(1);
    expect(sf.size).toBe(0);
    expect(await sf.run('k', async () => 43)).toBe(43);
  });

  it('shares a failure and forgets it', async () => {
    const sf = createSingleFlight<string, number>();
    const boom = new Error('boom');
    const a = sf.run('k', () => Promise.reject(boom));
    const b = sf.run('k', async () => 1);
    await expect(a).rejects.toBe(boom);
    await expect(b).rejects.toBe(boom);
    expect(await sf.run('k', async () => 2)).toBe(2);
  });

  it('a caller that gives up stops waiting without cancelling the work for the others', async () => {
    const sf = createSingleFlight<string, string>();
    const d = deferred<string>();
    let finished = false;
    const fn = async () => {
      const v = await d.promise;
      finished = true;
      return v;
    };
    const quitter = new AbortController();
    const a = sf.run('k', fn, quitter.signal);
    const b = sf.run('k', fn);
    quitter.abort(new Error('gave up'));
    await expect(a).rejects.toThrow('gave up');
    expect(sf.has('k')).toBe(true);
    d.resolve('done');
    expect(await b).toBe('done');
    expect(finished).toBe(true);
  });

  it('the work completes even when every caller gave up', async () => {
    const sf = createSingleFlight<string, string>();
    const d = deferred<string>();
    const ac = new AbortController();
    const a = sf.run('k', () => d.promise, ac.signal);
    ac.abort(new Error('bye'));
    await expect(a).rejects.toThrow('bye');
    d.reject(new Error('late failure')); // must not surface as an unhandled rejection
    await new Promise((r) => setTimeout(r, 10));
    expect(sf.has('k')).toBe(false);
  });
});
