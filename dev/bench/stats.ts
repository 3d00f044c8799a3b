/** Small pure statistics helpers for the benchmarks (sorted copies; inputs are never mutated). */

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Nearest-rank percentile (p in 0..100) of `xs`; NaN for an empty list. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1]!;
}

export function spread(xs: readonly number[]): Spread {
  if (xs.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

/** Runs `fn` `reps` times sequentially (after `warmup` unrecorded runs) and returns each result. */
export async function repeat<T>(reps: number, fn: (i: number) => Promise<T>, warmup = 0): Promise<T[]> {
  for (let i = 0; i < warmup; i++) await fn(-1 - i);
  const out: T[] = [];
  for (let i = 0; i < reps; i++) out.push(await fn(i));
  return out;
}

/** Wall time of `fn` in ms. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A number as the tables print it: no decimals from 1000, one from 10, two from 1, else three. */
export function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '';
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}
