/** The benchmarker's public surface for the CLI (`cache-manager bench`). */
export { runBench, renderBenchSummary, type BenchResult, type RunBenchOptions } from './benchCommand.js';
export { renderBenchMarkdown } from './reportMarkdown.js';
export { benchReportJsonSchema, benchReportSchema, parseBenchReport } from './reportSchema.js';
export { DEFAULT_RUNS, parseSuiteFlag } from './selectSuites.js';
export type { BenchReport, BenchSuiteConfig, CacheRunPort, RunCacheStats } from './types.js';
