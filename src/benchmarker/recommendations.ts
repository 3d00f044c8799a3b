import { HIT_RATE_TARGET, WARN_RATIO } from './regression.js';
import type { BenchReport, MachineFacts, Recommendation, ReportSuite, TrendRow } from './types.js';

export type RecommendInput = Pick<BenchReport, 'suites' | 'cache' | 'baseline' | 'machine' | 'trend' | 'mode'>;

const NOISE_SPREAD = 0.25;

function secs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}
function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}
/** Where a baseline came from, for "look at what changed since ...". */
function provenance(b: { commit: string | null; recordedAt: string }): string {
  return b.commit ? `commit ${b.commit.slice(0, 12)}` : `${b.recordedAt}, no commit recorded`;
}

/** The last run of values that rose at every step (at least 3 values), or null. */
function risingTail(values: Array<number | null>): number[] | null {
  const v = values.filter((x): x is number => x !== null);
  let start = v.length - 1;
  while (start > 0 && (v[start - 1] as number) < (v[start] as number)) start--;
  const tail = v.slice(start);
  if (tail.length < 3) return null;
  return (tail[tail.length - 1] as number) > (tail[0] as number) * WARN_RATIO ? tail : null;
}

function machineLine(m: MachineFacts): string {
  return `${m.os} ${m.arch}, ${m.cpus} CPUs, ${(m.totalMemoryBytes / 1e9).toFixed(1)} GB`;
}

function sameMachine(a: MachineFacts, b: MachineFacts): boolean {
  return a.os === b.os && a.arch === b.arch && a.cpus === b.cpus && Math.abs(a.totalMemoryBytes - b.totalMemoryBytes) < 0.05 * b.totalMemoryBytes;
}

function suiteAdvice(s: ReportSuite, trend: TrendRow[]): Recommendation[] {
  const out: Recommendation[] = [];
  const add = (kind: string, text: string): void => void out.push({ kind, suite: s.name, text });
  const last = s.measurements[s.measurements.length - 1];
  if (!s.ok) {
    add('failed', `${s.name}: ${s.failure ?? 'failed'}; its output is in ${last?.logPath ?? 'its log'}. Its timings mean little until it passes.`);
    return out;
  }
  const t = s.time;
  if (t === null) return out;
  const stats = s.cache.stats;

  if (s.targetMs !== null && t.median > s.targetMs) {
    let text = `${s.name}: median ${secs(t.median)} is ${pct(t.median / s.targetMs - 1)} over its ${secs(s.targetMs)} target.`;
    if (stats && stats.misses > 0) {
      const models = stats.missedModels?.length ? stats.missedModels.join(', ') : 'its models';
      text += ` It missed the cache ${stats.misses} time(s) and downloaded ${mb(stats.bytesDownloaded)}: warming ${models} first (cache-manager warm) takes that off the clock.`;
    }
    if (s.cpuMedianMs !== null && s.cpuMedianMs < t.median * 0.5) {
      text += ` It used ${secs(s.cpuMedianMs)} of CPU in ${secs(t.median)}: most of the time is waiting (I/O, network, sleeps), not computing.`;
    } else if (s.cpuMedianMs !== null) {
      text += ` It used ${secs(s.cpuMedianMs)} of CPU in ${secs(t.median)}: it is compute-bound${s.cpuMedianMs < t.median * 1.3 ? ' on about one core; running tests in parallel may help' : ''}.`;
    }
    add('over-target', text);
  }

  const tc = s.timeCheck;
  if ((tc.verdict === 'warn' || tc.verdict === 'fail') && s.baseline && tc.changePct !== null && t.median > s.baseline.maxMs) {
    add(
      'regression',
      `${s.name}: median ${secs(t.median)} is ${tc.changePct.toFixed(0)}% above its baseline ${secs(s.baseline.medianMs)} ` +
        `(range ${secs(s.baseline.minMs)}–${secs(s.baseline.maxMs)}, ${provenance(s.baseline)}): look at what changed since then.`,
    );
  }

  const mc = s.memoryCheck;
  if ((mc.verdict === 'warn' || mc.verdict === 'fail') && s.peakRss && s.baseline?.peakRss && mc.changePct !== null) {
    add('memory-regression', `${s.name}: peak RSS ${mb(s.peakRss.median)} is ${mc.changePct.toFixed(0)}% above its baseline ${mb(s.baseline.peakRss.median)}.`);
  }

  const rss = risingTail(trend.map((r) => r.peakRss[s.name] ?? null));
  if (rss) {
    add('memory-growth', `${s.name}: peak RSS grew in each of the last ${rss.length} runs, from ${mb(rss[0] as number)} to ${mb(rss[rss.length - 1] as number)}: look for a leak or a growing fixture.`);
  }
  const times = risingTail(trend.map((r) => r.medians[s.name] ?? null));
  if (times && tc.verdict !== 'warn' && tc.verdict !== 'fail') {
    add('slowing', `${s.name}: median rose in each of the last ${times.length} runs, from ${secs(times[0] as number)} to ${secs(times[times.length - 1] as number)}; not yet a regression against the baseline.`);
  }

  if (stats && stats.hitRate !== null && stats.hitRate < HIT_RATE_TARGET && stats.misses > 0) {
    const models = stats.missedModels?.length ? stats.missedModels.join(', ') : 'the models it uses';
    add(
      'low-hit-rate',
      `${s.name}: cache hit rate ${pct(stats.hitRate)} (${stats.hits} hits, ${stats.misses} misses, ${mb(stats.bytesDownloaded)} downloaded) is below ${pct(HIT_RATE_TARGET)}: warm ${models} before the suite (cache-manager warm).`,
    );
  }
  if (stats && stats.errors > 0) {
    add('cache-errors', `${s.name}: the cache answered ${stats.errors} request(s) with an error; see cache-manager stats --run ${s.cache.runId ?? '<id>'}.`);
  }

  if (s.measurements.length >= 2 && t.median > 0 && (t.max - t.min) / t.median > NOISE_SPREAD) {
    add('noisy', `${s.name}: runs spread ${pct((t.max - t.min) / t.median)} of the median (${secs(t.min)}–${secs(t.max)}); add runs or quiet the machine before taking a baseline.`);
  }
  return out;
}

/** Recommendations derived from this run's numbers, the baseline and the trend (pure). */
export function recommend(r: RecommendInput): Recommendation[] {
  const out: Recommendation[] = [];
  for (const s of r.suites) out.push(...suiteAdvice(s, r.trend));

  if (r.baseline.problem) out.push({ kind: 'baseline-problem', suite: null, text: `Baseline ignored: ${r.baseline.problem}.` });
  const missing = r.suites.filter((s) => s.ok && s.baseline === null).map((s) => s.name);
  if (missing.length > 0 && !r.baseline.written) {
    out.push({ kind: 'no-baseline', suite: null, text: `No baseline for ${missing.join(', ')}: run with --update-baseline once these numbers look right.` });
  }
  if (r.baseline.machine && !sameMachine(r.baseline.machine, r.machine)) {
    out.push({
      kind: 'baseline-machine',
      suite: null,
      text: `The baseline was recorded on another machine (${machineLine(r.baseline.machine)}) than this run (${machineLine(r.machine)}): compare with care or re-baseline here.`,
    });
  }
  if (!r.cache.reachable && r.suites.length > 0) {
    out.push({ kind: 'cache-unreachable', suite: null, text: `No cache numbers for this run (${r.cache.note ?? 'daemon not reachable'}): start the daemon (cache-manager daemon start) to see hits and downloads per suite.` });
  }

  if (out.length === 0) {
    const targets = r.suites.filter((s) => s.targetMs !== null).length;
    out.push({
      kind: 'none',
      suite: null,
      text: `No action needed: all ${r.suites.length} suite(s) ran cleanly${targets > 0 ? `, ${targets} within their targets` : ''}, within ${Math.round((WARN_RATIO - 1) * 100)}% of their baselines.`,
    });
  }
  return out;
}
