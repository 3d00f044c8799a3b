import type { Figure } from './types.js';

/** A bar read from a figure's `target`: `value <op> limit`, or `ratio <op> limit` for a `×` bar. */
export interface Bar {
  op: '<=' | '>=' | '<' | '>';
  limit: number;
  on: 'value' | 'ratio';
}

/**
 * The bar a target states in its leading words: `<= 300 ms`, `>= 10000 gets/s` (on the value),
 * `>= 0.85× plain download`, `> 1.6× one openssl` (on the ratio). `≤`/`≥` count as `<=`/`>=`. Null for a
 * target that does not start with a comparison and a number.
 */
export function parseBar(target: string | undefined): Bar | null {
  if (!target) return null;
  const m = /^\s*(<=|>=|≤|≥|<|>)\s*(\d+(?:\.\d+)?)\s*(×|x\b)?/.exec(target);
  if (!m) return null;
  const op = m[1] === '≤' ? '<=' : m[1] === '≥' ? '>=' : (m[1] as Bar['op']);
  return { op, limit: Number(m[2]), on: m[3] ? 'ratio' : 'value' };
}

/** Whether `x` meets the bar. */
export function meets(bar: Bar, x: number): boolean {
  switch (bar.op) {
    case '<=':
      return x <= bar.limit;
    case '>=':
      return x >= bar.limit;
    case '<':
      return x < bar.limit;
    case '>':
      return x > bar.limit;
  }
}

/**
 * How far a figure is from its bar, as a fraction of the bar: 0.15 for 345 ms against `<= 300 ms`
 * (15 % over), 0.18 for 0.70× against `>= 0.85×` (18 % short). Null when the figure has no readable bar
 * or nothing to compare, 0 when it meets it.
 */
export function shortfall(f: Pick<Figure, 'value' | 'ratio' | 'target'>): number | null {
  const bar = parseBar(f.target);
  if (!bar) return null;
  const x = bar.on === 'ratio' ? f.ratio : f.value;
  if (x === undefined || !Number.isFinite(x) || bar.limit === 0) return null;
  if (meets(bar, x)) return 0;
  return bar.op.startsWith('<') ? x / bar.limit - 1 : 1 - x / bar.limit;
}

/** A figure's pass/fail from its bar (for benchmarks that state the bar once, in `target`). */
export function passes(f: Pick<Figure, 'value' | 'ratio' | 'target'>): boolean | undefined {
  const bar = parseBar(f.target);
  if (!bar) return undefined;
  const x = bar.on === 'ratio' ? f.ratio : f.value;
  return x !== undefined && Number.isFinite(x) && meets(bar, x);
}
