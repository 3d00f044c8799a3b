import { describe, expect, it } from 'vitest';
import { buildReport, type BuildReportInput } from '../../src/benchmarker/buildReport.js';
import { spreadOf } from '../../src/benchmarker/spread.js';
import type { MachineFacts, Spread, RunCacheStats, SuiteBaseline, SuiteResult, TrendRow } from '../../src/benchmarker/types.js';

const machine: MachineFacts = { os: 'Linux', release: '6', arch: 'x64', cpus: 8, cpuModel: null, nodeVersion: 'v20', totalMemoryBytes: 16e9 };

function result(name: string, o: { times: number[]; rss?: number[]; cpu?: number; target?: number | null; stats?: RunCacheStats | null; failure?: string }): SuiteResult {
  const time = spreadOf(o.times) as Spread;
  const rssValues = o.rss ?? o.times.map(() => 50e6);
  return {
    name,
    command: 'true',
    cwd: '/tmp',
    runsRequested: o.times.length,
    targetMs: o.target ?? null,
    measurements: o.times.map((t, i) => ({ wallMs: t, userMs: o.cpu ?? null, sysMs: o.cpu === undefined ? null : 0, peakRssBytes: rssValues[i] ?? null, exitCode: o.failure ? 2 : 0, signal: null, timedOut: false, interrupted: false, logPath: `/tmp/${name}-${i + 1}.log`, rssMethod: 'proc', rssSamples: 5 })),
    ok: o.failure === undefined,
    failure: o.failure ?? null,
    time,
    cpuMedianMs: o.cpu ?? null,
    peakRss: spreadOf(rssValues),
    cache: o.stats === undefined ? { runId: null, reachable: false, note: 'daemon not reachable (no cache connection)', stats: null } : { runId: 'run-1', reachable: true, note: null, stats: o.stats },
  };
}

function input(results: SuiteResult[], o: Partial<BuildReportInput> = {}): BuildReportInput {
  return {
    id: '20250101_000000',
    createdAt: '2025-01-01T00:00:00.000Z',
    mode: { quick: false, ci: false, memoryFocus: false, updateBaseline: false },
    git: { commit: 'c'.repeat(40), branch: 'main' },
    machine,
    results,
    baseline: { file: '/x/performance_baseline.json', present: false, problem: null, updatedAt: null, commit: null, branch: null, legacy: false, machine: null, written: false },
    suiteBaselines: {},
    previousTrend: [],
    ...o,
  };
}

const base = (medianMs: number, o: Partial<SuiteBaseline> = {}): SuiteBaseline => ({ medianMs, minMs: medianMs, maxMs: medianMs, runs: 3, peakRss: { median: 50e6, min: 50e6, max: 50e6 }, commit: 'abcdef1234567890', recordedAt: '2024-12-01T00:00:00.000Z', ...o });
const stats = (hits: number, misses: number, extra: Partial<RunCacheStats> = {}): RunCacheStats => ({ hits, misses, errors: 0, hitRate: hits + misses ? hits / (hits + misses) : null, bytesDownloaded: misses * 145e6, bytesAvoided: hits * 145e6, timeSavedMs: hits * 2000, ...extra });
const row = (id: string, medians: Record<string, number>, rss: Record<string, number> = {}): TrendRow => ({ reportId: id, createdAt: id, commit: null, grade: 'A', medians, peakRss: rss, hitRate: null });

describe('recommendations come from the numbers', () => {
  it('over target: names the overrun, the downloads and the models to warm, and whether it waited or computed', () => {
    const r = buildReport(input([result('integration', { times: [40_000, 42_000, 41_000], cpu: 5_000, target: 30_000, stats: stats(1, 2, { missedModels: ['whisper-base', 'mlx-tiny'] }) })]));
    const rec = r.recommendations.find((x) => x.kind === 'over-target');
    expect(rec?.suite).toBe('integration');
    expect(rec?.text).toMatch(/median 41\.00 s is 37% over its 30\.00 s target/);
    expect(rec?.text).toMatch(/missed the cache 2 time\(s\) and downloaded 290\.0 MB: warming whisper-base, mlx-tiny first/);
    expect(rec?.text).toMatch(/5\.00 s of CPU in 41\.00 s: most of the time is waiting/);
    expect(r.recommendations.find((x) => x.kind === 'low-hit-rate')?.text).toMatch(/hit rate 33% \(1 hits, 2 misses, 290\.0 MB downloaded\)/);
  });

  it('a compute-bound suite over target is told so, not told to warm a cache it did not miss', () => {
    const r = buildReport(input([result('unit', { times: [12_000], cpu: 11_500, target: 10_000, stats: stats(4, 0) })]));
    const text = r.recommendations.find((x) => x.kind === 'over-target')?.text ?? '';
    expect(text).toMatch(/compute-bound on about one core; running tests in parallel may help/);
    expect(text).not.toMatch(/warm/);
    expect(r.recommendations.map((x) => x.kind)).not.toContain('low-hit-rate');
  });

  it('a regression names its baseline and where it came from', () => {
    const r = buildReport(input([result('unit', { times: [1300, 1310, 1290] })], { suiteBaselines: { unit: base(1000, { minMs: 950, maxMs: 1050 }) } }));
    expect(r.suites[0]?.timeCheck.verdict).toBe('warn');
    expect(r.recommendations.find((x) => x.kind === 'regression')?.text).toBe(
      'unit: median 1.30 s is 30% above its baseline 1.00 s (range 950 ms–1.05 s, commit abcdef123456): look at what changed since then.',
    );
  });

  it('memory growth over the trend, and a slow creep that is not yet a regression', () => {
    const prev = [row('1', { s: 1000 }, { s: 100e6 }), row('2', { s: 1050 }, { s: 120e6 }), row('3', { s: 1100 }, { s: 140e6 })];
    const r = buildReport(input([result('s', { times: [1250], rss: [170e6] })], { previousTrend: prev, suiteBaselines: { s: base(1000, { maxMs: 1300 }) } }));
    expect(r.trend.map((t) => t.reportId)).toEqual(['1', '2', '3', '20250101_000000']);
    expect(r.recommendations.find((x) => x.kind === 'memory-growth')?.text).toMatch(/grew in each of the last 4 runs, from 100\.0 MB to 170\.0 MB/);
    expect(r.recommendations.find((x) => x.kind === 'slowing')?.text).toMatch(/rose in each of the last 4 runs, from 1\.00 s to 1\.25 s; not yet a regression/);
  });

  it('flat memory and time give no growth advice; the trend keeps only the last 5', () => {
    const prev = ['1', '2', '3', '4', '5', '6'].map((id) => row(id, { s: 1000 }, { s: 100e6 }));
    const r = buildReport(input([result('s', { times: [1000], rss: [100e6] })], { previousTrend: prev, suiteBaselines: { s: base(1000) } }));
    expect(r.trend.map((t) => t.reportId)).toEqual(['3', '4', '5', '6', '20250101_000000']);
    expect(r.recommendations.map((x) => x.kind)).not.toContain('memory-growth');
    expect(r.recommendations.map((x) => x.kind)).not.toContain('slowing');
  });

  it('noisy runs, a baseline from another machine, cache errors', () => {
    const r = buildReport(
      input([result('s', { times: [1000, 1500, 1100], stats: stats(3, 0, { errors: 2 }) })], {
        suiteBaselines: { s: base(1000, { maxMs: 2000 }) },
        baseline: { file: '/x', present: true, problem: null, updatedAt: 'then', commit: null, branch: null, legacy: false, machine: { ...machine, cpus: 2, os: 'Darwin' }, written: false },
      }),
    );
    const kinds = r.recommendations.map((x) => x.kind);
    expect(kinds).toEqual(expect.arrayContaining(['noisy', 'baseline-machine', 'cache-errors']));
    expect(r.recommendations.find((x) => x.kind === 'noisy')?.text).toMatch(/spread 45% of the median \(1\.00 s–1\.50 s\)/);
    expect(r.recommendations.find((x) => x.kind === 'baseline-machine')?.text).toMatch(/Darwin x64, 2 CPUs.*Linux x64, 8 CPUs/);
    expect(r.recommendations.find((x) => x.kind === 'cache-errors')?.text).toMatch(/2 request\(s\).*--run run-1/);
  });

  it('nothing to say: a single "no action" line that counts the suites and targets', () => {
    const r = buildReport(input([result('a', { times: [900], target: 1000, stats: stats(5, 0) }), result('b', { times: [500], stats: stats(2, 0) })], { suiteBaselines: { a: base(1000), b: base(500) } }));
    expect(r.grade.letter).toBe('A');
    expect(r.recommendations).toEqual([{ kind: 'none', suite: null, text: 'No action needed: all 2 suite(s) ran cleanly, 1 within their targets, within 20% of their baselines.' }]);
  });
});
