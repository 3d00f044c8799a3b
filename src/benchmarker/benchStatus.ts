import path from 'node:path';
import { BASELINE_FILE, readBaseline } from './baseline.js';
import { TREND_LENGTH } from './buildReport.js';
import { HISTORY_FILE, readHistory, type HistoryEntry } from './history.js';
import { fmtMs, fmtPct } from './reportMarkdown.js';

export interface BenchStatus {
  baseline: { file: string; present: boolean; problem: string | null; updatedAt: string | null; commit: string | null; branch: string | null; legacy: boolean };
  /** The newest run in history.jsonl, or null when none was recorded. */
  lastRun: { reportId: string; createdAt: string; commit: string | null; grade: string; overall_score: number | null } | null;
  /** The last runs (at most 5), oldest first. */
  runs: Array<{ reportId: string; createdAt: string; grade: string; medians: Record<string, number | null> }>;
  /** Per suite over those runs: first and last measured median and the change between them. */
  trend: Array<{ suite: string; firstMs: number | null; lastMs: number | null; changePct: number | null; measured: number }>;
  /** Lines of history.jsonl that did not parse. */
  skipped: number;
}

function mediansOf(e: HistoryEntry): Record<string, number | null> {
  return Object.fromEntries(Object.entries(e.suites).map(([n, s]) => [n, s.ok ? s.medianMs : null]));
}

/** `bench --status` (reads only): the baseline's date and commit, the last run, the trend over the last 5 runs. */
export function benchStatus(o: { outDir: string }): BenchStatus {
  const file = path.join(o.outDir, BASELINE_FILE);
  const read = readBaseline(file);
  const b = read.baseline;
  const history = readHistory(path.join(o.outDir, HISTORY_FILE));
  const last = history.entries.slice(-TREND_LENGTH);
  const runs = last.map((e) => ({ reportId: e.reportId, createdAt: e.createdAt, grade: e.grade, medians: mediansOf(e) }));
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.medians)))];
  const trend = names.map((suite) => {
    const values = runs.map((r) => r.medians[suite] ?? null).filter((v): v is number => v !== null);
    const firstMs = values[0] ?? null;
    const lastMs = values.at(-1) ?? null;
    const changePct = firstMs !== null && lastMs !== null && values.length > 1 && firstMs > 0 ? ((lastMs - firstMs) / firstMs) * 100 : null;
    return { suite, firstMs, lastMs, changePct, measured: values.length };
  });
  const e = history.entries.at(-1);
  return {
    baseline: { file, present: b !== null, problem: read.problem, updatedAt: b?.updatedAt ?? null, commit: b?.commit ?? null, branch: b?.branch ?? null, legacy: b?.legacy === true },
    lastRun: e ? { reportId: e.reportId, createdAt: e.createdAt, commit: e.commit, grade: e.grade, overall_score: e.score ?? null } : null,
    runs,
    trend,
    skipped: history.skipped,
  };
}

/** Terminal text of a status. */
export function renderBenchStatus(s: BenchStatus): string {
  const b = s.baseline;
  const lines: string[] = [];
  lines.push(
    b.problem
      ? `Baseline: unusable (${b.problem})`
      : b.present
        ? `Baseline: ${b.updatedAt ?? '?'}${b.commit ? `, commit ${b.commit.slice(0, 12)}` : ''}${b.branch ? ` on ${b.branch}` : ''}${b.legacy ? ' (old script format)' : ''} — ${b.file}`
        : `Baseline: none (write one with cache-manager bench --update-baseline)`,
  );
  const l = s.lastRun;
  lines.push(
    l
      ? `Last run: ${l.reportId} at ${l.createdAt}${l.commit ? `, commit ${l.commit.slice(0, 12)}` : ''}, grade ${l.grade === 'none' ? 'none' : `${l.grade}${l.overall_score === null ? '' : ` (${l.overall_score}/100)`}`}`
      : 'Last run: none recorded',
  );
  if (s.runs.length > 0) {
    lines.push(`Trend over the last ${s.runs.length} run(s) (grades ${s.runs.map((r) => r.grade).join(' → ')}):`);
    for (const t of s.trend) {
      const series = s.runs.map((r) => fmtMs(r.medians[t.suite] ?? null)).join(' → ');
      lines.push(`  ${t.suite}: ${series}${t.changePct === null ? '' : ` (${fmtPct(t.changePct, true)})`}`);
    }
  }
  if (s.skipped > 0) lines.push(`(${s.skipped} unreadable line(s) of history.jsonl skipped)`);
  return lines.join('\n') + '\n';
}
