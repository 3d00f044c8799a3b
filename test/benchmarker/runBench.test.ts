import fs from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { renderBenchSummary, runBench } from '../../src/benchmarker/benchCommand.js';
import { benchReportJsonSchema, parseBenchReport } from '../../src/benchmarker/reportSchema.js';
import type { CacheRunPort } from '../../src/benchmarker/types.js';
import { CacheError, ErrorCodes } from '../../src/errors.js';
import { checkJsonSchema } from './jsonSchemaCheck.js';
import { getModelCommand, MODEL_BYTES, NODE, RecordingPort, stepClock, suite } from './helpers.js';
import { useTempDir } from '../support/useTempDir.js';

const tmp = useTempDir();
let out: string;
beforeEach(() => {
  out = path.join(tmp.path, 'performance-reports');
});

const readJson = (p: string): unknown => JSON.parse(fs.readFileSync(p, 'utf8'));

describe('runBench measuring real suites', () => {
  it('measures a 0.2 s suite at 0.2–0.5 s and an allocating suite above what it allocated; writes a valid report', async () => {
    const res = await runBench({
      suites: {
        sleep: suite('sleep 0.2', { runs: 3, cwd: tmp.path }),
        alloc: suite(`${NODE} -e "const b = Buffer.alloc(200e6, 1); setTimeout(() => b.length, 300)"`, { cwd: tmp.path }),
      },
      outDir: out,
      cwd: tmp.path,
      port: null,
      clock: stepClock(),
    });
    expect(res.exitCode).toBe(0);
    const [sleep, alloc] = res.report.suites;
    expect(sleep?.name).toBe('sleep');
    expect(sleep?.measurements).toHaveLength(3);
    expect(sleep?.time?.median).toBeGreaterThanOrEqual(200);
    expect(sleep?.time?.median).toBeLessThanOrEqual(500);
    expect(sleep?.time?.min).toBeLessThanOrEqual(sleep?.time?.median as number);
    expect(sleep?.time?.max).toBeGreaterThanOrEqual(sleep?.time?.median as number);
    expect(alloc?.peakRss?.median).toBeGreaterThan(200e6);
    expect(alloc?.measurements[0]?.exitCode).toBe(0);

    // No port: the cache section says so, the suites still ran.
    expect(res.report.cache.reachable).toBe(false);
    expect(res.report.cache.note).toMatch(/daemon not reachable/);
    expect(res.report.recommendations.map((r) => r.kind)).toEqual(expect.arrayContaining(['no-baseline', 'cache-unreachable']));

    // Files: report pair, history line, no baseline without --update-baseline.
    expect(path.basename(res.paths.json)).toBe('performance_report_20250304_100000.json');
    expect(fs.existsSync(res.paths.markdown)).toBe(true);
    expect(fs.existsSync(path.join(out, 'performance_baseline.json'))).toBe(false);
    expect(fs.readFileSync(path.join(out, 'history.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);

    // The JSON validates against the emitted JSON Schema and the zod schema.
    const json = readJson(res.paths.json);
    expect(checkJsonSchema(benchReportJsonSchema, json)).toEqual([]);
    expect(parseBenchReport(json).ok).toBe(true);
    const broken = { ...(json as Record<string, unknown>), grade: { letter: 'G', score: 101, rule: '', deductions: [] } };
    expect(checkJsonSchema(benchReportJsonSchema, broken).length).toBeGreaterThan(0);
    expect(parseBenchReport(broken).ok).toBe(false);

    // The Markdown has every section, in order.
    const md = fs.readFileSync(res.paths.markdown, 'utf8');
    const headings = md.split('\n').filter((l) => l.startsWith('## ')).map((l) => l.replace(/ \(.*$/, ''));
    expect(headings).toEqual(['## Executive Summary', '## Suites', '## Memory', '## Cache', '## Trend', '## Recommendations', '## Technical Details']);
    // No baseline and no target: nothing was judged, so no grade.
    expect(md).toMatch(/\*\*No grade\*\*/);
    expect(md).toMatch(/Grade rule: Start at 100/);
    expect(md).toMatch(/\| sleep \| 3\/3 \| \d+ ms \| \d+ ms–\d+ ms \|/);
    expect(md).toContain('daemon not reachable');

    const summary = renderBenchSummary(res);
    expect(summary).toMatch(/^No grade/);
    expect(summary).toContain('sleep');
    expect(summary).toContain(res.paths.markdown);
  });

  it('runs each suite inside its own run scope and shows that run’s cache numbers', async () => {
    const port = new RecordingPort(tmp.path);
    const res = await runBench({
      suites: {
        first: suite(getModelCommand(tmp.path), { runs: 3, cwd: tmp.path }),
        second: suite(getModelCommand(tmp.path), { runs: 2, cwd: tmp.path }),
      },
      outDir: out,
      cwd: tmp.path,
      port,
      clock: stepClock(),
    });
    expect(res.exitCode).toBe(0);
    // The env arrived: every run of a suite saw that suite's run id.
    const seen = fs.readFileSync(path.join(tmp.path, 'seen-runs'), 'utf8').trim().split('\n');
    expect(seen).toEqual(['run-test-1', 'run-test-1', 'run-test-1', 'run-test-2', 'run-test-2']);
    // Each scope was started before and ended after its suite, then read.
    expect(port.calls).toEqual([
      expect.stringMatching(/^start run-test-1 bench first 20250304_100000$/),
      'end run-test-1',
      'stats run-test-1',
      expect.stringMatching(/^start run-test-2 bench second /),
      'end run-test-2',
      'stats run-test-2',
    ]);
    const [first, second] = res.report.suites;
    // First suite: the miss, then the hits of its own run only.
    expect(first?.cache).toMatchObject({ runId: 'run-test-1', reachable: true, note: null });
    expect(first?.cache.stats).toMatchObject({ hits: 2, misses: 1, bytesDownloaded: MODEL_BYTES, bytesAvoided: 2 * MODEL_BYTES, timeSavedMs: 3000 });
    expect(first?.cache.stats?.hitRate).toBeCloseTo(2 / 3);
    expect(second?.cache.runId).toBe('run-test-2');
    expect(second?.cache.stats).toMatchObject({ hits: 2, misses: 0, bytesDownloaded: 0 });
    expect(res.report.cache.totals).toMatchObject({ hits: 4, misses: 1, bytesDownloaded: MODEL_BYTES, bytesAvoided: 4 * MODEL_BYTES, timeSavedMs: 6000, suitesCounted: 2 });
    expect(res.report.cache.totals?.hitRate).toBeCloseTo(0.8);

    // The numbers drive the recommendations: the first suite's hit rate is below 80% and names the model.
    const low = res.report.recommendations.find((r) => r.kind === 'low-hit-rate');
    expect(low?.suite).toBe('first');
    expect(low?.text).toMatch(/67%.*1 misses.*75\.0 MB downloaded.*whisper-tiny/);

    const md = fs.readFileSync(res.paths.markdown, 'utf8');
    expect(md).toMatch(/\| first \| run-test-1 \| 2 \| 1 \| 0 \| 66\.7% \| 75\.0 MB \| 150\.0 MB \| 3\.00 s \|/);
    expect(md).toMatch(/\| \*\*total\*\* \|  \| 4 \| 1 \| 0 \| 80\.0% \|/);
  });

  it('a failing port never stops a suite: the cache section says the daemon is not reachable', async () => {
    const failing: CacheRunPort = {
      startRun: async () => {
        throw new CacheError(ErrorCodes.UNREACHABLE, 'no daemon at /tmp/x.sock');
      },
      endRun: async () => undefined,
      runStats: async () => null,
    };
    const marker = path.join(tmp.path, 'ran');
    const res = await runBench({ suites: { s: suite(`echo "[$VOCORIZE_CACHE_RUN]" > '${marker}'`, { cwd: tmp.path }) }, outDir: out, cwd: tmp.path, port: failing, env: { PATH: process.env.PATH }, clock: stepClock() });
    expect(res.exitCode).toBe(0);
    expect(fs.readFileSync(marker, 'utf8').trim()).toBe('[]');
    expect(res.report.suites[0]?.cache).toMatchObject({ runId: null, reachable: false, note: 'daemon not reachable: no daemon at /tmp/x.sock' });
    expect(res.report.cache).toMatchObject({ reachable: false, totals: null });
    expect(fs.readFileSync(res.paths.markdown, 'utf8')).toContain('daemon not reachable: no daemon at /tmp/x.sock');
  });

  it('a suite that fails stops its runs, exits 1, grades F and never enters the baseline', async () => {
    const res = await runBench({
      suites: { bad: suite('echo broken-output; exit 3', { runs: 3, cwd: tmp.path }), good: suite('true', { cwd: tmp.path }) },
      outDir: out,
      cwd: tmp.path,
      port: null,
      updateBaseline: true,
      clock: stepClock(),
    });
    expect(res.exitCode).toBe(1);
    expect(res.report.grade.letter).toBe('F');
    const bad = res.report.suites[0];
    expect(bad?.measurements).toHaveLength(1);
    expect(bad?.failure).toBe('run 1 exited with code 3');
    expect(bad?.verdict).toBe('error');
    expect(fs.readFileSync(bad?.measurements[0]?.logPath as string, 'utf8')).toContain('broken-output');
    const rec = res.report.recommendations.find((r) => r.kind === 'failed');
    expect(rec?.text).toContain(bad?.measurements[0]?.logPath);
    const baseline = readJson(path.join(out, 'performance_baseline.json')) as { suites: Record<string, unknown> };
    expect(Object.keys(baseline.suites)).toEqual(['good']);
  });
});

describe('baseline and regressions', () => {
  it('baseline written only with --update-baseline; 1.1x slower is no regression; 2x slower is flagged and fails --ci', async () => {
    const clock = stepClock();
    const base = { outDir: out, cwd: tmp.path, port: null, clock };
    const baselineFile = path.join(out, 'performance_baseline.json');

    // Baseline: 3 runs of 0.5 s.
    const a = await runBench({ ...base, suites: { s: suite('sleep 0.5', { runs: 3, cwd: tmp.path }) }, updateBaseline: true });
    expect(a.exitCode).toBe(0);
    expect(a.paths.baseline).toBe(baselineFile);
    const written = readJson(baselineFile) as { suites: { s: { medianMs: number; minMs: number; maxMs: number; runs: number } }; machine: { cpus: number } };
    expect(written.suites.s.runs).toBe(3);
    expect(written.suites.s.medianMs).toBeGreaterThanOrEqual(500);
    expect(written.suites.s.minMs).toBeLessThanOrEqual(written.suites.s.medianMs);
    expect(written.machine.cpus).toBeGreaterThan(0);
    const baselineText = fs.readFileSync(baselineFile, 'utf8');

    // 1.1x slower: no regression, even in --ci.
    const b = await runBench({ ...base, suites: { s: suite('sleep 0.55', { runs: 3, cwd: tmp.path }) }, ci: true });
    expect(b.report.suites[0]?.timeCheck.verdict).toBe('pass');
    expect(b.exitCode).toBe(0);
    expect(b.report.recommendations.map((r) => r.kind)).not.toContain('regression');

    // 2x slower: flagged; --ci exits 1.
    const c = await runBench({ ...base, suites: { s: suite('sleep 1', { runs: 1, cwd: tmp.path }) }, ci: true });
    const s = c.report.suites[0];
    expect(s?.timeCheck.verdict).toBe('fail');
    expect(s?.timeCheck.changePct).toBeGreaterThan(50);
    expect(c.exitCode).toBe(1);
    expect(c.report.grade.letter).not.toBe('A');
    expect(c.report.recommendations.find((r) => r.kind === 'regression')?.text).toMatch(/above its baseline/);
    expect(renderBenchSummary(c)).toMatch(/FAIL/);

    // The baseline was never rewritten implicitly.
    expect(fs.readFileSync(baselineFile, 'utf8')).toBe(baselineText);

    // History and trend: three runs, oldest first, this run last.
    expect(c.report.trend.map((t) => t.reportId)).toEqual([a.report.id, b.report.id, c.report.id]);
    expect(fs.readFileSync(path.join(out, 'history.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);

    // --report-only re-judges the newest results: same regression, but without --ci the exit is 0.
    const before = fs.readdirSync(out).filter((n) => n.startsWith('performance_report_')).length;
    const r = await runBench({ ...base, suites: {}, reportOnly: true });
    expect(r.report.id).toBe(c.report.id);
    expect(r.report.suites[0]?.measurements).toEqual(s?.measurements);
    expect(r.report.suites[0]?.verdict).toBe('fail');
    expect(r.exitCode).toBe(0);
    expect(r.paths.markdown).toBe(c.paths.markdown);
    expect(fs.readdirSync(out).filter((n) => n.startsWith('performance_report_')).length).toBe(before);
    expect(fs.readFileSync(path.join(out, 'history.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
    const rCi = await runBench({ ...base, suites: {}, reportOnly: true, ci: true });
    expect(rCi.exitCode).toBe(1);
  });

  it('--memory-focus compares peak RSS with the baseline and gates --ci on it', async () => {
    const clock = stepClock();
    const base = { outDir: out, cwd: tmp.path, port: null, clock };
    const alloc = (mb: number): string => `${NODE} -e "const b = Buffer.alloc(${mb}e6, 1); setTimeout(() => b.length, 400)"`;
    await runBench({ ...base, suites: { m: suite(alloc(40), { cwd: tmp.path }) }, updateBaseline: true });
    const baseline = readJson(path.join(out, 'performance_baseline.json')) as { suites: { m: { peakRss: { median: number } } } };
    expect(baseline.suites.m.peakRss.median).toBeGreaterThan(40e6);

    const res = await runBench({ ...base, suites: { m: suite(alloc(200), { cwd: tmp.path }) }, memoryFocus: true, ci: true });
    const m = res.report.suites[0];
    expect(m?.memoryCheck.verdict).toBe('fail');
    expect(m?.memoryCheck.changePct).toBeGreaterThan(50);
    expect(m?.verdict).toBe('fail');
    expect(res.exitCode).toBe(1);
    expect(res.report.recommendations.map((r) => r.kind)).toContain('memory-regression');
    const md = fs.readFileSync(res.paths.markdown, 'utf8');
    expect(md).toMatch(/counts toward the grade: --memory-focus/);
    expect(md).toMatch(/\| m \| \d+\.\d MB \| .* \| \+\d+\.\d% \| FAIL \|/);

    // The same numbers without memory focus: memory is informational, the time check decides.
    const plain = await runBench({ ...base, suites: {}, reportOnly: true, ci: true });
    expect(plain.report.suites[0]?.memoryCheck.verdict).toBe('fail');
    expect(plain.report.suites[0]?.verdict).toBe(plain.report.suites[0]?.timeCheck.verdict);
    expect(plain.report.grade.deductions.some((d) => d.reason.includes('peak RSS'))).toBe(false);
  });

  it('reads the old script’s seconds baseline, and ignores (never overwrites) an invalid one', async () => {
    fs.mkdirSync(out, { recursive: true });
    const baselineFile = path.join(out, 'performance_baseline.json');
    fs.writeFileSync(baselineFile, JSON.stringify({ timestamp: '2024-01-15T10:30:00Z', commit: 'abc123def456', unit_tests: 0.05, integration_tests: 45, branch: 'main' }));
    const old = await runBench({ suites: { unit: suite('sleep 0.3', { cwd: tmp.path }) }, outDir: out, cwd: tmp.path, port: null, clock: stepClock(), ci: true });
    expect(old.report.baseline).toMatchObject({ present: true, legacy: true, commit: 'abc123def456', branch: 'main' });
    expect(old.report.suites[0]?.baseline?.medianMs).toBe(50);
    expect(old.report.suites[0]?.timeCheck.verdict).toBe('fail');
    expect(old.exitCode).toBe(1);

    fs.writeFileSync(baselineFile, '{"timestamp": "x", unit_tests: }');
    const bad = await runBench({ suites: { unit: suite('true', { cwd: tmp.path }) }, outDir: out, cwd: tmp.path, port: null, clock: stepClock() });
    expect(bad.report.baseline.present).toBe(false);
    expect(bad.report.baseline.problem).toMatch(/not valid JSON/);
    expect(bad.report.recommendations.find((r) => r.kind === 'baseline-problem')?.text).toContain(baselineFile);
    expect(fs.readFileSync(baselineFile, 'utf8')).toBe('{"timestamp": "x", unit_tests: }');
  });
});

describe('runBench options', () => {
  it('--suite on the command line replaces the configured set; --quick makes one run; the env reaches the suite', async () => {
    const res = await runBench({
      suites: { configured: suite('exit 9', { cwd: tmp.path }) },
      cliSuites: [`mine="echo quick-run > '${path.join(tmp.path, 'q')}'"`],
      quick: true,
      outDir: out,
      cwd: tmp.path,
      port: null,
      clock: stepClock(),
    });
    expect(res.report.suites.map((s) => [s.name, s.runsRequested, s.measurements.length, s.cwd])).toEqual([['mine', 1, 1, tmp.path]]);
    expect(fs.readFileSync(path.join(tmp.path, 'q'), 'utf8').trim()).toBe('quick-run');
    expect(res.report.mode.quick).toBe(true);
  });

  it('usage mistakes are E_USAGE: no suites, unknown --only, bad --suite, nothing to re-render', async () => {
    const o = { outDir: out, cwd: tmp.path, port: null };
    await expect(runBench({ ...o, suites: {} })).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(/benchmark\.suites/) });
    await expect(runBench({ ...o, suites: { a: suite('true') }, only: ['b'] })).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(/unknown suite\(s\) b; known: a/) });
    await expect(runBench({ ...o, suites: {}, cliSuites: ['no-equals-sign'] })).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(runBench({ ...o, suites: {}, reportOnly: true })).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(/no benchmark report/) });
    expect(fs.existsSync(path.join(out, 'history.jsonl'))).toBe(false);
  });

  it('two runs in the same second get distinct report ids, and --report-only picks the newer', async () => {
    const fixed = (): number => new Date(2025, 0, 2, 3, 4, 5).getTime();
    const o = { outDir: out, cwd: tmp.path, port: null, clock: fixed };
    const a = await runBench({ ...o, suites: { a: suite('true', { cwd: tmp.path }) } });
    const b = await runBench({ ...o, suites: { b: suite('true', { cwd: tmp.path }) } });
    expect([a.report.id, b.report.id]).toEqual(['20250102_030405', '20250102_030405_2']);
    const r = await runBench({ ...o, suites: {}, reportOnly: true });
    expect(r.report.suites.map((s) => s.name)).toEqual(['b']);
  });
});
