import type { ReportData } from './reportData.js';
import { describeScope, escapeMdCell, formatBytes, formatMs, formatPct, formatTime, passFail } from './reportFormat.js';
import { modelsTable, missesTable, trendTable } from './reportTables.js';

function mdTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map(escapeMdCell).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

export function renderReportMarkdown(d: ReportData): string {
  const s = d.summary;
  const out: string[] = [];
  out.push(`# ${d.title}`, '', `Generated ${formatTime(d.generatedAt)}. Scope: ${describeScope(d.scope)}.`, '');
  out.push('## Executive summary', '');
  out.push(`**Grade: ${s.grade ?? 'n/a'}**${s.gradeReasons.length ? ` (${s.gradeReasons.join('; ')})` : ''}`, '');
  out.push(
    mdTable(
      ['Measure', 'Value', 'Target', 'Result'],
      [
        ['Hit rate', formatPct(s.hitRate), `>= ${formatPct(d.targets.hitRate)}`, passFail(s.hitRatePass)],
        ['Lookup time (p95 of hits)', formatMs(s.lookupMs), `< ${formatMs(d.targets.lookupMs)}`, passFail(s.lookupPass)],
        ['Requests', `${s.requests} (${s.hits} hits, ${s.misses} misses, ${s.errors} errors)`, '', ''],
        ['Time saved', formatMs(s.timeSavedMs), '', ''],
        ['Bytes avoided', formatBytes(s.bytesAvoided), '', ''],
        ['Bytes downloaded', formatBytes(s.bytesDownloaded), '', ''],
        ['Bytes served', formatBytes(s.bytesServed), '', ''],
        ...(s.tierHits > 0 || s.bytesFromTier > 0
          ? [
              ['Misses by source', `${s.tierHits} from the fleet tier, ${s.hubDownloads} from the Hub`, '', ''],
              ['Bytes from the fleet tier', formatBytes(s.bytesFromTier), '', ''],
              ['Hub bytes avoided (hits + tier)', formatBytes(s.hubBytesAvoided), '', ''],
            ]
          : []),
        ['Miss penalty (mean miss time minus median hit time)', formatMs(s.missPenaltyMs), '', ''],
        ['Models touched', String(s.modelsTouched), '', ''],
      ],
    ),
  );
  out.push('', `Grade rule: ${s.gradeRule}`, '');
  out.push('## Models', '');
  if (d.models.length === 0) out.push('No requests in scope.');
  else {
    const t = modelsTable(d);
    out.push(mdTable(t.head, t.rows));
  }
  out.push('', '## Top misses', '');
  if (d.topMisses.length === 0) out.push('No misses in scope.');
  else {
    const t = missesTable(d);
    out.push(mdTable(t.head, t.rows));
  }
  out.push('', '## Trend per day (UTC)', '');
  if (d.trend.length === 0) out.push('No requests in scope.');
  else {
    const t = trendTable(d);
    out.push(mdTable(t.head, t.rows));
  }
  if (d.approximations.length > 0) {
    out.push('', `Note: some requests in scope are kept only as daily totals; approximated: ${d.approximations.join(', ')}.`);
  }
  return `${out.join('\n')}\n`;
}
