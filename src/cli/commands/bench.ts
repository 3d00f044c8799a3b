import type { Command } from 'commander';
import { runBench, renderBenchSummary, type CacheRunPort } from '../../bench/index.js';
import type { Cli, RunContext } from '../cli.js';
import { resolveConfig, type Session } from '../session.js';

/** Adapts a daemon session to the benchmarker's run-scope port. */
function portOf(session: Session): CacheRunPort {
  return {
    async startRun(label) {
      const r = (await session.call('runStart', { label })) as { id: string };
      return r.id;
    },
    async endRun(id) {
      await session.call('runEnd', { id });
    },
    async runStats(id) {
      const s = (await session.call('stats', { run: id, by: 'model' })) as {
        hits: number;
        misses: number;
        errors: number;
        hitRate: number | null;
        bytesDownloaded: number;
        bytesAvoided: number;
        timeSavedMs: number;
        breakdown?: Array<{ key?: string; model?: string; misses?: number }>;
      };
      const missedModels = (s.breakdown ?? []).filter((b) => (b.misses ?? 0) > 0).map((b) => String(b.key ?? b.model));
      return {
        hits: s.hits,
        misses: s.misses,
        errors: s.errors,
        hitRate: s.hitRate,
        bytesDownloaded: s.bytesDownloaded,
        bytesAvoided: s.bytesAvoided,
        timeSavedMs: s.timeSavedMs,
        missedModels,
      };
    },
  };
}

export function registerBench(program: Command, cli: Cli): void {
  program
    .command('bench')
    .description('run the configured test suites, read the cache numbers of each run, compare with the baseline')
    .option('--suite <name=command...>', 'a suite from the command line (repeatable): unit="npm run test:unit"')
    .option('--only <names...>', 'only these configured suites')
    .option('--quick', 'one run per suite')
    .option('--ci', 'exit 1 on a regression over 50% or a missed target')
    .option('--update-baseline', 'write this run as performance-reports/performance_baseline.json')
    .option('--report-only', 're-render the last results without running anything')
    .option('--memory-focus', 'judge peak RSS per suite against its baseline')
    .option('--out-dir <dir>', 'where reports go', 'performance-reports')
    .action(
      (
        o: { suite?: string[]; only?: string[]; quick?: boolean; ci?: boolean; updateBaseline?: boolean; reportOnly?: boolean; memoryFocus?: boolean; outDir: string },
        cmd: Command,
      ) =>
        cli.run(cmd, async (ctx: RunContext) => {
          const config = resolveConfig(ctx.globals);
          let port: CacheRunPort | null = null;
          if (!o.reportOnly) {
            try {
              port = portOf(await ctx.session());
            } catch (err) {
              ctx.out.note(`bench: the cache daemon is not reachable (${(err as Error).message}); suites run without cache numbers`);
            }
          }
          const res = await runBench({
            suites: config.benchmark.suites,
            cliSuites: o.suite,
            only: o.only,
            quick: o.quick === true,
            ci: o.ci === true,
            updateBaseline: o.updateBaseline === true,
            reportOnly: o.reportOnly === true,
            memoryFocus: o.memoryFocus === true,
            outDir: o.outDir,
            port,
            log: (line) => ctx.out.note(line),
          });
          return { data: { exitCode: res.exitCode, paths: res.paths, report: res.report }, human: () => renderBenchSummary(res), exit: res.exitCode };
        }),
    );
}
