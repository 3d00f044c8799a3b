import fs from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { renderBenchSummary, runBench } from '../../src/benchmarker/benchCommand.js';
import { benchStatus, renderBenchStatus } from '../../src/benchmarker/benchStatus.js';
import { checkBaseline, renderBaselineCheck } from '../../src/benchmarker/baselineCheck.js';
import { compareWithBaseline, renderComparison } from '../../src/benchmarker/compareBaseline.js';
import { parseBenchReport } from '../../src/benchmarker/reportSchema.js';
import { useTempDir } from '../support/useTempDir.js';
import { stepClock, suite } from './helpers.js';

const tmp = useTempDir();
let out: string;
let baselineFile: string;
beforeEach(() => {
  out = path.join(tmp.path, 'performance-reports');
  baselineFile = path.join(out, 'performance_baseline.json');
});

const writeBaselineText = (text: string): void => {
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(baselineFile, text);
};
const legacy = { timestamp: '2024-01-15T10:30:00Z', commit: 'abc123def456', unit_tests: 25, integration_tests: 45, branch: 'main' };
const listing = (): string[] => fs.readdirSync(out).sort();

describe('grading only what was judged', () => {
  it('no baseline and no target: "no grade" and overall_score null, in the report, the Markdown and the summary', async () => {
    const res = await runBench({ suites: { s: suite('true', { cwd: tmp.path }) }, outDir: out, cwd: tmp.path, port: null, clock: stepClock() });
    expect(res.report.grade).toMatchObject({ letter: null, score: null, deductions: [] });
    expect(res.report.overall_score).toBeNull();
    expect(fs.readFileSync(res.paths.markdown, 'utf8')).toMatch(/\*\*No grade\*\*/);
    expect(renderBenchSummary(res)).toMatch(/^No grade \(nothing to judge against: no baseline, no target\) — exit 0/);
    const json = JSON.parse(fs.readFileSync(res.paths.json, 'utf8')) as Record<string, unknown>;
    expect(json.overall_score).toBeNull();
    expect(parseBenchReport(json).ok).toBe(true);
    expect(fs.readFileSync(path.join(out, 'history.jsonl'), 'utf8')).toMatch(/"grade":"none","score":null/);

    // A target is something to judge against: the run is graded, overall_score at the top level.
    const t = await runBench({ suites: { s: suite('true', { cwd: tmp.path, targetMs: 60_000 }) }, outDir: out, cwd: tmp.path, port: null, clock: stepClock() });
    expect(t.report.grade).toMatchObject({ letter: 'A', score: 100 });
    expect(t.report.overall_score).toBe(100);
  });

});

describe('latest.md and latest.json', () => {
  it('are copies of the newest report, updated by each run and by --report-only', async () => {
    const o = { outDir: out, cwd: tmp.path, port: null, clock: stepClock() };
    const a = await runBench({ ...o, suites: { a: suite('true', { cwd: tmp.path }) } });
    expect(fs.readFileSync(path.join(out, 'latest.json'), 'utf8')).toBe(fs.readFileSync(a.paths.json, 'utf8'));
    expect(fs.readFileSync(path.join(out, 'latest.md'), 'utf8')).toBe(fs.readFileSync(a.paths.markdown, 'utf8'));
    expect(fs.lstatSync(path.join(out, 'latest.json')).isSymbolicLink()).toBe(false);

    const b = await runBench({ ...o, suites: { b: suite('true', { cwd: tmp.path }) } });
    expect(JSON.parse(fs.readFileSync(path.join(out, 'latest.json'), 'utf8'))).toMatchObject({ id: b.report.id, overall_score: null });
    expect(fs.readFileSync(path.join(out, 'latest.md'), 'utf8')).toBe(fs.readFileSync(b.paths.markdown, 'utf8'));

    // --report-only re-renders the newest (b) and keeps latest.* in step; latest.json is never taken for a report.
    const r = await runBench({ ...o, suites: {}, reportOnly: true, ci: true });
    expect(r.report.id).toBe(b.report.id);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'latest.json'), 'utf8'))).toMatchObject({ id: b.report.id, mode: { ci: true } });
  });
});

describe('--baseline-check', () => {
  it('a missing file, invalid JSON, missing fields: not ok, naming what is wrong', () => {
    const missing = checkBaseline(baselineFile);
    expect(missing).toMatchObject({ ok: false, format: null });
    expect(missing.problems[0]).toMatch(/does not exist.*--update-baseline/);

    writeBaselineText('{"unit_tests": 25,');
    expect(checkBaseline(baselineFile).problems[0]).toMatch(/is not valid JSON/);

    writeBaselineText(JSON.stringify({ timestamp: '2024-01-15T10:30:00Z', unit_tests: '25', branch: 'main' }));
    const partial = checkBaseline(baselineFile);
    expect(partial).toMatchObject({ ok: false, format: 'legacy' });
    expect(partial.problems).toEqual([
      'missing field "commit"',
      '"unit_tests" must be a number of seconds (>= 0), got "25"',
      'missing field "integration_tests"',
    ]);
    expect(renderBaselineCheck(partial)).toMatch(/NOT usable[\s\S]*missing field "commit"/);

    writeBaselineText(JSON.stringify({ schemaVersion: 1, updatedAt: 'x', commit: null, branch: null, machine: null, suites: { s: { medianMs: -1 } } }));
    const current = checkBaseline(baselineFile);
    expect(current).toMatchObject({ ok: false, format: 'current' });
    expect(current.problems.some((p) => p.startsWith('suites.s.medianMs:'))).toBe(true);
  });

  it('the old script\'s baseline and one written by --update-baseline are ok', async () => {
    writeBaselineText(JSON.stringify(legacy));
    const old = checkBaseline(baselineFile);
    expect(old).toMatchObject({ ok: true, format: 'legacy', problems: [], commit: 'abc123def456', branch: 'main', suites: { unit: 25_000, integration: 45_000 } });
    expect(renderBaselineCheck(old)).toMatch(/Baseline OK.*old script format/);

    fs.rmSync(baselineFile);
    await runBench({ suites: { s: suite('true', { cwd: tmp.path }) }, outDir: out, cwd: tmp.path, port: null, clock: stepClock(), updateBaseline: true });
    const fresh = checkBaseline(baselineFile);
    expect(fresh).toMatchObject({ ok: true, format: 'current', problems: [] });
    expect(Object.keys(fresh.suites)).toEqual(['s']);
  });
});

describe('--compare-baseline', () => {
  it('judges the newest report against the baseline as it is now, running and writing nothing', async () => {
    const o = { outDir: out, cwd: tmp.path, port: null, clock: stepClock() };
    const marker = path.join(tmp.path, 'runs');
    const cmd = `echo run >> '${marker}'`;
    await runBench({ ...o, suites: { unit: suite(cmd, { cwd: tmp.path }) } });
    expect(() => compareWithBaseline({ outDir: out })).toThrow(expect.objectContaining({ code: 'E_USAGE', message: expect.stringMatching(/no baseline.*--update-baseline/) }));

    // The old script's baseline with unit at 0 s: any measured run is over it; a failure, and with --ci exit 1.
    writeBaselineText(JSON.stringify({ ...legacy, unit_tests: 0 }));
    const before = listing();
    const ran = fs.readFileSync(marker, 'utf8');
    const cmp = compareWithBaseline({ outDir: out, ci: true });
    expect(cmp.suites).toEqual([expect.objectContaining({ name: 'unit', baselineMs: 0, verdict: 'fail' })]);
    expect(cmp.exitCode).toBe(1);
    expect(cmp.overall_score).toBe(75);
    expect(cmp.report.baseline).toMatchObject({ present: true, legacy: true, commit: 'abc123def456', written: false });
    expect(compareWithBaseline({ outDir: out }).exitCode).toBe(0);
    expect(renderComparison(cmp)).toMatch(/Grade: C \(75\/100\)[\s\S]*unit: .* vs 0 ms .*FAIL/);
    expect(listing()).toEqual(before);
    expect(fs.readFileSync(marker, 'utf8')).toBe(ran);

    writeBaselineText('not json');
    expect(() => compareWithBaseline({ outDir: out })).toThrow(expect.objectContaining({ code: 'E_USAGE', message: expect.stringMatching(/--baseline-check/) }));
  });

  it('no report yet: E_USAGE saying to run the benchmark first', () => {
    writeBaselineText(JSON.stringify(legacy));
    expect(() => compareWithBaseline({ outDir: out })).toThrow(expect.objectContaining({ code: 'E_USAGE', message: expect.stringMatching(/run cache-manager bench first/) }));
  });
});

describe('--status', () => {
  it('with nothing recorded says so', () => {
    const s = benchStatus({ outDir: out });
    expect(s).toMatchObject({ baseline: { present: false, problem: null }, lastRun: null, runs: [], trend: [] });
    expect(renderBenchStatus(s)).toMatch(/Baseline: none[\s\S]*Last run: none recorded/);
  });

  it('baseline date and commit, the last run, and the trend over the last 5 runs', async () => {
    writeBaselineText(JSON.stringify(legacy));
    const o = { outDir: out, cwd: tmp.path, port: null, clock: stepClock() };
    for (let i = 0; i < 6; i++) await runBench({ ...o, suites: { unit: suite('true', { cwd: tmp.path }) }, quick: true });
    const s = benchStatus({ outDir: out });
    expect(s.baseline).toMatchObject({ present: true, updatedAt: '2024-01-15T10:30:00Z', commit: 'abc123def456', branch: 'main', legacy: true });
    expect(s.runs).toHaveLength(5);
    expect(s.runs[0]?.reportId).toBe('20250304_100100');
    expect(s.lastRun).toMatchObject({ reportId: '20250304_100500' });
    // Judged against the old baseline's 25 s: graded, and the score is recorded.
    expect(s.lastRun).toMatchObject({ grade: 'A', overall_score: 100 });
    expect(s.trend).toEqual([expect.objectContaining({ suite: 'unit', measured: 5 })]);
    const text = renderBenchStatus(s);
    expect(text).toMatch(/Baseline: 2024-01-15T10:30:00Z, commit abc123def456 on main \(old script format\)/);
    expect(text).toMatch(/Last run: 20250304_100500 .*grade A \(100\/100\)/);
    expect(text).toMatch(/Trend over the last 5 run\(s\)/);
    expect(text).toMatch(/ {2}unit: (\S+ m?s → ){4}\S+ m?s/);
  });
});
