import path from 'node:path';
import { Option, type Command } from 'commander';
import type { Cli, RunContext } from '../cli.js';
import { usage } from '../cli.js';
import { duration, printable, size, table } from '../format.js';
import type { ResultOf } from '../../ipc/protocol.js';
import { progressBar } from '../progress.js';
import { getData, getParams, leaseNote, nonEmpty, releaseText, withPatterns, type Patterns } from './getRequest.js';

export { leaseNote, nonEmpty, withPatterns } from './getRequest.js';

export function registerGet(program: Command, cli: Cli): void {
  program
    .command('get')
    .description('ensure a model is cached and print its local path')
    .argument('<model>', 'an alias from the config or <repo>[@<revision>][:<subfolder>][[include=…;exclude=…]]')
    .option('--include <patterns>', INCLUDE_HELP, collect, [])
    .option('--exclude <patterns>', EXCLUDE_HELP, collect, [])
    .option('--client <label>', 'client label for accounting (default: $VOCORIZE_CACHE_CLIENT or "cli")')
    .option('--run <id>', 'run id for accounting (default: $VOCORIZE_CACHE_RUN)')
    .option('--hold', 'keep the model from eviction for leaseTtl after this command exits (release: cache-manager release <lease>)')
    .action((text: string, o: Patterns & { client?: string; run?: string; hold?: boolean }, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const model = withPatterns(text, o);
        const s = await ctx.session();
        const bar = ctx.globals.json ? progressBar('', false) : progressBar(model);
        try {
          const r = await s.call('get', getParams(model, o, ctx.offlineParam()), { onProgress: bar.onProgress });
          // Human output: the lease id on stderr, so stdout stays the bare path scripts read.
          if (o.hold && r.lease && !ctx.globals.json) ctx.out.note(leaseNote(r.lease));
          return { data: getData(r, o.hold), human: (d) => d.path };
        } finally {
          bar.stop();
        }
      }),
    );

  program
    .command('release')
    .description('end a lease taken with get --hold')
    .argument('<lease>', 'the lease id printed by get --hold (see also: cache-manager leases)')
    .action((lease: string, _o: unknown, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const s = await ctx.session();
        const r = await s.call('release', { lease });
        return { data: r, human: (d) => releaseText(lease, d) };
      }),
    );

  program
    .command('leases')
    .description('the leases held now: id, model, holder (client, connection or ttl), age, expiry')
    .action((_o: unknown, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        // Without a daemon there are no leases: they live in the daemon's memory.
        const s = await ctx.session({ allowDirect: true });
        const r = await s.call('leases', {});
        return { data: r, human: (d) => renderLeases(d) };
      }),
    );

  program
    .command('restore')
    .description('materialise a cached model at a folder (clone, hard link or copy; fetches on a miss)')
    .argument('<model>', 'alias or reference')
    .requiredOption('--to <dir>', 'destination folder')
    .addOption(new Option('--layout <layout>', 'tree shape').choices(['plain', 'hf', 'whisperkit']).default('plain'))
    .option('--with-tokenizer', "whisperkit layout: also fetch the variant's tokenizer (openai/whisper-<size>, tokenizer files only) and place it next to the model")
    .option('--include <patterns>', INCLUDE_HELP, collect, [])
    .option('--exclude <patterns>', EXCLUDE_HELP, collect, [])
    .action((text: string, o: Patterns & { to: string; layout: 'plain' | 'hf' | 'whisperkit'; withTokenizer?: boolean }, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const model = withPatterns(text, o);
        if (o.withTokenizer && o.layout !== 'whisperkit') throw usage('--with-tokenizer needs --layout whisperkit');
        // Like the other maintenance commands: with --no-autostart and no daemon, work under the cache lock.
        const s = await ctx.session({ allowDirect: true });
        const r = await s.call('restore', {
          model,
          to: path.resolve(o.to),
          layout: o.layout,
          ...(o.withTokenizer ? { withTokenizer: true } : {}),
          ...ctx.offlineParam(),
        });
        return { data: r, human: (d) => `${d.path}\n${d.files} files (${d.method})` };
      }),
    );

  program
    .command('warm')
    .description('fetch the listed models, or every alias in the config; never fetches what was not asked for')
    .argument('[models...]', 'aliases or references (default: all configured aliases)')
    .option('--include <patterns>', `${INCLUDE_HELP}; applies to every model named`, collect, [])
    .option('--exclude <patterns>', `${EXCLUDE_HELP}; applies to every model named`, collect, [])
    .action((texts: string[], o: Patterns, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        if (texts.length === 0 && (o.include.length > 0 || o.exclude.length > 0)) throw usage('--include/--exclude need the models named');
        const models = texts.map((t) => withPatterns(t, o));
        const s = await ctx.session();
        const bar = ctx.globals.json ? progressBar('', false) : progressBar('warm');
        try {
          const r = await s.call(
            'warm',
            { models: models.length > 0 ? models : undefined, client: 'warm', run: nonEmpty(process.env.VOCORIZE_CACHE_RUN), ...ctx.offlineParam() },
            { onProgress: bar.onProgress },
          );
          const failed = r.results.filter((x) => !x.ok).length;
          return {
            data: r,
            human: (d) =>
              d.results.length === 0
                ? 'nothing to warm: no models given and no aliases in the config'
                : d.results
                    .map((x) =>
                      x.ok
                        ? `${x.hit ? 'cached ' : 'fetched'}  ${printable(x.model)} (${size(x.bytes)})`
                        : `FAILED   ${printable(x.model)}: ${printable(x.error.message)}`,
                    )
                    .join('\n'),
            exit: failed > 0 ? 1 : 0,
          };
        } finally {
          bar.stop();
        }
      }),
    );
}

const INCLUDE_HELP = 'fetch only files matching these patterns (comma-separated, repeatable; huggingface_hub allow_patterns)';
const EXCLUDE_HELP = 'skip files matching these patterns (comma-separated, repeatable; huggingface_hub ignore_patterns)';

function collect(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',')];
}

/** The leases table; `now` only for the expiry column. */
export function renderLeases(d: ResultOf<'leases'>, now = Date.now()): string {
  if (d.leases.length === 0) return 'no leases held';
  return table([
    ['LEASE', 'MODEL', 'HOLDER', 'AGE', 'EXPIRES'],
    ...d.leases.map((l) => [
      l.id,
      l.name,
      `${l.holder.client ?? '-'} (${l.holder.connection === null ? 'ttl' : `connection ${l.holder.connection}`})`,
      duration(l.ageMs),
      `in ${duration(Math.max(0, l.expiresAt - now))}`,
    ]),
  ]);
}
