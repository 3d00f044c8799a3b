import { Command, CommanderError } from 'commander';
import { Writable } from 'node:stream';
import { createCli, usage } from './cli.js';
import { registerAccounting } from './commands/accounting.js';
import { registerBench } from './commands/bench.js';
import { registerConfig } from './commands/config.js';
import { registerDaemon } from './commands/daemon.js';
import { registerGet } from './commands/get.js';
import { registerLogs } from './commands/logs.js';
import { registerMaintenance } from './commands/maintenance.js';
import { registerModels } from './commands/models.js';
import { registerStatus } from './commands/status.js';
import { registerTier } from './commands/tier.js';
import { normalizeArgv, wantsJson } from './argv.js';
import { Exit } from './exitCodes.js';
import { printable } from './format.js';
import { createOutput } from './output.js';
import { ErrorCodes, isCacheError } from '../errors.js';
// version.js, not daemon/core.js: importing the daemon would load SQLite, pino and the origins into every CLI process.
import { VERSION } from '../version.js';

/** `cache-manager [--config FILE] [--socket PATH] [--json] [--no-autostart] <command>`. */
export function buildProgram(): Command {
  const program = new Command();
  const cli = createCli();
  program
    .name('cache-manager')
    .description('Vocorize model cache: one daemon per user serving verified, LRU-bounded speech models over a Unix socket')
    .version(VERSION)
    .option('--config <file>', 'config file (default: $VOCORIZE_CACHE_CONFIG, then the per-user config dir)')
    .option('--socket <path>', 'daemon socket (overrides the config)')
    .option('--json', 'print one JSON document on stdout')
    .option('--no-autostart', 'do not start a daemon when none is running')
    .showHelpAfterError('(run cache-manager --help for usage)')
    .exitOverride();

  registerGet(program, cli);
  registerModels(program, cli);
  registerStatus(program, cli);
  registerMaintenance(program, cli);
  registerAccounting(program, cli);
  registerBench(program, cli);
  registerDaemon(program, cli);
  registerLogs(program, cli);
  registerConfig(program, cli);
  registerTier(program, cli);
  program
    .command('help')
    .description('show this help')
    .argument('[command]', 'a command to explain')
    .action((name: string | undefined) => {
      const sub = name ? program.commands.find((c) => c.name() === name || c.aliases().includes(name)) : undefined;
      if (name !== undefined && !sub) {
        const known = program.commands.map((c) => c.name()).join(', ');
        throw usage(`help: no command "${printable(name)}" (commands: ${known})`);
      }
      process.stdout.write((sub ?? program).helpInformation());
    });

  // Every subcommand inherits exitOverride so usage errors map to exit code 2.
  const override = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}

/** A usage error outside a command's run: the message on stderr, and with --json the error document on stdout. */
function printUsageError(message: string, o: { json: boolean; stderr: boolean }): void {
  const output = createOutput({ json: o.json, stderr: o.stderr ? process.stderr : new Writable({ write: (_c, _e, cb) => cb() }) });
  output.error({ code: ErrorCodes.USAGE, message, retryable: false });
}

/**
 * The full CLI: every command, parsed by commander. `argv` is the command line after the script
 * (process.argv.slice(2)). Sets process.exitCode; never calls process.exit.
 */
export async function runProgram(argv: string[]): Promise<void> {
  const program = buildProgram();
  const args = normalizeArgv(argv);
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; every other commander error is a usage error.
      process.exitCode = err.exitCode === 0 ? Exit.OK : Exit.USAGE;
      // Commander has printed its message on stderr; with --json, scripts also get the error document.
      if (err.exitCode !== 0 && wantsJson(args)) printUsageError(err.message.replace(/^error: /, ''), { json: true, stderr: false });
      return;
    }
    if (isCacheError(err) && err.code === ErrorCodes.USAGE) {
      process.exitCode = Exit.USAGE;
      printUsageError(err.message, { json: wantsJson(args), stderr: true });
      return;
    }
    process.stderr.write(`cache-manager: ${(err instanceof Error ? err.stack : undefined) ?? String(err)}\n`);
    process.exitCode = Exit.PROBLEMS;
  }
}

