import type { Command } from 'commander';
import { configSearchPath, loadConfig, redactConfig } from '../../config/load.js';
import type { Cli, RunContext } from '../cli.js';
import { configFileOf } from '../configFile.js';
import { resolveConfig } from '../session.js';

export function registerConfig(program: Command, cli: Cli): void {
  const config = program.command('config').description('the effective config and where it came from');

  config
    .command('show')
    .description('print the effective config as a config file the loader accepts (tokens redacted)')
    .option('--resolved', 'print the resolved config instead: internal field names, bytes and milliseconds, where it came from')
    .action((o: { resolved?: boolean }, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const c = resolveConfig(ctx.globals);
        const data = o.resolved ? redactConfig(c) : configFileOf(c);
        return { data, human: (d) => JSON.stringify(d, null, 2) };
      }),
    );

  config
    .command('validate')
    .description('validate a config file (default: the one in effect); exit 2 naming the field when invalid')
    .argument('[file]', 'config file to check')
    .action((file: string | undefined, _o: unknown, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const c = file ? loadConfig({ configPath: file }) : resolveConfig(ctx.globals);
        return {
          data: { valid: true, source: c.source },
          human: (d) => `${d.source.path ?? 'built-in defaults'}: valid`,
        };
      }),
    );

  config
    .command('path')
    .description('where the config is looked for, in order, and which one is in effect')
    .action((_o: unknown, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const g = ctx.globals;
        const c = resolveConfig(g);
        const search = configSearchPath(g.config ? { configPath: g.config } : {});
        return {
          data: { effective: c.source, search },
          human: (d) =>
            [
              `in effect: ${d.effective.path ?? 'built-in defaults'} (${d.effective.kind})`,
              'looked for, in order:',
              ...d.search.map((s) => `  ${s.kind.padEnd(8)} ${s.path}  (${s.why})`),
            ].join('\n'),
        };
      }),
    );
}
