import path from 'node:path';
import type { Command } from 'commander';
import { parseDuration } from '../../config/units.js';
import type { CacheRunPort } from '../../benchmarker/index.js';
import type { Cli, RunContext } from '../cli.js';
import { usage } from '../cli.js';
import { messageOf } from '../format.js';
import { resolveConfig } from '../session.js';

interface BenchFlags {
  suite?: string[];
  only?: string[];
  quick?: boolean;
  ci?: boolean;
  updateBaseline?: boolean;
  reportOnly?: boolean;
  compareBaseline?: boolean;
  baselineCheck?: boolean;
  status?: boolean;
  memoryFocus?: boolean;
  outDir: string;
  verbose?: boolean;
  timeout?: string;
}

/** The read-only modes; at most one per call. */
const READ_ONLY_MODES = [
  ['reportOnly', '--report-only'],
  ['compareBaseline', '--compare-baseline'],
  ['baselineCheck', '--baseline-check'],
  ['status', '--status'],
] as const;

export function registerBench(program: Command, cli: Cli): void {
  program
    .command('bench')
    .description(
      "run the configured test suites (default: a Vocorize checkout's test-unit.sh, test-integration.sh, test.sh), read the cache numbers of each run, compare with the baseline",
    )
    .option('--suite <name=command...>', 'a suite from the command line (repeatable): unit="npm run test:unit"')
    .option('--only <names...>', 'only these configured suites')
    .option('--quick', 'one run per suite')
    .option('--ci', 'exit 1 on a regression over 50% or a missed target')
    .option('--update-baseline', 'write this run as performance-reports/performance_baseline.json')
    .option('--report-only', 're-render the last results without running anything')
    .option('--compare-baseline', 'compare the latest report with the baseline without running anything')
    .option('--baseline-check', 'validate the baseline file (exists, parses, has the fields); exit 1 naming what is wrong')
    .option('--status', 'baseline date and commit, last run, trend over the last 5 runs')
    .option('--memory-focus', 'judge peak RSS per suite against its baseline')
    .option('--out-dir <dir>', 'where reports go', 'performance-reports')
    .option('--verbose', "copy the suites' output to stderr")
    .option('--timeout <duration>', 'kill a run after this long (e.g. 10m)')
    .action((o: BenchFlags, cmd: Command) =>
      cli.run<unknown>(cmd, async (ctx: RunContext) => {
        const modes = READ_ONLY_MODES.filter(([k]) => o[k] === true).map(([, flag]) => flag);
        if (modes.length > 1) throw usage(`${modes.join(' and ')} cannot be combined`);
        const bench = await import('../../benchmarker/index.js');
        const outDir = path.resolve(o.outDir);
        if (o.baselineCheck) {
          const check = bench.checkBaseline(path.join(outDir, bench.BASELINE_FILE));
          return { data: check, human: () => bench.renderBaselineCheck(check), exit: check.ok ? 0 : 1 };
        }
        if (o.status) {
          const status = bench.benchStatus({ outDir });
          return { data: status, human: () => bench.renderBenchStatus(status), exit: 0 };
        }
        if (o.compareBaseline) {
          const cmp = bench.compareWithBaseline({ outDir, ci: o.ci === true, memoryFocus: o.memoryFocus === true });
          return { data: cmp, human: () => bench.renderComparison(cmp), exit: cmp.exitCode };
        }
        const config = resolveConfig(ctx.globals);
        let port: CacheRunPort | null = null;
        if (!o.reportOnly) {
          try {
            port = bench.cacheRunPortFrom(await ctx.session());
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
        const res = await bench.runBench({
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
        // overall_score and grade at the top level, where the old benchmarker's `jq .overall_score` reads them.
        const data = { overall_score: res.report.overall_score, grade: res.report.grade.letter, exitCode: res.exitCode, paths: res.paths, report: res.report };
        return { data, human: () => bench.renderBenchSummary(res), exit: res.exitCode };
      }),
    );
}
