import path from 'node:path';
import type { Writable } from 'node:stream';
import { BASELINE_FILE, baselineFacts, nextBaseline, readBaseline, writeBaseline } from './baseline.js';
import { buildReport, reevaluate, TREND_LENGTH } from './buildReport.js';
import { gitFacts, machineFacts } from './facts.js';
import { appendHistory, HISTORY_FILE, readHistory, type HistoryEntry } from './history.js';
import { allocateReportId, readLatestReport, writeReportFiles } from './report.js';
import { fmtMB, fmtMs, fmtPct, verdictLabel } from './reportMarkdown.js';
import { gradeTag } from './regression.js';
import { runSuites } from './runSuites.js';
import { selectSuites } from './selectSuites.js';
import { detectVocorizeSuites, noSuitesError } from './vocorizeSuites.js';
import type { BenchReport, BenchSuiteConfig, CacheRunPort, TrendRow } from './types.js';

export interface RunBenchOptions {
  /** Configured suites (`benchmark.suites`); when empty, the Vocorize scripts found in cwd (see vocorizeSuites). */
  suites: Record<string, BenchSuiteConfig>;
  /** `--suite name="cmd"`; when given only these run. */
  cliSuites?: string[];
  /** `--only name`: a subset of the suites. */
  only?: string[];
  /** One run per suite. */
  quick?: boolean;
  /** A failing check (over 50% above baseline, over target) makes the exit code 1. */
  ci?: boolean;
  /** Write this run's medians as the baseline (never done otherwise). */
  updateBaseline?: boolean;
  /** Re-render the newest JSON report in outDir; runs nothing. */
  reportOnly?: boolean;
  /** Peak RSS checks against the baseline count toward the grade and --ci. */
  memoryFocus?: boolean;
  /** Default `<cwd>/performance-reports`. */
  outDir?: string;
  /** Where command-line suites run and git facts are read; default process.cwd(). */
  cwd?: string;
  port: CacheRunPort | null;
  /** Epoch ms; names the report and stamps history. Default Date.now. */
  clock?: () => number;
  /** Progress lines (the CLI sends them to stderr). */
  log?: (line: string) => void;
  /** Copy suites' output here as well as into their logs. */
  echo?: Writable | null;
  /** Per run; default none. */
  timeoutMs?: number | null;
  /** Environment the suites inherit; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface BenchResult {
  exitCode: number;
  report: BenchReport;
  paths: { markdown: string; json: string; baseline: string | null; history: string | null };
}

function trendRowOf(e: HistoryEntry): TrendRow {
  const medians: Record<string, number | null> = {};
  const peakRss: Record<string, number | null> = {};
  for (const [name, s] of Object.entries(e.suites)) {
    medians[name] = s.ok ? s.medianMs : null;
    peakRss[name] = s.peakRssBytes;
  }
  return { reportId: e.reportId, createdAt: e.createdAt, commit: e.commit, grade: e.grade, medians, peakRss, hitRate: e.cache?.hitRate ?? null };
}

function historyEntryOf(r: BenchReport): HistoryEntry {
  const suites: HistoryEntry['suites'] = {};
  for (const s of r.suites) {
    suites[s.name] = { ok: s.ok, medianMs: s.time?.median ?? null, minMs: s.time?.min ?? null, maxMs: s.time?.max ?? null, peakRssBytes: s.peakRss?.median ?? null };
  }
  const t = r.cache.totals;
  return {
    reportId: r.id,
    createdAt: r.createdAt,
    commit: r.git.commit,
    branch: r.git.branch,
    quick: r.mode.quick,
    grade: gradeTag(r.grade),
    score: r.grade.score,
    suites,
    cache: t ? { hits: t.hits, misses: t.misses, hitRate: t.hitRate } : null,
  };
}

/**
 * The `cache-manager bench` engine: runs the selected suites (each inside its own cache run scope),
 * compares them with the baseline, writes `performance_report_<id>.md/.json`, appends to
 * `history.jsonl`, and writes the baseline only with `updateBaseline`. With `reportOnly` it re-judges
 * the newest JSON report under this call's --ci/--memory-focus and re-renders it, running nothing.
 * Usage mistakes (bad --suite, unknown --only, no suites, no report to re-render) throw E_USAGE.
 */
export async function runBench(o: RunBenchOptions): Promise<BenchResult> {
  const cwd = o.cwd ?? process.cwd();
  const outDir = path.resolve(cwd, o.outDir ?? 'performance-reports');
  const clock = o.clock ?? Date.now;
  const log = o.log ?? (() => undefined);
  const mode = { quick: o.quick === true, ci: o.ci === true, memoryFocus: o.memoryFocus === true, updateBaseline: o.updateBaseline === true };

  if (o.reportOnly) {
    const latest = readLatestReport(outDir);
    const report = reevaluate(latest.report, { ci: mode.ci, memoryFocus: mode.memoryFocus });
    const written = writeReportFiles(outDir, report);
    log(`bench: re-rendered ${written.markdown} from ${latest.file}`);
    return { exitCode: report.exitCode, report, paths: { ...written, baseline: null, history: null } };
  }

  const fromCli = (o.cliSuites ?? []).length > 0;
  const suites = fromCli ? o.suites : configuredOrDefaultSuites(o.suites, cwd, log);
  if (!fromCli && Object.keys(suites).length === 0) throw noSuitesError(cwd);
  const selected = selectSuites({ suites, cliSuites: o.cliSuites, only: o.only, quick: mode.quick, cwd });
  const now = clock();
  const id = allocateReportId(outDir, now);
  const createdAt = new Date(now).toISOString();
  const baselineFile = path.join(outDir, BASELINE_FILE);
  const historyFile = path.join(outDir, HISTORY_FILE);
  const [git, machine] = [await gitFacts(cwd), machineFacts()];
  const baseRead = readBaseline(baselineFile);
  if (baseRead.problem) log(`bench: ${baseRead.problem}`);
  const history = readHistory(historyFile);
  if (history.skipped > 0) log(`bench: skipped ${history.skipped} unreadable line(s) of ${historyFile}`);

  const results = await runSuites({
    suites: selected,
    port: o.port,
    logDir: path.join(outDir, 'logs', id),
    labelSuffix: id,
    baseEnv: o.env,
    timeoutMs: o.timeoutMs ?? null,
    echo: o.echo ?? null,
    log,
  });

  const willWrite = mode.updateBaseline && results.some((r) => r.ok);
  const b = baseRead.baseline;
  const report = buildReport({
    id,
    createdAt,
    mode,
    git,
    machine,
    results,
    baseline: baselineFacts(baselineFile, baseRead, willWrite),
    suiteBaselines: b?.suites ?? {},
    previousTrend: history.entries.slice(-(TREND_LENGTH - 1)).map(trendRowOf),
  });

  const written = writeReportFiles(outDir, report);
  appendHistory(historyFile, historyEntryOf(report));
  if (willWrite) {
    writeBaseline(baselineFile, nextBaseline(b, results, { now: createdAt, git, machine }));
    log(`bench: baseline written to ${baselineFile}`);
  }
  return { exitCode: report.exitCode, report, paths: { ...written, baseline: willWrite ? baselineFile : null, history: historyFile } };
}

/** The configured suites; with none configured, the Vocorize suites whose scripts are in cwd. */
function configuredOrDefaultSuites(configured: Record<string, BenchSuiteConfig>, cwd: string, log: (line: string) => void): Record<string, BenchSuiteConfig> {
  if (Object.keys(configured).length > 0) return configured;
  const found = detectVocorizeSuites(cwd);
  const names = Object.entries(found).map(([name, s]) => `${name} (${s.command})`);
  if (names.length > 0) log(`bench: no benchmark.suites configured; using Vocorize's test scripts in ${cwd}: ${names.join(', ')}`);
  return found;
}

function pad(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) => r.map((x, c) => x.padEnd(widths[c] ?? 0)).join('  ').trimEnd());
}

/** Terminal summary of a bench result (the Markdown report is the full story). */
export function renderBenchSummary(res: BenchResult): string {
  const r = res.report;
  const lines: string[] = [];
  lines.push(`${r.grade.letter === null ? 'No grade (nothing to judge against: no baseline, no target)' : `Grade ${r.grade.letter} (score ${r.grade.score}/100)`} — exit ${res.exitCode}${r.mode.ci ? ' (--ci)' : ''}`);
  const rows = [['suite', 'median', 'min–max', 'baseline', 'change', 'target', 'peak RSS', 'result']];
  for (const s of r.suites) {
    rows.push([
      s.name,
      fmtMs(s.time?.median),
      s.time ? `${fmtMs(s.time.min)}–${fmtMs(s.time.max)}` : '–',
      s.baseline ? fmtMs(s.baseline.medianMs) : '–',
      fmtPct(s.timeCheck.changePct, true),
      s.targetMs === null ? '–' : fmtMs(s.targetMs),
      fmtMB(s.peakRss?.median) + (r.mode.memoryFocus && s.memoryCheck.changePct !== null ? ` (${fmtPct(s.memoryCheck.changePct, true)})` : ''),
      s.ok ? verdictLabel(s.verdict) : `ERROR: ${s.failure ?? ''}`,
    ]);
  }
  lines.push(...pad(rows).map((l) => `  ${l}`));
  const t = r.cache.totals;
  lines.push(
    t
      ? `Cache: hit rate ${t.hitRate === null ? '–' : fmtPct(t.hitRate * 100)} · ${t.hits} hit(s), ${t.misses} miss(es) · ${fmtMB(t.bytesDownloaded)} downloaded · ${fmtMB(t.bytesAvoided)} avoided · ${fmtMs(t.timeSavedMs)} saved`
      : `Cache: ${r.cache.note ?? 'no numbers'}`,
  );
  lines.push('Recommendations:', ...r.recommendations.map((x) => `  - ${x.text}`));
  lines.push(`Report: ${res.paths.markdown}`, `JSON:   ${res.paths.json}`);
  lines.push(res.paths.baseline ? `Baseline written: ${res.paths.baseline}` : r.mode.updateBaseline ? 'Baseline not written: no suite ran cleanly' : 'Baseline unchanged (write it with --update-baseline)');
  return lines.join('\n') + '\n';
}

