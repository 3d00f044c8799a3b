/**
 * The benchmarker's public surface for `cache-manager bench`. The CLI wires:
 *   bench [--suite name="cmd"]... [--only NAME]... [--quick] [--ci] [--update-baseline] [--report-only]
 *         [--memory-focus] [--out-dir DIR] [--verbose] [--timeout DURATION]
 * → runBench({ suites: config.benchmark.suites, cliSuites, only, quick, ci, updateBaseline, reportOnly,
 *   memoryFocus, outDir, port: cacheRunPortFrom(session) or null, log: stderr lines, echo: verbose ? stderr : null })
 * and prints `renderBenchSummary(result)` (or `result.report` with --json); the exit code is `result.exitCode`.
 * runBench throws E_USAGE (exit 2) for a bad --suite, an unknown --only name, no suites, or nothing to re-render.
 * With no configured suites it runs the Vocorize test scripts found in the working directory (vocorizeSuites).
 * Read-only modes, running nothing: --compare-baseline → compareWithBaseline, --baseline-check → checkBaseline
 * (exit 1 when not ok), --status → benchStatus.
 */
export { runBench, renderBenchSummary, type BenchResult, type RunBenchOptions } from './benchCommand.js';
export { cacheRunPortFrom, type RunPortCaller } from './clientRunPort.js';
export { renderBenchMarkdown } from './reportMarkdown.js';
export { benchReportJsonSchema, benchReportSchema, parseBenchReport } from './reportSchema.js';
export { DEFAULT_RUNS, parseSuiteFlag } from './selectSuites.js';
export type { BenchReport, BenchSuiteConfig, CacheRunPort, RunCacheStats } from './types.js';
export { checkBaseline, renderBaselineCheck, type BaselineCheck } from './baselineCheck.js';
export { compareWithBaseline, renderComparison, type BaselineComparison } from './compareBaseline.js';
export { benchStatus, renderBenchStatus, type BenchStatus } from './benchStatus.js';
export { BASELINE_FILE } from './baseline.js';
