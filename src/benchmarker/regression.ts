import type { Comparison, Grade, GradeDeduction, Spread, Verdict } from './types.js';

/** Above baseline median x 1.2: warning. */
export const WARN_RATIO = 1.2;
/** Above baseline median x 1.5: failure. */
export const FAIL_RATIO = 1.5;
/** The seed's target for repeated runs. */
export const HIT_RATE_TARGET = 0.8;

export interface BaselineBand {
  median: number;
  min: number;
  max: number;
}

/**
 * Compares a median with its baseline band and an optional ceiling (pure).
 * - at or below the baseline's max (its noise band): never a regression;
 * - above the band and more than 20% over the baseline median: warn; more than 50%: fail;
 * - above the ceiling (the suite's target): fail, whatever the baseline says;
 * - no baseline: 'new' (or 'fail' over the ceiling).
 */
export function compareToBaseline(o: { median: number; baseline: BaselineBand | null; ceiling?: number | null; unit: 'ms' | 'bytes' }): Comparison {
  const reasons: string[] = [];
  const b = o.baseline;
  let verdict: Verdict = b ? 'pass' : 'new';
  const changePct = b && b.median > 0 ? ((o.median - b.median) / b.median) * 100 : null;
  if (b) {
    const pct = changePct === null ? 'n/a' : `${changePct >= 0 ? '+' : ''}${changePct.toFixed(1)}%`;
    if (o.median <= b.max) {
      reasons.push(`${pct} vs baseline, within its noise band (max ${show(b.max, o.unit)})`);
    } else if (b.median <= 0 || o.median > b.median * FAIL_RATIO) {
      verdict = 'fail';
      reasons.push(`${pct} vs baseline median ${show(b.median, o.unit)}: over the ${pctOf(FAIL_RATIO)} failure line`);
    } else if (o.median > b.median * WARN_RATIO) {
      verdict = 'warn';
      reasons.push(`${pct} vs baseline median ${show(b.median, o.unit)}: over the ${pctOf(WARN_RATIO)} warning line`);
    } else {
      reasons.push(`${pct} vs baseline median ${show(b.median, o.unit)}: under the ${pctOf(WARN_RATIO)} warning line`);
    }
  } else {
    reasons.push('no baseline to compare with');
  }
  if (o.ceiling != null) {
    if (o.median > o.ceiling) {
      verdict = 'fail';
      reasons.push(`over its target ${show(o.ceiling, o.unit)}`);
    } else {
      reasons.push(`within its target ${show(o.ceiling, o.unit)}`);
    }
  }
  return { verdict, changePct, reasons };
}

export function spreadBand(s: Spread | null): BaselineBand | null {
  return s ? { median: s.median, min: s.min, max: s.max } : null;
}

function pctOf(ratio: number): string {
  return `${Math.round((ratio - 1) * 100)}%`;
}

function show(v: number, unit: 'ms' | 'bytes'): string {
  if (unit === 'bytes') return `${(v / 1e6).toFixed(1)} MB`;
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`;
}

export const GRADE_RULE =
  'Start at 100. Minus 25 for each failed check (median over 50% above its baseline, or over its target), ' +
  'minus 10 for each warning (median over 20% above its baseline), minus 10 when the cache hit rate of the run is ' +
  'known and below 80%. With --memory-focus, peak RSS checks count the same way. A median within the baseline\'s ' +
  'min-max band is never a regression. A = 90+, B = 80+, C = 70+, D = 60+, else F. A suite whose command failed ' +
  '(non-zero exit, signal, timeout) costs 40 and makes the grade F. A grade is given only when something was judged: ' +
  'a suite failed to run, or a suite had a baseline or a target (with --memory-focus, a peak RSS baseline); ' +
  'otherwise the run has no grade.';

export interface GradeInput {
  /**
   * `judged`: the suite had a baseline or a target to be judged against (with memory focus, a peak RSS
   * baseline counts too). When absent it is read from the verdicts: any verdict other than 'new'.
   */
  suites: Array<{ name: string; ok: boolean; failure: string | null; timeCheck: Comparison; memoryCheck: Comparison; judged?: boolean }>;
  memoryFocus: boolean;
  hitRate: number | null;
}

function wasJudged(s: GradeInput['suites'][number], memoryFocus: boolean): boolean {
  if (!s.ok) return true;
  if (s.judged !== undefined) return s.judged;
  return s.timeCheck.verdict !== 'new' || (memoryFocus && s.memoryCheck.verdict !== 'new');
}

/**
 * The grade and the deductions that produced it (pure). With nothing judged (no suite failed, none had a
 * baseline or a target) the letter and score are null: "no grade", never a default A.
 */
export function gradeRun(g: GradeInput): Grade {
  const deductions: GradeDeduction[] = [];
  let failedToRun = false;
  for (const s of g.suites) {
    if (!s.ok) {
      failedToRun = true;
      deductions.push({ points: 40, reason: `${s.name}: ${s.failure ?? 'failed'} (grade F)` });
      continue;
    }
    const checks: Array<[string, Comparison]> = [['time', s.timeCheck]];
    if (g.memoryFocus) checks.push(['peak RSS', s.memoryCheck]);
    for (const [what, c] of checks) {
      if (c.verdict === 'fail') deductions.push({ points: 25, reason: `${s.name} ${what}: ${c.reasons.join('; ')}` });
      if (c.verdict === 'warn') deductions.push({ points: 10, reason: `${s.name} ${what}: ${c.reasons.join('; ')}` });
    }
  }
  if (g.hitRate !== null && g.hitRate < HIT_RATE_TARGET) {
    deductions.push({ points: 10, reason: `cache hit rate ${(g.hitRate * 100).toFixed(0)}% is below 80%` });
  }
  if (!g.suites.some((s) => wasJudged(s, g.memoryFocus))) return { letter: null, score: null, rule: GRADE_RULE, deductions: [] };
  const score = Math.max(0, 100 - deductions.reduce((a, d) => a + d.points, 0));
  const letter = failedToRun ? 'F' : score >= 90 ? 'A' : score >= 80 ? 'B' : score >= 70 ? 'C' : score >= 60 ? 'D' : 'F';
  return { letter, score, rule: GRADE_RULE, deductions };
}

/** "B (85/100)", or "no grade" when nothing was judged. */
export function gradeLabel(g: Pick<Grade, 'letter' | 'score'>): string {
  return g.letter === null || g.score === null ? 'no grade' : `${g.letter} (${g.score}/100)`;
}

/** The trend/history form of a grade: its letter, or "none". */
export function gradeTag(g: Pick<Grade, 'letter'>): string {
  return g.letter ?? 'none';
}

/** The suite's overall verdict: the command's failure first, then the worst of its gating checks. */
export function suiteVerdict(s: { ok: boolean; timeCheck: Comparison; memoryCheck: Comparison }, memoryFocus: boolean): Verdict {
  if (!s.ok) return 'error';
  const vs = [s.timeCheck.verdict, ...(memoryFocus ? [s.memoryCheck.verdict] : [])];
  for (const v of ['fail', 'warn', 'pass'] as const) if (vs.includes(v)) return v;
  return 'new';
}

/** 1 when a suite failed to run; in --ci also when any suite's verdict is 'fail'; else 0. */
export function exitCodeFor(verdicts: readonly Verdict[], ci: boolean): number {
  if (verdicts.includes('error')) return 1;
  if (ci && verdicts.includes('fail')) return 1;
  return 0;
}
