import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { parseDuration } from '../../config/units.js';
import type { ReportData, ResultOf } from '../../ipc/protocol.js';
import type { Cli, Outcome, RunContext } from '../cli.js';
import { usage } from '../cli.js';
import { duration, pct, printable, size, table } from '../format.js';

/** `--since 7d` (a duration back from now) or `--since 2026-11-01` (a date): epoch ms. */
export function parseSince(text: string | undefined, now = Date.now()): number | undefined {
  if (text === undefined) return undefined;
  try {
    return now - parseDuration(text);
  } catch {
    const t = Date.parse(text);
    if (Number.isNaN(t)) throw usage(`--since: expected a duration like "7d" or a date like "2026-11-01", got "${text}"`);
    return t;
  }
}

/**
 * What `report --json` prints, with or without --out and whatever --format: the format, the file --out
 * wrote (null: none), the rendered text and the report data.
 */
export interface ReportOutput {
  format: ResultOf<'report'>['format'];
  out: string | null;
  text: string;
  data: ReportData;
}

export function renderStats(d: ResultOf<'stats'>): string {
  const lines = [
    `Hit Rate: ${pct(d.hitRate)}`,
    `Requests: ${d.hits} hits, ${d.misses} misses, ${d.errors} errors`,
    `Bytes served: ${size(d.bytesServed)}; downloaded: ${size(d.bytesDownloaded)}; avoided: ${size(d.bytesAvoided)}`,
    `Time saved: ${duration(d.timeSavedMs)}${d.missPenaltyMs != null ? `; miss penalty: ${duration(d.missPenaltyMs)}` : ''}`,
  ];
  // With a fleet tier, where misses were served from: the tier or the Hub.
  if (d.tierHits > 0 || d.bytesFromTier > 0) {
    lines.push(
      `Sources: ${d.localHits} local hits, ${d.tierHits} tier hits, ${d.hubDownloads} Hub downloads; from the tier: ${size(d.bytesFromTier)}; Hub bytes avoided: ${size(d.hubBytesAvoided)}`,
    );
  }
  if (d.breakdown && d.breakdown.length > 0) {
    // By model, the display name stands in for the key (the key stays in --json).
    const keys = Object.keys(d.breakdown[0]!).filter((k, _i, all) => !(k === 'model' && all.includes('name')));
    lines.push('', table([keys.map(columnTitle), ...d.breakdown.map((r) => keys.map((k) => fmtCell(k, r[k])))]));
  }
  return lines.join('\n');
}

const TITLES: Record<string, string> = { name: 'Model', day: 'Day (UTC)' };

/** A readable column title for a breakdown field: `bytesServed` -> "Bytes served", `medianHitMs` -> "Median hit". */
export function columnTitle(key: string): string {
  const known = TITLES[key];
  if (known) return known;
  const words = key.replace(/Ms$/, '').replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function fmtCell(key: string, v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') {
    if (/rate/i.test(key)) return pct(v);
    if (/bytes/i.test(key)) return size(v);
    if (/ms$/i.test(key)) return duration(v);
    return String(v);
  }
  return String(v);
}

export function registerAccounting(program: Command, cli: Cli): void {
  program
    .command('stats')
    .description('hit/miss counters, hit rate, bytes served and downloaded, time saved')
    .option('--since <when>', 'a duration back from now (7d) or a date')
    .option('--run <id>', 'only this run')
    .addOption(new Option('--by <dimension>', 'breakdown').choices(['model', 'client', 'day']))
    .option('--zero', 'record a reset point: later stats count from here (history is kept)')
    .action((o: { since?: string; run?: string; by?: 'model' | 'client' | 'day'; zero?: boolean }, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const sinceMs = parseSince(o.since);
        const s = await ctx.session({ allowDirect: true });
        const d = await s.call('stats', { sinceMs, run: o.run, by: o.by, zero: o.zero === true });
        return { data: d, human: renderStats };
      }),
    );

  program
    .command('report')
    .description('the hit-rate report: Markdown, JSON or a self-contained HTML page')
    .option('--since <when>', 'a duration back from now (7d) or a date')
    .option('--run <id>', 'only this run')
    .addOption(new Option('--format <format>', 'output format').choices(['md', 'json', 'html']).default('md'))
    .option('--out <file>', 'write the report to this file instead of stdout')
    .action((o: { since?: string; run?: string; format: 'md' | 'json' | 'html'; out?: string }, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext): Promise<Outcome<ReportOutput>> => {
        const sinceMs = parseSince(o.since);
        const s = await ctx.session({ allowDirect: true });
        const r = await s.call('report', { sinceMs, run: o.run, format: o.format });
        if (o.out) {
          const file = path.resolve(o.out);
          fs.mkdirSync(path.dirname(file), { recursive: true });
          fs.writeFileSync(file, r.text);
          return { data: { format: r.format, out: file, text: r.text, data: r.data }, human: () => `report written to ${file}` };
        }
        return { data: { format: r.format, out: null, text: r.text, data: r.data }, human: () => r.text };
      }),
    );

  program
    .command('metrics')
    .description('counters and gauges for the benchmarker and monitoring (JSON or Prometheus text)')
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'prometheus']).default('json'))
    .action((o: { format: 'json' | 'prometheus' }, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const s = await ctx.session({ allowDirect: true });
        const r = await s.call('metrics', { format: o.format });
        // Only the Prometheus answer (asked for with --format prometheus) has `format`: it is text already.
        return { data: r, human: (d) => ('format' in d ? d.text : JSON.stringify(d, null, 2)) };
      }),
    );

  const run = program.command('run').description('scope accounting to a test run (clients pass VOCORIZE_CACHE_RUN)');
  run
    .command('start')
    .description('start a run and print its id')
    .option('--label <label>', 'a name for the run')
    .option('--env', 'print `export VOCORIZE_CACHE_RUN=<id>` for eval')
    .action((o: { label?: string; env?: boolean }, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const s = await ctx.session({ allowDirect: true });
        const r = await s.call('runStart', { label: o.label });
        return { data: r, human: (d) => (o.env ? `export VOCORIZE_CACHE_RUN=${printable(d.id)}` : printable(d.id)) };
      }),
    );
  run
    .command('end')
    .description('end a run')
    .argument('<id>', 'the run id')
    .action((id: string, _o: unknown, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const s = await ctx.session({ allowDirect: true });
        const r = await s.call('runEnd', { id });
        return { data: r, human: (d) => `run ${printable(d.id)} ended` };
      }),
    );
}
