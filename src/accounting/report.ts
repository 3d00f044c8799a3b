import type Database from 'better-sqlite3';
import { accountingRepos } from './accountingRepos.js';
import { readBuckets, readLastEventTs } from './buckets.js';
import type { ReportData, ReportDay, ReportMissRow, ReportModelRow, ReportOptions } from './reportData.js';
import { displayNames } from './displayName.js';
import { queryStats } from './stats.js';
import { dayStartMs, GRADE_RULE, gradeOf, groupBuckets, utcDay } from './statsMath.js';

export type { ReportData, ReportDay, ReportMissRow, ReportModelRow, ReportOptions, ReportTargets } from './reportData.js';
export { renderReportHtml } from './reportHtml.js';
export { renderReportMarkdown } from './reportMarkdown.js';

const TOP_MISSES = 10;
const MAX_FILLED_DAYS = 366;

/** Gathers everything a report shows, for one scope (as `stats`: since > last reset > all; or one run). */
export function buildReport(db: Database.Database, o: ReportOptions): ReportData {
  const stats = queryStats(db, { sinceMs: o.sinceMs, run: o.run, now: o.now });
  const scope = { sinceMs: stats.since, run: stats.run };
  const buckets = readBuckets(db, scope);

  const windowStart = stats.runInfo ? stats.runInfo.startedAt : (stats.since ?? 0);
  const windowEnd = stats.runInfo?.endedAt ?? o.now;
  const repos = accountingRepos(db);
  const evictions = new Map(repos.log.evictionsPerModel(windowStart, windowEnd).map((r) => [r.model, r.n]));
  const sizes = new Map(repos.models.sizes().map((r) => [r.key, r.size]));
  const lastTs = readLastEventTs(db, scope);
  const lastRolledDay = new Map<string, string>();
  for (const b of buckets) {
    if (b.rolledUp && (lastRolledDay.get(b.model) ?? '') < b.day) lastRolledDay.set(b.model, b.day);
  }

  const perModel = groupBuckets(buckets, (b) => b.model);
  const names = o.names ?? displayNames();
  const models: ReportModelRow[] = perModel
    .map(({ key, totals }) => {
      const rolledDay = lastRolledDay.get(key);
      return {
        model: key,
        name: names(key),
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
      name: names(key),
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
      tierHits: stats.tierHits,
      hubDownloads: stats.hubDownloads,
      bytesFromTier: stats.bytesFromTier,
      hubBytesAvoided: stats.hubBytesAvoided,
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
