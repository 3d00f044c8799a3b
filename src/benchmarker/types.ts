import type { BenchSuiteConfig } from '../config/types.js';

export type { BenchSuiteConfig };

/** The cache's numbers for one run scope (what `cache-manager stats --run ID` reports). */
export interface RunCacheStats {
  hits: number;
  misses: number;
  errors: number;
  /** hits / (hits + misses); null when there were no hits and no misses. */
  hitRate: number | null;
  bytesDownloaded: number;
  bytesAvoided: number;
  timeSavedMs: number;
  /** Optional: models that missed in this run, so recommendations can name what to warm. */
  missedModels?: string[];
}

/**
 * How the benchmarker reaches the cache's run scopes. The CLI adapts its daemon session to this;
 * tests pass an in-process object. Any method may throw: the benchmarker then reports the cache as
 * not reachable and still runs the suite.
 */
export interface CacheRunPort {
  /** Starts a run scope; returns its id (passed to the suite as env VOCORIZE_CACHE_RUN). */
  startRun(label: string): Promise<string>;
  endRun(id: string): Promise<void>;
  /** The run's numbers, or null when the cache has none for it. */
  runStats(id: string): Promise<RunCacheStats | null>;
}

/** One timed execution of a suite's command. */
export interface RunMeasurement {
  wallMs: number;
  /** User / system CPU of the command and every descendant it waited for; null when not measurable. */
  userMs: number | null;
  sysMs: number | null;
  /** Peak resident set size of the whole process tree in bytes; null when no sample was taken. */
  peakRssBytes: number | null;
  /** Exit status of the shell; null when ended by a signal. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** The benchmarker itself got SIGINT/SIGTERM/SIGHUP during the run and passed it on. */
  interrupted: boolean;
  /** Where stdout and stderr went. */
  logPath: string;
  /** How RSS was sampled: 'proc' (Linux /proc), 'ps' (other Unix), 'none'. */
  rssMethod: 'proc' | 'ps' | 'none';
  rssSamples: number;
}

/** Median, min and max of a series. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export type Verdict = 'pass' | 'warn' | 'fail' | 'new' | 'error';

/** A comparison of one figure (time or memory) against its baseline and target. */
export interface Comparison {
  verdict: Verdict;
  /** (median - baseline median) / baseline median * 100; null without a baseline. */
  changePct: number | null;
  /** Why the verdict is what it is, one short sentence each. */
  reasons: string[];
}

export interface MachineFacts {
  os: string;
  release: string;
  arch: string;
  cpus: number;
  cpuModel: string | null;
  nodeVersion: string;
  totalMemoryBytes: number;
}

export interface GitFacts {
  commit: string | null;
  branch: string | null;
}

/** The baseline of one suite. */
export interface SuiteBaseline {
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
  peakRss: Spread | null;
  commit: string | null;
  recordedAt: string;
}

export interface Baseline {
  schemaVersion: 1;
  updatedAt: string;
  commit: string | null;
  branch: string | null;
  machine: MachineFacts | null;
  suites: Record<string, SuiteBaseline>;
  /** True when read from the old script's `{unit_tests, integration_tests}` seconds format. */
  legacy?: boolean;
}

/** The cache section of one suite. */
export interface SuiteCache {
  runId: string | null;
  reachable: boolean;
  /** Why there are no numbers (daemon not reachable, no stats for the run), else null. */
  note: string | null;
  stats: RunCacheStats | null;
}

export interface SuiteResult {
  name: string;
  command: string;
  cwd: string;
  runsRequested: number;
  targetMs: number | null;
  measurements: RunMeasurement[];
  /** Every requested run exited 0 within its timeout. */
  ok: boolean;
  /** Failure of the command itself (exit code, signal, timeout), else null. */
  failure: string | null;
  time: Spread | null;
  cpuMedianMs: number | null;
  peakRss: Spread | null;
  cache: SuiteCache;
}

export interface GradeDeduction {
  points: number;
  reason: string;
}

export interface Grade {
  /** Null ("no grade") when nothing was judged: no suite failed, none had a baseline or a target. */
  letter: 'A' | 'B' | 'C' | 'D' | 'F' | null;
  /** 0–100; null exactly when letter is null. */
  score: number | null;
  /** The rule, in words, as printed in the report. */
  rule: string;
  deductions: GradeDeduction[];
}

/** A suite in the report: its measurements plus how they compare with the baseline and target. */
export interface ReportSuite extends SuiteResult {
  baseline: SuiteBaseline | null;
  timeCheck: Comparison;
  memoryCheck: Comparison;
  /** The suite's overall verdict: 'error' when the command failed; memory counts only in memory-focus mode. */
  verdict: Verdict;
}

export interface CacheTotals {
  hits: number;
  misses: number;
  errors: number;
  hitRate: number | null;
  bytesDownloaded: number;
  bytesAvoided: number;
  timeSavedMs: number;
  /** Suites whose numbers are in the totals. */
  suitesCounted: number;
}

export interface TrendRow {
  reportId: string;
  createdAt: string;
  commit: string | null;
  grade: string;
  medians: Record<string, number | null>;
  peakRss: Record<string, number | null>;
  hitRate: number | null;
}

export interface Recommendation {
  /** Stable tag: failed, over-target, regression, memory-regression, memory-growth, slowing, low-hit-rate, cache-errors, noisy, no-baseline, baseline-machine, cache-unreachable, none. */
  kind: string;
  suite: string | null;
  text: string;
}

export interface BenchReport {
  schemaVersion: 1;
  /** Local time `YYYYmmdd_HHMMSS` (plus `_N` when two runs share a second); names the files. */
  id: string;
  createdAt: string;
  mode: { quick: boolean; ci: boolean; memoryFocus: boolean; updateBaseline: boolean };
  git: GitFacts;
  machine: MachineFacts;
  /** grade.score at the top level, where the old benchmarker's `jq .overall_score` reads it; null without a grade. */
  overall_score: number | null;
  grade: Grade;
  /** 0 ok; 1 when a suite failed to run, or in --ci when a check failed. */
  exitCode: number;
  suites: ReportSuite[];
  cache: { reachable: boolean; note: string | null; totals: CacheTotals | null };
  baseline: {
    file: string;
    present: boolean;
    problem: string | null;
    updatedAt: string | null;
    commit: string | null;
    branch: string | null;
    legacy: boolean;
    machine: MachineFacts | null;
    /** This run wrote the baseline (--update-baseline). */
    written: boolean;
  };
  /** Oldest first: the last runs (at most 5) including this one. */
  trend: TrendRow[];
  recommendations: Recommendation[];
}
