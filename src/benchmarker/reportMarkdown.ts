import type { BenchReport, Comparison, ReportSuite, Verdict } from './types.js';

export function fmtMs(ms: number | null | undefined): string {
  if (ms == null) return '–';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}
export function fmtMB(bytes: number | null | undefined): string {
  return bytes == null ? '–' : `${(bytes / 1e6).toFixed(1)} MB`;
}
export function fmtPct(p: number | null | undefined, signed = false): string {
  if (p == null) return '–';
  return `${signed && p >= 0 ? '+' : ''}${p.toFixed(1)}%`;
}
export function verdictLabel(v: Verdict): string {
  return { pass: 'pass', warn: 'WARN', fail: 'FAIL', new: 'new', error: 'ERROR' }[v];
}

function cell(s: string): string {
  return s.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function table(head: string[], rows: string[][]): string {
  const lines = [`| ${head.map(cell).join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

function timeCheckCell(c: Comparison): string {
  return c.changePct === null ? '–' : fmtPct(c.changePct, true);
}

function suiteRows(suites: readonly ReportSuite[]): string[][] {
  return suites.map((s) => [
    s.name,
    `${s.measurements.length}/${s.runsRequested}`,
    fmtMs(s.time?.median),
    s.time ? `${fmtMs(s.time.min)}–${fmtMs(s.time.max)}` : '–',
    s.baseline ? `${fmtMs(s.baseline.medianMs)} (${fmtMs(s.baseline.minMs)}–${fmtMs(s.baseline.maxMs)})` : '–',
    timeCheckCell(s.timeCheck),
    s.targetMs === null ? '–' : fmtMs(s.targetMs),
    fmtMs(s.cpuMedianMs),
    fmtMB(s.peakRss?.median),
    s.ok ? verdictLabel(s.timeCheck.verdict) : `ERROR: ${s.failure ?? ''}`,
  ]);
}

/** The Markdown report (pure). Sections: Executive Summary, Suites, Memory, Cache, Trend, Recommendations, Technical Details. */
export function renderBenchMarkdown(r: BenchReport): string {
  const out: string[] = [];
  const nFail = r.suites.filter((s) => s.verdict === 'fail').length;
  const nWarn = r.suites.filter((s) => s.verdict === 'warn').length;
  const nErr = r.suites.filter((s) => s.verdict === 'error').length;
  const modes = Object.entries(r.mode).filter(([, v]) => v).map(([k]) => k);

  out.push(`# Performance report ${r.id}`, '');
  out.push(`${r.createdAt}${r.git.commit ? ` · commit ${r.git.commit.slice(0, 12)}` : ''}${r.git.branch ? ` on ${r.git.branch}` : ''}${modes.length ? ` · ${modes.join(', ')}` : ''}`, '');

  out.push('## Executive Summary', '');
  out.push(`${r.grade.letter === null ? '**No grade**: nothing to judge against (no baseline, no target)' : `**Grade: ${r.grade.letter}** (score ${r.grade.score}/100)`} · ${r.suites.length} suite(s): ${nErr} failed to run, ${nFail} failing check(s), ${nWarn} warning(s) · exit code ${r.exitCode}${!r.mode.ci && nFail > 0 ? ' (1 with --ci)' : ''}`);
  if (r.cache.totals) {
    const t = r.cache.totals;
    out.push(`Cache: hit rate ${t.hitRate === null ? '–' : fmtPct(t.hitRate * 100)}, ${t.misses} miss(es), ${fmtMB(t.bytesDownloaded)} downloaded, ${fmtMB(t.bytesAvoided)} avoided, ${fmtMs(t.timeSavedMs)} saved.`);
  } else {
    out.push(`Cache: ${r.cache.note ?? 'no numbers'}.`);
  }
  out.push('', `Grade rule: ${r.grade.rule}`, '');
  if (r.grade.deductions.length > 0) {
    out.push('Deductions:', ...r.grade.deductions.map((d) => `- −${d.points}: ${d.reason}`), '');
  } else {
    out.push('Deductions: none.', '');
  }

  out.push('## Suites', '');
  out.push('Median of the runs is the figure; a median within the baseline\'s min–max is never a regression; over 20% above the baseline median warns, over 50% (or over the target) fails.', '');
  out.push(table(['Suite', 'Runs', 'Median', 'Min–max', 'Baseline (min–max)', 'Change', 'Target', 'CPU', 'Peak RSS', 'Result'], suiteRows(r.suites)));
  const why = r.suites.filter((s) => s.timeCheck.reasons.length > 0);
  if (why.length > 0) out.push('', ...why.map((s) => `- ${s.name}: ${s.timeCheck.reasons.join('; ')}`));
  out.push('');

  out.push('## Memory', '');
  out.push(r.mode.memoryFocus ? 'Peak RSS of the whole process tree, per suite, against its baseline (counts toward the grade: --memory-focus).' : 'Peak RSS of the whole process tree, per suite, against its baseline (informational; --memory-focus makes it count).', '');
  out.push(
    table(
      ['Suite', 'Peak RSS (median)', 'Min–max', 'Baseline', 'Change', 'Result'],
      r.suites.map((s) => [
        s.name,
        fmtMB(s.peakRss?.median),
        s.peakRss ? `${fmtMB(s.peakRss.min)}–${fmtMB(s.peakRss.max)}` : '–',
        s.baseline?.peakRss ? `${fmtMB(s.baseline.peakRss.median)} (${fmtMB(s.baseline.peakRss.min)}–${fmtMB(s.baseline.peakRss.max)})` : '–',
        timeCheckCell(s.memoryCheck),
        verdictLabel(s.memoryCheck.verdict),
      ]),
    ),
  );
  out.push('');

  out.push('## Cache', '');
  out.push('Each suite ran in its own cache run scope (env VOCORIZE_CACHE_RUN); the numbers are for that run only.', '');
  out.push(
    table(
      ['Suite', 'Run id', 'Hits', 'Misses', 'Errors', 'Hit rate', 'Downloaded', 'Bytes avoided', 'Time saved'],
      [
        ...r.suites.map((s) => {
          const st = s.cache.stats;
          if (!st) return [s.name, s.cache.runId ?? '–', '–', '–', '–', '–', '–', '–', s.cache.note ?? '–'];
          return [s.name, s.cache.runId ?? '–', `${st.hits}`, `${st.misses}`, `${st.errors}`, st.hitRate === null ? '–' : fmtPct(st.hitRate * 100), fmtMB(st.bytesDownloaded), fmtMB(st.bytesAvoided), fmtMs(st.timeSavedMs)];
        }),
        ...(r.cache.totals
          ? [
              [
                '**total**',
                '',
                `${r.cache.totals.hits}`,
                `${r.cache.totals.misses}`,
                `${r.cache.totals.errors}`,
                r.cache.totals.hitRate === null ? '–' : fmtPct(r.cache.totals.hitRate * 100),
                fmtMB(r.cache.totals.bytesDownloaded),
                fmtMB(r.cache.totals.bytesAvoided),
                fmtMs(r.cache.totals.timeSavedMs),
              ],
            ]
          : []),
      ],
    ),
  );
  if (r.cache.note) out.push('', `Note: ${r.cache.note}.`);
  out.push('');

  out.push(`## Trend (last ${r.trend.length} run${r.trend.length === 1 ? '' : 's'})`, '');
  const names = [...new Set(r.trend.flatMap((t) => Object.keys(t.medians)))];
  out.push(
    table(
      ['Run', 'Commit', 'Grade', ...names.map((n) => `${n} median`), 'Hit rate'],
      r.trend.map((t) => [
        t.reportId === r.id ? `${t.reportId} (this run)` : t.reportId,
        t.commit ? t.commit.slice(0, 12) : '–',
        t.grade,
        ...names.map((n) => fmtMs(t.medians[n])),
        t.hitRate === null ? '–' : fmtPct(t.hitRate * 100),
      ]),
    ),
  );
  out.push('');

  out.push('## Recommendations', '');
  out.push(...r.recommendations.map((x) => `- ${x.text}`), '');

  out.push('## Technical Details', '');
  const m = r.machine;
  out.push(`- Machine: ${m.os} ${m.release} ${m.arch}, ${m.cpus} CPUs${m.cpuModel ? ` (${m.cpuModel})` : ''}, ${(m.totalMemoryBytes / 1e9).toFixed(1)} GB, Node ${m.nodeVersion}`);
  out.push(`- Git: ${r.git.commit ?? 'not a repository'}${r.git.branch ? ` (${r.git.branch})` : ''}`);
  const b = r.baseline;
  const bState = b.problem ? `ignored: ${b.problem}` : b.present ? `from ${b.updatedAt ?? '?'}${b.commit ? `, commit ${b.commit.slice(0, 12)}` : ''}${b.branch ? ` (${b.branch})` : ''}${b.legacy ? ', old script format' : ''}` : 'none';
  out.push(`- Baseline: ${b.file} — ${bState}${b.written ? '; updated by this run' : ''}`);
  out.push('- Measurement: wall clock per run; CPU = user + sys of the command and the descendants it waited for; peak RSS = the highest sampled sum over the process tree (Linux: /proc every ~15 ms, at least each process\'s own VmHWM; elsewhere: ps).');
  for (const s of r.suites) {
    out.push(`- ${s.name}: \`${s.command.replaceAll('`', "'")}\` in ${s.cwd}`);
    for (const [k, x] of s.measurements.entries()) {
      out.push(`  - run ${k + 1}: ${fmtMs(x.wallMs)} wall, CPU ${x.userMs === null ? '–' : fmtMs((x.userMs ?? 0) + (x.sysMs ?? 0))}, peak RSS ${fmtMB(x.peakRssBytes)} (${x.rssSamples} ${x.rssMethod} samples), exit ${x.exitCode ?? x.signal ?? '?'}${x.timedOut ? ' (timed out)' : ''}, log ${x.logPath}`);
    }
  }
  out.push('');
  return out.join('\n');
}
