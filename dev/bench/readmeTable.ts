import { shortfall } from './bars.js';
import type { ResultsFile } from './report.js';
import { fmt } from './stats.js';
import type { Figure } from './types.js';

/** The markers in README.md between which the performance section is generated. */
export const README_START = '<!-- bench:performance:start (generated from bench/results.json by `node build/dev/bench/main.js --readme`; do not edit by hand) -->';
export const README_END = '<!-- bench:performance:end -->';

/** A Markdown table cell: no pipes or newlines. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function result(f: Figure): string {
  const range = f.min !== undefined && f.max !== undefined ? ` [${fmt(f.min)}–${fmt(f.max)}]` : '';
  return `${fmt(f.value)} ${f.unit}${range}`;
}

function status(f: Figure): string {
  if (f.pass === undefined) return '';
  if (f.pass) return 'met';
  const s = shortfall(f);
  return s ? `**missed** by ${Math.round(s * 100)} %` : '**missed**';
}

/**
 * Benchmarks in `order` first (the registry's order), then any others results.json holds, alphabetically;
 * benchmarks with no figures are skipped (an error shows as a line of its own).
 */
function orderedBenchmarks(results: ResultsFile, order: readonly string[]): string[] {
  const names = Object.keys(results.benchmarks);
  return [...order.filter((n) => names.includes(n)), ...names.filter((n) => !order.includes(n)).sort()];
}

/**
 * The performance section of README.md from a results file: when and where it ran, one table row per
 * figure (result with min–max, the same-run reference, ratio, bar, met or missed by how much), then every
 * missed bar with what closes it (`ifMissed`, else a pointer to bench/README.md), and benchmarks that failed.
 * Pure: the same results give the same text.
 */
export function performanceSection(results: ResultsFile, order: readonly string[] = []): string {
  const m = results.machine;
  const load = (l: number[] | undefined) => (l && l.length ? l.join(' ') : 'n/a');
  const lines: string[] = [];
  const when = (iso: string) => iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
  const dur = results.durationMs !== undefined ? ` (${(results.durationMs / 60_000).toFixed(1)} min)` : '';
  lines.push(
    `Run ${when(results.generatedAt)}${dur}: ${m.nproc} cores (${m.cpu}), ${m.memTotal}, ` +
      `Node ${m.node}, ${m.platform}; load average ${load(m.loadavgStart)} at the start, ${load(m.loadavgEnd)} at the end. ` +
      'Figures are medians over repetitions [min–max]; each reference was measured in the same run.',
  );
  const older = Object.entries(results.benchmarks).filter(([, b]) => b.ranAt < results.generatedAt);
  if (older.length) {
    lines.push('');
    lines.push(`Kept from earlier runs: ${older.map(([n, b]) => `${n} (${when(b.ranAt)})`).join(', ')}.`);
  }
  lines.push('');
  lines.push('| benchmark | figure | result [min–max] | reference (same run) | ratio | bar | |');
  lines.push('|---|---|---|---|---|---|---|');
  const missed: Figure[] = [];
  const failed: Array<{ name: string; error: string }> = [];
  for (const name of orderedBenchmarks(results, order)) {
    const b = results.benchmarks[name]!;
    if (b.error) failed.push({ name, error: b.error });
    for (const f of b.figures) {
      if (f.pass === false) missed.push(f);
      const ref = f.reference ? `${fmt(f.reference.value)} (${f.reference.name})` : '';
      const ratio = f.ratio !== undefined ? `${fmt(f.ratio)}×` : '';
      lines.push(`| ${[f.benchmark, f.name, result(f), ref, ratio, f.target ?? '', status(f)].map(cell).join(' | ')} |`);
    }
  }
  lines.push('');
  if (missed.length === 0 && failed.length === 0) {
    lines.push('Every bar is met in this run.');
  } else {
    if (missed.length) {
      lines.push('Bars missed in this run:');
      for (const f of missed) {
        const s = shortfall(f);
        const by = s ? ` by ${Math.round(s * 100)} %` : '';
        const what = f.ratio !== undefined && f.target?.includes('×') ? `${fmt(f.ratio)}×` : `${fmt(f.value)} ${f.unit}`;
        lines.push(`- **${f.benchmark} / ${f.name}**: ${what} against ${f.target}, missed${by}. ${f.ifMissed ?? 'See bench/README.md.'}`);
      }
    }
    for (const x of failed) lines.push(`- **${x.name}** failed in this run: ${cell(x.error)}`);
  }
  return lines.join('\n');
}

/**
 * `text` with everything between the start and end markers replaced by `body`. Throws when a marker is
 * missing, repeated or out of order (the file is then left as it was by the caller).
 */
export function replaceBetweenMarkers(text: string, body: string, start = README_START, end = README_END): string {
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < 0) throw new Error(`README markers not found: the file needs the lines\n${start}\n${end}`);
  if (text.indexOf(start, i + 1) >= 0 || text.indexOf(end, j + 1) >= 0) throw new Error('README markers appear more than once');
  if (j < i) throw new Error('README end marker comes before the start marker');
  return `${text.slice(0, i + start.length)}\n${body}\n${text.slice(j)}`;
}
