import type { Command } from 'commander';
import { parseDuration } from '../../config/units.js';
import type { ResultOf } from '../../ipc/protocol.js';
import type { Cli, RunContext } from '../cli.js';
import { usage } from '../cli.js';
import { messageOf, size } from '../format.js';

/** `cache-manager tier status|gc|push`: hygiene of the fleet tier (the s3 origin), run by the daemon. */

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function renderTierStatus(d: ResultOf<'tierStatus'>): string {
  const lines = [`tier:        ${d.tier}`, `mode:        ${d.mode}${d.trustMetadata ? ', metadata trusted' : ''}`];
  if (!d.reachable) {
    lines.push(`reachable:   no (${d.error ?? 'unknown error'})`);
    return lines.join('\n');
  }
  lines.push(
    'reachable:   yes',
    `conditional PUT: ${d.conditionalPut ? 'yes' : 'no (HEAD before each upload)'}`,
    `objects:     ${d.objects} (${size(d.bytes ?? 0)})`,
    `blobs:       ${d.blobs} (${size(d.blobBytes ?? 0)})`,
  );
  return lines.join('\n');
}

export function renderTierGc(d: ResultOf<'tierGc'>): string {
  const verb = d.dryRun ? 'would delete' : 'deleted';
  const lines = d.deleted.map(
    (b) => `${verb} ${b.sha256} (${size(b.bytes)}, ${b.basis === 'last-read' ? `last read ${iso(b.lastReadMs!)}` : `never read, stored ${iso(b.lastModifiedMs)}`})`,
  );
  lines.push(
    `${d.dryRun ? 'Would free' : 'Freed'} ${size(d.freedBytes)}: ${d.deleted.length} of ${d.scanned} blobs unread since ${iso(d.cutoffMs)} (${d.tier})`,
  );
  return lines.join('\n');
}

export function renderTierPush(d: ResultOf<'tierPush'>): string {
  const lines = d.models.map(
    (m) => `${m.model}: ${m.uploaded} blob(s) uploaded (${size(m.uploadedBytes)}), ${m.skipped} already in the tier`,
  );
  lines.push(
    `Pushed to ${d.tier}: ${d.blobs.uploaded} blob(s) (${size(d.blobs.uploadedBytes)}), ${d.aliases.uploaded} alias(es), ${d.listings.uploaded} listing(s), ${d.refs.uploaded} ref(s); ` +
      `already there: ${d.blobs.skipped} blob(s), ${d.aliases.skipped} alias(es), ${d.listings.skipped} listing(s), ${d.refs.skipped} ref(s)`,
  );
  return lines.join('\n');
}

export function registerTier(program: Command, cli: Cli): void {
  const tier = program.command('tier').description('the fleet tier (the s3 origin shared by many runners): status, gc, push');

  tier
    .command('status')
    .description('whether the tier is reachable, and the objects and bytes it holds; exit 1 when unreachable')
    .action((_o: unknown, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const s = await ctx.session({ allowDirect: true });
        const d = await s.call('tierStatus', {});
        return { data: d, human: renderTierStatus, exit: d.reachable ? 0 : 1 };
      }),
    );

  tier
    .command('gc')
    .description('delete tier blobs no runner has read for a duration (by their last-read metadata, else when stored); prints each one')
    .requiredOption('--older-than <duration>', 'unread for longer than this (e.g. 30d)')
    .option('--dry-run', 'only say what would be deleted')
    .action((o: { olderThan: string; dryRun?: boolean }, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        let olderThanMs: number;
        try {
          olderThanMs = parseDuration(o.olderThan);
        } catch (err) {
          throw usage(`--older-than: ${messageOf(err)}`);
        }
        const s = await ctx.session({ allowDirect: true });
        const d = await s.call('tierGc', { olderThanMs, dryRun: o.dryRun === true });
        return { data: d, human: renderTierGc };
      }),
    );

  tier
    .command('push')
    .description('seed the tier from this cache: the blobs, aliases, listings and refs of these models (default: every cached model) it lacks')
    .argument('[models...]', 'only these models')
    .action((models: string[], _o: unknown, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const s = await ctx.session({ allowDirect: true });
        const d = await s.call('tierPush', { models: models.length > 0 ? models : undefined });
        return { data: d, human: renderTierPush };
      }),
    );
}
