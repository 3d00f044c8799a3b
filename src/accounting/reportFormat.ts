import type { RunRecord } from './runs.js';

/** Text formatting for reports. Sizes are decimal (1 MB = 10^6 bytes), as macOS and the Hub show them. */

export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${Math.round(bytes)} B`;
}

/** Short axis label for a byte count (decimal). */
export function formatBytesShort(bytes: number): string {
  if (bytes >= 1e9) return `${trim(bytes / 1e9)} GB`;
  if (bytes >= 1e6) return `${trim(bytes / 1e6)} MB`;
  if (bytes >= 1e3) return `${trim(bytes / 1e3)} kB`;
  return `${Math.round(bytes)} B`;
}

function trim(n: number): string {
  return String(Math.round(n * 10) / 10);
}

export function formatMs(ms: number | null): string {
  if (ms === null) return 'n/a';
  const neg = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  if (a < 1) return `${neg}${a.toFixed(2)} ms`;
  if (a < 1000) return `${neg}${a.toFixed(a < 10 ? 1 : 0)} ms`;
  if (a < 60_000) return `${neg}${(a / 1000).toFixed(1)} s`;
  if (a < 3_600_000) return `${neg}${Math.floor(a / 60_000)} min ${Math.round((a % 60_000) / 1000)} s`;
  return `${neg}${Math.floor(a / 3_600_000)} h ${Math.round((a % 3_600_000) / 60_000)} min`;
}

export function formatPct(rate: number | null): string {
  return rate === null ? 'n/a' : `${(Math.round(rate * 1000) / 10).toFixed(1)}%`;
}

export function formatTime(ms: number | null): string {
  return ms === null ? 'n/a' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}

export function passFail(pass: boolean | null): string {
  return pass === null ? 'n/a' : pass ? 'PASS' : 'FAIL';
}

/** Text inside HTML elements and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A Markdown table cell: pipes and line breaks would break the table. */
export function escapeMdCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

/** What a report counts, in words. */
export function describeScope(s: { since: number | null; sinceFrom: 'option' | 'reset' | null; run: string | null; runInfo: RunRecord | null }): string {
  if (s.run !== null) {
    const label = s.runInfo?.label ? ` "${s.runInfo.label}"` : '';
    const span = s.runInfo
      ? `, ${formatTime(s.runInfo.startedAt)} to ${s.runInfo.endedAt === null ? 'now (still open)' : formatTime(s.runInfo.endedAt)}`
      : ' (not a known run)';
    return `run ${s.run}${label}${span}`;
  }
  if (s.since !== null) return `since ${formatTime(s.since)}${s.sinceFrom === 'reset' ? ' (the last stats reset)' : ''}`;
  return 'all history';
}
