import { describe, expect, it } from 'vitest';
import { compareToBaseline, exitCodeFor, gradeLabel, gradeRun, suiteVerdict, type BaselineBand } from '../../src/benchmarker/regression.js';
import type { Comparison, Verdict } from '../../src/benchmarker/types.js';

const band = (median: number, min = median, max = median): BaselineBand => ({ median, min, max });

describe('compareToBaseline (time)', () => {
  it.each<[string, number, BaselineBand | null, number | null, Verdict, number | null]>([
    // name, median, baseline, target, verdict, changePct
    ['no baseline, no target', 500, null, null, 'new', null],
    ['no baseline, within target', 500, null, 1000, 'new', null],
    ['no baseline, over target', 1500, null, 1000, 'fail', null],
    ['equal to baseline', 1000, band(1000), null, 'pass', 0],
    ['faster than baseline', 800, band(1000), null, 'pass', -20],
    ['10% slower', 1100, band(1000), null, 'pass', 10],
    ['exactly +20% is not over the line', 1200, band(1000), null, 'pass', 20],
    ['just over +20% warns', 1201, band(1000), null, 'warn', 20.1],
    ['+40% warns', 1400, band(1000), null, 'warn', 40],
    ['exactly +50% still only warns', 1500, band(1000), null, 'warn', 50],
    ['just over +50% fails', 1501, band(1000), null, 'fail', 50.1],
    ['2x fails', 2000, band(1000), null, 'fail', 100],
    // The noise band: a median at or below the baseline's max is never a regression.
    ['+60% but within the noise band', 1600, band(1000, 900, 1700), null, 'pass', 60],
    ['+30% but at the band max', 1300, band(1000, 950, 1300), null, 'pass', 30],
    ['+30% just above the band max', 1301, band(1000, 950, 1300), null, 'warn', 30.1],
    // A target is a ceiling whatever the baseline says, even inside the noise band.
    ['within noise band but over target', 1600, band(1000, 900, 1700), 1500, 'fail', 60],
    ['faster than baseline but over target', 900, band(1000), 800, 'fail', -10],
    ['pass with a target met', 1100, band(1000), 2000, 'pass', 10],
  ])('%s', (_name, median, baseline, target, verdict, changePct) => {
    const c = compareToBaseline({ median, baseline, ceiling: target, unit: 'ms' });
    expect(c.verdict).toBe(verdict);
    if (changePct === null) expect(c.changePct).toBeNull();
    else expect(c.changePct as number).toBeCloseTo(changePct, 1);
    expect(c.reasons.length).toBeGreaterThan(0);
  });

  it('explains the noise band and the target in its reasons', () => {
    const c = compareToBaseline({ median: 1600, baseline: band(1000, 900, 1700), ceiling: 1500, unit: 'ms' });
    expect(c.reasons.join(' ')).toMatch(/noise band/);
    expect(c.reasons.join(' ')).toMatch(/over its target 1\.50 s/);
  });

  it('handles memory in bytes the same way', () => {
    expect(compareToBaseline({ median: 260e6, baseline: band(200e6), unit: 'bytes' }).verdict).toBe('warn');
    expect(compareToBaseline({ median: 310e6, baseline: band(200e6), unit: 'bytes' }).verdict).toBe('fail');
    expect(compareToBaseline({ median: 310e6, baseline: band(200e6, 150e6, 320e6), unit: 'bytes' }).verdict).toBe('pass');
  });
});

const cmp = (verdict: Verdict): Comparison => ({ verdict, changePct: null, reasons: [verdict] });
const suite = (name: string, time: Verdict, memory: Verdict = 'pass', ok = true) => ({
  name,
  ok,
  failure: ok ? null : 'run 1 exited with code 2',
  timeCheck: cmp(time),
  memoryCheck: cmp(memory),
});

describe('gradeRun', () => {
  it.each<[string, ReturnType<typeof suite>[], boolean, number | null, string, number]>([
    ['all pass', [suite('a', 'pass'), suite('b', 'new')], false, null, 'A', 100],
    ['one warning', [suite('a', 'warn'), suite('b', 'pass')], false, null, 'A', 90],
    ['two warnings', [suite('a', 'warn'), suite('b', 'warn')], false, null, 'B', 80],
    ['one failure', [suite('a', 'fail')], false, null, 'C', 75],
    ['failure + warning', [suite('a', 'fail'), suite('b', 'warn')], false, null, 'D', 65],
    ['two failures', [suite('a', 'fail'), suite('b', 'fail')], false, null, 'F', 50],
    ['low hit rate', [suite('a', 'pass')], false, 0.5, 'A', 90],
    ['low hit rate + warning', [suite('a', 'warn')], false, 0.5, 'B', 80],
    ['good hit rate', [suite('a', 'pass')], false, 0.95, 'A', 100],
    ['memory ignored without focus', [suite('a', 'pass', 'fail')], false, null, 'A', 100],
    ['memory counts with focus', [suite('a', 'pass', 'fail')], true, null, 'C', 75],
    ['a suite that failed to run is F', [suite('a', 'pass'), suite('b', 'error', 'pass', false)], false, null, 'F', 60],
  ])('%s', (_n, suites, memoryFocus, hitRate, letter, score) => {
    const g = gradeRun({ suites, memoryFocus, hitRate });
    expect(g.letter).toBe(letter);
    expect(g.score).toBe(score);
    expect(g.rule).toMatch(/A = 90\+/);
    expect(100 - g.deductions.reduce((a, d) => a + d.points, 0)).toBe(score);
  });

  it('nothing judged (every check new, no suite failed): no grade, even with a low hit rate', () => {
    const g = gradeRun({ suites: [suite('a', 'new'), suite('b', 'new', 'pass')], memoryFocus: false, hitRate: 0.1 });
    expect(g).toMatchObject({ letter: null, score: null, deductions: [] });
    expect(gradeLabel(g)).toBe('no grade');
    expect(g.rule).toMatch(/otherwise the run has no grade/);
  });

  it('judged decides over the verdicts: a suite within its target is judged though its verdict is new', () => {
    const g = gradeRun({ suites: [{ ...suite('a', 'new'), judged: true }], memoryFocus: false, hitRate: null });
    expect(gradeLabel(g)).toBe('A (100/100)');
    const m = gradeRun({ suites: [suite('a', 'new', 'pass')], memoryFocus: true, hitRate: null });
    expect(m.letter).toBe('A');
  });
});

describe('suiteVerdict and exitCodeFor', () => {
  it.each<[string, ReturnType<typeof suite>, boolean, Verdict]>([
    ['time fail', suite('a', 'fail'), false, 'fail'],
    ['memory fail without focus', suite('a', 'pass', 'fail'), false, 'pass'],
    ['memory fail with focus', suite('a', 'pass', 'fail'), true, 'fail'],
    ['memory warn over time pass with focus', suite('a', 'pass', 'warn'), true, 'warn'],
    ['new stays new', suite('a', 'new', 'new'), true, 'new'],
    ['failed command', suite('a', 'pass', 'pass', false), false, 'error'],
  ])('%s', (_n, s, focus, want) => {
    expect(suiteVerdict(s, focus)).toBe(want);
  });

  it.each<[Verdict[], boolean, number]>([
    [['pass', 'warn'], false, 0],
    [['pass', 'warn'], true, 0],
    [['fail'], false, 0],
    [['fail'], true, 1],
    [['error'], false, 1],
    [['new', 'pass'], true, 0],
  ])('%j ci=%s -> %i', (verdicts, ci, code) => {
    expect(exitCodeFor(verdicts, ci)).toBe(code);
  });
});
