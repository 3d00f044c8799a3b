import path from 'node:path';
import os from 'node:os';
import type { Command } from 'commander';
import { parseDuration } from '../../config/units.js';
import type { ResultOf } from '../../ipc/protocol.js';
import type { Cli, RunContext } from '../cli.js';
import { usage } from '../cli.js';
import { duration, messageOf, size } from '../format.js';
import { progressBar } from '../progress.js';

export function renderVerify(d: ResultOf<'verify'>): string {
  const lines: string[] = [];
  for (const m of d.models) {
    if (m.status === 'ok') {
      lines.push(`ok         ${m.model}`);
      continue;
    }
    lines.push(`${m.status.toUpperCase().padEnd(10)} ${m.model}`);
    for (const f of m.corrupted) lines.push(`  corrupted: ${f}`);
    for (const f of m.missing) lines.push(`  missing:   ${f}`);
  }
  for (const b of d.orphans.blobs) lines.push(`orphan blob ${b.digest} (${size(b.bytes)})`);
  for (const t of d.orphans.temp) lines.push(`orphan temp ${t.path} (${size(t.bytes)})`);
  if (d.orphans.rows > 0) lines.push(`orphan index rows: ${d.orphans.rows}`);
  for (const r of d.repaired) lines.push(`repaired   ${r}`);
  lines.push(
    `Integrity: ${d.ok ? 'OK' : `${d.problems} problem(s) found`} (${d.mode}, ${d.models.length} models, ${d.filesChecked} files, ${size(d.bytesHashed)} hashed in ${duration(d.durationMs)})`,
  );
  if (!d.ok) lines.push('Issues: run cache-manager verify --repair, or cache-manager clean');
  return lines.join('\n');
}

export function renderClean(d: ResultOf<'clean'>): string {
  const verb = d.dryRun ? 'would remove' : 'removed';
  const lines = d.removed.map((r) => `${verb} ${r.kind} ${r.name} (${size(r.bytes)})`);
  for (const s of d.skipped) lines.push(`skipped ${s.model}: ${s.reason}`);
  lines.push(`${d.dryRun ? 'Would free' : 'Freed'} ${size(d.freedBytes)}`);
  return lines.join('\n');
}

export function registerMaintenance(program: Command, cli: Cli): void {
  program
    .command('verify')
    .description('re-hash every file (or --quick: size+mtime+inode); report corrupted, missing and orphaned; exit 1 on any problem')
    .argument('[models...]', 'only these models')
    .option('--quick', 'compare size, mtime and inode only (no hashing)')
    .option('--repair', 'quarantine corrupted blobs and re-fetch the affected models')
    .action((models: string[], o: { quick?: boolean; repair?: boolean }, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const s = await ctx.session({ allowDirect: true });
        const bar = ctx.globals.json ? progressBar('', false) : progressBar('verify');
        try {
          const d = await s.call(
            'verify',
            { models: models.length > 0 ? models : undefined, quick: o.quick === true, repair: o.repair === true },
            { onProgress: bar.onProgress },
          );
          return { data: d, human: renderVerify, exit: d.ok ? 0 : 1 };
        } finally {
          bar.stop();
        }
      }),
    );

  program
    .command('clean')
    .description('remove what is asked and report the bytes freed; never a model in use (default: corrupted, quarantined and partial leftovers)')
    .argument('[models...]', 'remove these models')
    .option('--dry-run', 'only say what would be removed')
    .option('--corrupted', 'damaged models and quarantined blobs')
    .option('--partial', 'temp files of interrupted downloads (resumable ones too), orphan blobs and snapshot trees')
    .option('--older-than <duration>', 'models last used longer ago than this (e.g. 7d)')
    .option('--all', 'every model that is not in use or pinned')
    .action((models: string[], o: { dryRun?: boolean; corrupted?: boolean; partial?: boolean; olderThan?: string; all?: boolean }, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        let olderThanMs: number | undefined;
        if (o.olderThan !== undefined) {
          try {
            olderThanMs = parseDuration(o.olderThan);
          } catch (err) {
            throw usage(`--older-than: ${messageOf(err)}`);
          }
        }
        const s = await ctx.session({ allowDirect: true });
        const d = await s.call('clean', {
          dryRun: o.dryRun === true,
          corrupted: o.corrupted === true,
          partial: o.partial === true,
          olderThanMs,
          all: o.all === true,
          models: models.length > 0 ? models : undefined,
        });
        return { data: d, human: renderClean };
      }),
    );

  program
    .command('optimize')
    .description('sweep temp files, orphan blobs and orphan snapshot trees, evict to the low watermark, compact the index, roll up old events')
    .action((_o: unknown, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const s = await ctx.session({ allowDirect: true });
        const d = await s.call('optimize', {});
        return {
          data: d,
          human: (x) =>
            [
              `swept temp files: ${size(x.sweptTempBytes)}`,
              `orphan blobs removed: ${x.orphanBlobs} (${size(x.orphanBytes)})`,
              `orphan snapshot trees removed: ${x.orphanSnapshots} (${size(x.orphanSnapshotBytes)})`,
              `evicted to the low watermark: ${x.evictedModels} models (${size(x.evictedBytes)})`,
              `index: ${size(x.dbBytesBefore)} -> ${size(x.dbBytesAfter)}; ${x.eventsRolled} old events rolled into daily totals`,
              `Freed ${size(x.freedBytes)}`,
            ].join('\n'),
        };
      }),
    );

  program
    .command('import')
    .description('admit models already in a huggingface_hub cache (every file verified) so they are not downloaded again')
    .option('--from-hf-cache [dir]', 'huggingface_hub cache dir (default: $HF_HUB_CACHE or $HF_HOME/hub or ~/.cache/huggingface/hub)')
    .action((o: { fromHfCache?: string | boolean }, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        if (o.fromHfCache === undefined) throw usage('import needs --from-hf-cache [DIR]');
        const dir =
          typeof o.fromHfCache === 'string'
            ? path.resolve(o.fromHfCache)
            : process.env.HF_HUB_CACHE ?? path.join(process.env.HF_HOME ?? path.join(os.homedir(), '.cache', 'huggingface'), 'hub');
        const s = await ctx.session({ allowDirect: true });
        const d = await s.call('import', { from: dir });
        return {
          data: d,
          human: (x) =>
            [
              ...x.imported.map((m) => `${m.alreadyCached ? 'already cached' : 'imported'} ${m.model}: ${m.files} files (${size(m.bytes)})`),
              ...x.refused.map((r) => `refused  ${r.path}: ${r.reason}`),
              `${x.imported.filter((m) => !m.alreadyCached).length} imported, ${x.imported.filter((m) => m.alreadyCached).length} already cached, ${x.refused.length} refused`,
            ].join('\n'),
          exit: d.refused.length > 0 ? 1 : 0,
        };
      }),
    );
}
