import { recommend } from './recommendations.js';
import { compareToBaseline, exitCodeFor, gradeRun, gradeTag, spreadBand, suiteVerdict } from './regression.js';
import type { BenchReport, CacheTotals, GitFacts, MachineFacts, ReportSuite, SuiteBaseline, SuiteResult, TrendRow } from './types.js';

export const TREND_LENGTH = 5;

export interface BuildReportInput {
  id: string;
  createdAt: string;
  mode: BenchReport['mode'];
  git: GitFacts;
  machine: MachineFacts;
  results: readonly SuiteResult[];
  /** Facts about the baseline file this run compared against. */
  baseline: BenchReport['baseline'];
  /** The baseline entries compared against, by suite (as they were before this run). */
  suiteBaselines: Readonly<Record<string, SuiteBaseline>>;
  /** Earlier runs, oldest first (this run is appended). */
  previousTrend: readonly TrendRow[];
}

function evaluateSuite(r: SuiteResult, b: SuiteBaseline | null, memoryFocus: boolean): ReportSuite {
  const timeCheck =
    r.time === null
      ? { verdict: 'error' as const, changePct: null, reasons: ['no run was measured'] }
      : compareToBaseline({
          median: r.time.median,
          baseline: b ? { median: b.medianMs, min: b.minMs, max: b.maxMs } : null,
          ceiling: r.targetMs,
          unit: 'ms',
        });
  const memoryCheck =
    r.peakRss === null
      ? { verdict: 'new' as const, changePct: null, reasons: ['peak RSS was not measured'] }
      : compareToBaseline({ median: r.peakRss.median, baseline: spreadBand(b?.peakRss ?? null), unit: 'bytes' });
  const s = { ...r, baseline: b, timeCheck, memoryCheck, verdict: 'new' as ReportSuite['verdict'] };
  s.verdict = suiteVerdict(s, memoryFocus);
  return s;
}

export function cacheTotals(suites: readonly SuiteResult[]): BenchReport['cache'] {
  const counted = suites.filter((s) => s.cache.stats !== null);
  if (counted.length === 0) {
    const note = suites.find((s) => s.cache.note !== null)?.cache.note ?? (suites.length === 0 ? 'no suites ran' : 'no cache numbers');
    return { reachable: suites.some((s) => s.cache.reachable), note, totals: null };
  }
  const t: CacheTotals = { hits: 0, misses: 0, errors: 0, hitRate: null, bytesDownloaded: 0, bytesAvoided: 0, timeSavedMs: 0, suitesCounted: counted.length };
  for (const s of counted) {
    const st = s.cache.stats;
    if (!st) continue;
    t.hits += st.hits;
    t.misses += st.misses;
    t.errors += st.errors;
    t.bytesDownloaded += st.bytesDownloaded;
    t.bytesAvoided += st.bytesAvoided;
    t.timeSavedMs += st.timeSavedMs;
  }
  t.hitRate = t.hits + t.misses > 0 ? t.hits / (t.hits + t.misses) : null;
  const note = counted.length < suites.length ? `numbers for ${counted.length} of ${suites.length} suites` : null;
  return { reachable: true, note, totals: t };
}

/** Evaluates the suites, grades the run, extends the trend and derives recommendations (pure). */
export function buildReport(i: BuildReportInput): BenchReport {
  const suites = i.results.map((r) => evaluateSuite(r, i.suiteBaselines[r.name] ?? null, i.mode.memoryFocus));
  const cache = cacheTotals(i.results);
  const judged = suites.map((s) => ({
    ...s,
    judged: s.baseline !== null || s.targetMs !== null || (i.mode.memoryFocus && s.memoryCheck.verdict !== 'new'),
  }));
  const grade = gradeRun({ suites: judged, memoryFocus: i.mode.memoryFocus, hitRate: cache.totals?.hitRate ?? null });
  const row: TrendRow = {
    reportId: i.id,
    createdAt: i.createdAt,
    commit: i.git.commit,
    grade: gradeTag(grade),
    medians: Object.fromEntries(suites.map((s) => [s.name, s.ok ? (s.time?.median ?? null) : null])),
    peakRss: Object.fromEntries(suites.map((s) => [s.name, s.peakRss?.median ?? null])),
    hitRate: cache.totals?.hitRate ?? null,
  };
  const trend = [...i.previousTrend, row].slice(-TREND_LENGTH);
  const base = { suites, cache, baseline: i.baseline, machine: i.machine, trend, mode: i.mode };
  return {
    schemaVersion: 1,
    id: i.id,
    createdAt: i.createdAt,
    mode: i.mode,
    git: i.git,
    machine: i.machine,
    overall_score: grade.score,
    grade,
    exitCode: exitCodeFor(
      suites.map((s) => s.verdict),
      i.mode.ci,
    ),
    suites,
    cache,
    baseline: i.baseline,
    trend,
    recommendations: recommend(base),
  };
}

/**
 * The same results judged again under other flags (--report-only), or against another baseline
 * (--compare-baseline: `against` replaces the baseline the report was judged with).
 */
export function reevaluate(
  r: BenchReport,
  mode: Pick<BenchReport['mode'], 'ci' | 'memoryFocus'>,
  against?: { baseline: BenchReport['baseline']; suiteBaselines: Readonly<Record<string, SuiteBaseline>> },
): BenchReport {
  const suiteBaselines: Record<string, SuiteBaseline> = {};
  if (against) Object.assign(suiteBaselines, against.suiteBaselines);
  else for (const s of r.suites) if (s.baseline) suiteBaselines[s.name] = s.baseline;
  const results: SuiteResult[] = r.suites.map(({ baseline: _b, timeCheck: _t, memoryCheck: _m, verdict: _v, ...rest }) => rest);
  return buildReport({
    id: r.id,
    createdAt: r.createdAt,
    mode: { ...r.mode, ...mode },
    git: r.git,
    machine: r.machine,
    results,
    baseline: against?.baseline ?? r.baseline,
    suiteBaselines,
    previousTrend: r.trend.filter((t) => t.reportId !== r.id),
  });
}
