import path from 'node:path';
import { CacheError, ErrorCodes } from '../errors.js';
import { BASELINE_FILE, baselineFacts, readBaseline } from './baseline.js';
import { reevaluate } from './buildReport.js';
import { gradeLabel } from './regression.js';
import { readLatestReport } from './report.js';
import { fmtMs, fmtPct, verdictLabel } from './reportMarkdown.js';
import type { BenchReport, Verdict } from './types.js';

export interface BaselineComparison {
  /** The newest report, judged against the baseline file as it is now (nothing is written). */
  report: BenchReport;
  reportFile: string;
  baselineFile: string;
  overall_score: number | null;
  exitCode: number;
  suites: Array<{ name: string; medianMs: number | null; baselineMs: number | null; changePct: number | null; verdict: Verdict; reasons: string[] }>;
}

/**
 * `bench --compare-baseline`: the newest JSON report in outDir compared with the current baseline, running
 * and writing nothing. No report, or no usable baseline: E_USAGE naming what is missing. The exit code is
 * the report's under this call's --ci/--memory-focus (1 when a suite had failed to run, or with --ci a check fails).
 */
export function compareWithBaseline(o: { outDir: string; ci?: boolean; memoryFocus?: boolean }): BaselineComparison {
  const latest = readLatestReport(o.outDir);
  const baselineFile = path.join(o.outDir, BASELINE_FILE);
  const read = readBaseline(baselineFile);
  if (read.problem) throw new CacheError(ErrorCodes.USAGE, `${read.problem}; see cache-manager bench --baseline-check`);
  if (!read.baseline) {
    throw new CacheError(ErrorCodes.USAGE, `no baseline at ${baselineFile} to compare with; write one with cache-manager bench --update-baseline`);
  }
  const report = reevaluate(
    latest.report,
    { ci: o.ci === true, memoryFocus: o.memoryFocus === true },
    { baseline: baselineFacts(baselineFile, read, false), suiteBaselines: read.baseline.suites },
  );
  return {
    report,
    reportFile: latest.file,
    baselineFile,
    overall_score: report.overall_score,
    exitCode: report.exitCode,
    suites: report.suites.map((s) => ({
      name: s.name,
      medianMs: s.time?.median ?? null,
      baselineMs: s.baseline?.medianMs ?? null,
      changePct: s.timeCheck.changePct,
      verdict: s.verdict,
      reasons: s.ok ? s.timeCheck.reasons : [s.failure ?? 'failed to run'],
    })),
  };
}

/** Terminal text of a comparison. */
export function renderComparison(c: BaselineComparison): string {
  const b = c.report.baseline;
  const lines = [
    `Report ${c.report.id} (${c.reportFile})`,
    `vs baseline ${c.baselineFile}: updated ${b.updatedAt ?? '?'}${b.commit ? `, commit ${b.commit.slice(0, 12)}` : ''}${b.legacy ? ' (old script format)' : ''}`,
    `Grade: ${gradeLabel(c.report.grade)} — exit ${c.exitCode}${c.report.mode.ci ? ' (--ci)' : ''}`,
  ];
  for (const s of c.suites) {
    lines.push(`  ${s.name}: ${fmtMs(s.medianMs)} vs ${fmtMs(s.baselineMs)} (${fmtPct(s.changePct, true)}) ${verdictLabel(s.verdict)} — ${s.reasons.join('; ')}`);
  }
  return lines.join('\n') + '\n';
}
