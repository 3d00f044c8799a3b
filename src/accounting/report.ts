import type Database from 'better-sqlite3';
import { readBuckets, readLastEventTs } from './buckets.js';
import { describeScope, escapeMdCell, formatBytes, formatMs, formatPct, formatTime, passFail } from './reportFormat.js';
import type { RunRecord } from './runs.js';
import { modelsTable, missesTable, trendTable } from './reportTables.js';
import { queryStats } from './stats.js';
import { type CounterFields, dayStartMs, GRADE_RULE, type Grade, gradeOf, groupBuckets, type Totals, utcDay } from './statsMath.js';

export { renderReportHtml } from './reportHtml.js';

export interface ReportTargets {
  /** Hit rate at least this (0..1) passes. */
  hitRate: number;
  /** p95 hit lookup time below this (ms) passes. */
  lookupMs: number;
}

export interface ReportOptions {
  sinceMs?: number | undefined;
  run?: string | undefined;
  now: number;
  targets: ReportTargets;
}

export interface ReportModelRow {
  model: string;
  requests: number;
  hits: number;
  misses: number;
  errors: number;
  hitRate: number | null;
  /** Size of the cached snapshot now; null when it is not (or no longer) in the cache. */
  sizeBytes: number | null;
  cached: boolean;
  /** Last request in scope (epoch ms); for requests only kept as daily totals, the start of their day. */
  lastUse: number | null;
  /** Evictions of this model inside the report's time window. */
  evictions: number;
  bytesDownloaded: number;
  bytesAvoided: number;
}

export interface ReportMissRow {
  model: string;
  misses: number;
  bytesDownloaded: number;
  meanMissMs: number | null;
}

export type ReportDay = { day: string } & Pick<Totals, CounterFields>;

export interface ReportData {
  title: string;
  generatedAt: number;
  scope: { since: number | null; sinceFrom: 'option' | 'reset' | null; run: string | null; runInfo: RunRecord | null; resetAt: number | null };
  targets: ReportTargets;
  summary: {
    requests: number;
    hits: number;
    misses: number;
    errors: number;
    hitRate: number | null;
    hitRatePass: boolean | null;
    lookupP50Ms: number | null;
    lookupP95Ms: number | null;
    lookupP99Ms: number | null;
    /** The lookup figure held against the target: p95 of hit times (the mean when only daily totals remain). */
    lookupMs: number | null;
    lookupPass: boolean | null;
    medianHitMs: number | null;
    missPenaltyMs: number | null;
    timeSavedMs: number;
    bytesServed: number;
    bytesDownloaded: number;
    bytesAvoided: number;
    modelsTouched: number;
    grade: Grade | null;
    gradeReasons: string[];
    gradeRule: string;
  };
  models: ReportModelRow[];
  topMisses: ReportMissRow[];
  trend: ReportDay[];
  approximations: string[];
}

const TOP_MISSES = 10;
const MAX_FILLED_DAYS = 366;

/** Gathers everything a report shows, for one scope (as `stats`: since > last reset > all; or one run). */
export function buildReport(db: Database.Database, o: ReportOptions): ReportData {
  const stats = queryStats(db, { sinceMs: o.sinceMs, run: o.run, now: o.now });
  const scope = { sinceMs: stats.since, run: stats.run };
  const buckets = readBuckets(db, scope);

  const windowStart = stats.runInfo ? stats.runInfo.startedAt : (stats.since ?? 0);
  const windowEnd = stats.runInfo?.endedAt ?? o.now;
  const evictions = new Map(
    (
      db
        .prepare('SELECT model, COUNT(*) AS n FROM evictions WHERE ts >= ? AND ts <= ? GROUP BY model')
        .all(windowStart, windowEnd) as Array<{ model: string; n: number }>
    ).map((r) => [r.model, r.n]),
  );
  const sizes = new Map(
    (db.prepare('SELECT key, size FROM models').all() as Array<{ key: string; size: number }>).map((r) => [r.key, r.size]),
  );
  const lastTs = readLastEventTs(db, scope);
  const lastRolledDay = new Map<string, string>();
  for (const b of buckets) {
    if (b.rolledUp && (lastRolledDay.get(b.model) ?? '') < b.day) lastRolledDay.set(b.model, b.day);
  }

  const perModel = groupBuckets(buckets, (b) => b.model);
  const models: ReportModelRow[] = perModel
    .map(({ key, totals }) => {
      const rolledDay = lastRolledDay.get(key);
      return {
        model: key,
        requests: totals.requests,
        hits: totals.hits,
        misses: totals.misses,
        errors: totals.errors,
        hitRate: totals.hitRate,
        sizeBytes: sizes.get(key) ?? null,
        cached: sizes.has(key),
        lastUse: lastTs.get(key) ?? (rolledDay ? dayStartMs(rolledDay) : null),
        evictions: evictions.get(key) ?? 0,
        bytesDownloaded: totals.bytesDownloaded,
        bytesAvoided: totals.bytesAvoided,
      };
    })
    .sort((a, b) => b.requests - a.requests || (a.model < b.model ? -1 : 1));

  const topMisses: ReportMissRow[] = perModel
    .filter(({ totals }) => totals.misses > 0)
    .map(({ key, totals }) => ({
      model: key,
      misses: totals.misses,
      bytesDownloaded: totals.bytesDownloaded,
      meanMissMs: totals.missMsTotal / totals.misses,
    }))
    .sort((a, b) => b.misses - a.misses || b.bytesDownloaded - a.bytesDownloaded || (a.model < b.model ? -1 : 1))
    .slice(0, TOP_MISSES);

  const trend = fillDays(
    groupBuckets(buckets, (b) => b.day).map(({ key, totals }) => ({
      day: key,
      requests: totals.requests,
      hits: totals.hits,
      misses: totals.misses,
      errors: totals.errors,
      hitRate: totals.hitRate,
      bytesServed: totals.bytesServed,
      bytesDownloaded: totals.bytesDownloaded,
      bytesAvoided: totals.bytesAvoided,
      timeSavedMs: totals.timeSavedMs,
    })),
  );

  const lookupMs = stats.lookupP95Ms ?? stats.lookupP50Ms;
  const g = gradeOf({ hitRate: stats.hitRate, lookupMs, errors: stats.errors, requests: stats.requests, targets: o.targets });
  return {
    title: 'Vocorize model cache: hit-rate report',
    generatedAt: o.now,
    scope: { since: stats.since, sinceFrom: stats.sinceFrom, run: stats.run, runInfo: stats.runInfo, resetAt: stats.resetAt },
    targets: o.targets,
    summary: {
      requests: stats.requests,
      hits: stats.hits,
      misses: stats.misses,
      errors: stats.errors,
      hitRate: stats.hitRate,
      hitRatePass: stats.hitRate === null ? null : stats.hitRate >= o.targets.hitRate,
      lookupP50Ms: stats.lookupP50Ms,
      lookupP95Ms: stats.lookupP95Ms,
      lookupP99Ms: stats.lookupP99Ms,
      lookupMs,
      lookupPass: lookupMs === null ? null : lookupMs < o.targets.lookupMs,
      medianHitMs: stats.medianHitMs,
      missPenaltyMs: stats.missPenaltyMs,
      timeSavedMs: stats.timeSavedMs,
      bytesServed: stats.bytesServed,
      bytesDownloaded: stats.bytesDownloaded,
      bytesAvoided: stats.bytesAvoided,
      modelsTouched: stats.modelsTouched,
      grade: g.grade,
      gradeReasons: g.reasons,
      gradeRule: GRADE_RULE,
    },
    models,
    topMisses,
    trend,
    approximations: stats.approximations,
  };
}

/** Days without requests between the first and the last day appear with zeros (for charts). */
function fillDays(days: ReportDay[]): ReportDay[] {
  if (days.length < 2) return days;
  const first = dayStartMs(days[0]!.day);
  const last = dayStartMs(days[days.length - 1]!.day);
  const span = Math.round((last - first) / 86_400_000) + 1;
  if (span > MAX_FILLED_DAYS) return days;
  const have = new Map(days.map((d) => [d.day, d]));
  const out: ReportDay[] = [];
  for (let i = 0; i < span; i++) {
    const day = utcDay(first + i * 86_400_000);
    out.push(
      have.get(day) ?? {
        day,
        requests: 0,
        hits: 0,
        misses: 0,
        errors: 0,
        hitRate: null,
        bytesServed: 0,
        bytesDownloaded: 0,
        bytesAvoided: 0,
        timeSavedMs: 0,
      },
    );
  }
  return out;
}

export function renderReportJson(d: ReportData): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

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
