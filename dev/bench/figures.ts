import { passes } from './bars.js';
import { round, type Spread } from './stats.js';
import type { Figure } from './types.js';

/** A figure from a spread of repetitions, with its reference and the pass/fail of `target` (from the target's bar unless given). */
export function figure(
  benchmark: string,
  name: string,
  unit: string,
  s: Spread,
  extra: Partial<Omit<Figure, 'benchmark' | 'name' | 'unit' | 'value' | 'min' | 'max' | 'reps'>> & { refSpread?: Spread; refName?: string } = {},
): Figure {
  const { refSpread, refName, ...rest } = extra;
  const f: Figure = { benchmark, name, unit, value: round(s.median), min: round(s.min), max: round(s.max), reps: s.n, ...rest };
  if (s.n <= 1) {
    delete f.min;
    delete f.max;
  }
  if (refSpread && refName) {
    f.reference = { name: refName, value: round(refSpread.median), min: round(refSpread.min), max: round(refSpread.max) };
    if (f.ratio === undefined) f.ratio = round(s.median / refSpread.median);
  }
  if (f.ratio !== undefined) f.ratio = round(f.ratio);
  if (f.target !== undefined && f.pass === undefined) {
    const p = passes(f);
    if (p !== undefined) f.pass = p;
  }
  return f;
}
