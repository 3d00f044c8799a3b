import type { ReportData } from './reportData.js';
import { formatBytes, formatMs, formatPct, formatTime } from './reportFormat.js';

/** The report's tables as header + text cells, shared by the Markdown and HTML renderers. */
export interface TextTable {
  head: string[];
  rows: string[][];
}

export function modelsTable(d: ReportData): TextTable {
  return {
    head: ['Model', 'Requests', 'Hits', 'Misses', 'Errors', 'Hit rate', 'Size', 'Last use', 'Evictions'],
    rows: d.models.map((m) => [
      m.name,
      String(m.requests),
      String(m.hits),
      String(m.misses),
      String(m.errors),
      formatPct(m.hitRate),
      m.sizeBytes === null ? 'not cached' : formatBytes(m.sizeBytes),
      formatTime(m.lastUse),
      String(m.evictions),
    ]),
  };
}

export function missesTable(d: ReportData): TextTable {
  return {
    head: ['Model', 'Misses', 'Downloaded', 'Mean miss time'],
    rows: d.topMisses.map((m) => [m.name, String(m.misses), formatBytes(m.bytesDownloaded), formatMs(m.meanMissMs)]),
  };
}

export function trendTable(d: ReportData): TextTable {
  return {
    head: ['Day (UTC)', 'Requests', 'Hits', 'Misses', 'Errors', 'Hit rate', 'Downloaded', 'Served', 'Time saved'],
    rows: d.trend.map((t) => [
      t.day,
      String(t.requests),
      String(t.hits),
      String(t.misses),
      String(t.errors),
      formatPct(t.hitRate),
      formatBytes(t.bytesDownloaded),
      formatBytes(t.bytesServed),
      formatMs(t.timeSavedMs),
    ]),
  };
}
