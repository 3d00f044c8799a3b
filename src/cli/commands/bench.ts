import type { Command } from 'commander';
import { parseDuration } from '../../config/units.js';
import type { CacheRunPort } from '../../benchmarker/index.js';
import type { Cli, RunContext } from '../cli.js';
import { usage } from '../cli.js';
import { messageOf } from '../format.js';
import { resolveConfig } from '../session.js';

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
    .option('--verbose', "copy the suites' output to stderr")
    .option('--timeout <duration>', 'kill a run after this long (e.g. 10m)')
    .action(
      (
        o: { suite?: string[]; only?: string[]; quick?: boolean; ci?: boolean; updateBaseline?: boolean; reportOnly?: boolean; memoryFocus?: boolean; outDir: string; verbose?: boolean; timeout?: string },
        cmd: Command,
      ) =>
        cli.run(cmd, async (ctx: RunContext) => {
          const config = resolveConfig(ctx.globals);
          const { cacheRunPortFrom, runBench, renderBenchSummary } = await import('../../benchmarker/index.js');
          let port: CacheRunPort | null = null;
          if (!o.reportOnly) {
            try {
              port = cacheRunPortFrom(await ctx.session());
            } catch (err) {
              ctx.out.note(`bench: the cache daemon is not reachable (${messageOf(err)}); suites run without cache numbers`);
            }
          }
          let timeoutMs: number | null = null;
          if (o.timeout !== undefined) {
            try {
              timeoutMs = parseDuration(o.timeout);
            } catch (err) {
              throw usage(`--timeout: ${messageOf(err)}`);
            }
          }
          const res = await runBench({
            timeoutMs,
            echo: o.verbose ? process.stderr : null,
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
