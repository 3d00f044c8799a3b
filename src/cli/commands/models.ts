import type { Command } from 'commander';
import type { Cli, RunContext } from '../cli.js';
import { ago, printable, size, table } from '../format.js';

export function registerModels(program: Command, cli: Cli): void {
  program
    .command('list')
    .description('cached models with size, last use, hits, pinned and state')
    .action((_o: unknown, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const s = await ctx.session({ allowDirect: true });
        const r = await s.call('list', {});
        const now = Date.now();
        return {
          data: r,
          human: (d) =>
            d.models.length === 0
              ? 'no models cached'
              : table([
                  ['MODEL', 'SIZE', 'LAST USE', 'HITS', 'PINNED', 'STATE'],
                  ...[...d.models]
                    .sort((a, b) => b.lastAccess - a.lastAccess)
                    .map((m) => [
                      m.name,
                      size(m.bytes),
                      ago(m.lastAccess, now),
                      String(m.hits),
                      m.pinned ? 'yes' : 'no',
                      m.state + (m.leased ? ' (in use)' : ''),
                    ]),
                ]),
        };
      }),
    );

  for (const [name, description] of [
    ['pin', 'keep a model from ever being evicted'],
    ['unpin', 'let a pinned model be evicted again'],
    ['evict', 'remove a model from the cache now (refused while a client holds it)'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('<model>', 'alias, reference or snapshot key (see list)')
      .action((model: string, _o: unknown, cmd: Command) =>
        cli.run(cmd, async (ctx: RunContext) => {
          const s = await ctx.session({ allowDirect: true });
          const r = await s.call(name, { model });
          return {
            data: r,
            // evict answers with freedBytes, pin and unpin with pinned.
            human: (d) => ('freedBytes' in d ? `evicted ${printable(d.model)}, freed ${size(d.freedBytes)}` : `${printable(d.model)}: ${d.pinned ? 'pinned' : 'unpinned'}`),
          };
        }),
      );
  }
}
