import type { Command } from 'commander';
import type { ResultOf } from '../../ipc/protocol.js';
import type { Cli, RunContext } from '../cli.js';
import { ago, duration, mb } from '../format.js';

/**
 * The status page. Existing scripts grep it: `Total Cache Size: <N>MB` must be the first `<N>MB` on the
 * page (its 4th whitespace field is the number with MB) and `Hit Rate: <N>%` with N a whole number (read
 * with `grep -o '[0-9]*'`; --json keeps the exact ratio), which says when there were no requests yet;
 * lines with `Size`, `Issues` and `Integrity` are read by people and scripts.
 */
export function renderStatus(d: ResultOf<'status'>, now = Date.now()): string {
  const issues: string[] = [];
  if (d.damaged > 0) issues.push(`${d.damaged} damaged model(s): run cache-manager verify --repair`);
  if (d.lastVerify && !d.lastVerify.ok) issues.push('last verify found problems: run cache-manager verify --repair');
  if (d.usedBytes > d.limitBytes) issues.push('over the size limit: run cache-manager optimize');
  const integrity = d.lastVerify
    ? `last verify ${ago(d.lastVerify.ts, now)} (${d.lastVerify.mode}): ${
        d.lastVerify.ok ? 'ok' : `${d.lastVerify.corrupted} corrupted, ${d.lastVerify.missing} missing, ${d.lastVerify.orphans} orphaned`
      }`
    : 'never verified (run cache-manager verify)';
  const lines = [
    'Vocorize Model Cache Status',
    `Total Cache Size: ${mb(d.usedBytes)}`,
    `Size Limit: ${mb(d.limitBytes)} (${Math.round((d.usedBytes / Math.max(1, d.limitBytes)) * 100)}% used, evicts down to ${Math.round(d.lowWatermark * 100)}%)`,
    d.hitRate === null ? 'Hit Rate: 0% (no requests yet)' : `Hit Rate: ${Math.round(d.hitRate * 100)}%`,
    `Requests: ${d.hits} hits, ${d.misses} misses, ${d.errors} errors`,
    `Models: ${d.models} (${d.pinned} pinned, ${d.damaged} damaged, ${d.leases} leases held, ${d.downloadsInFlight} downloading)`,
    `Integrity: ${integrity}`,
    ...(d.index ? [`Index: rebuilt from the store ${ago(d.index.rebuiltAt, now)} (${d.index.reason}): ${d.index.models} models, ${d.index.files} files, ${d.index.damaged} damaged`] : []),
    ...(d.indexDamaged ? [`Index: DAMAGED (${d.indexDamaged}): the daemon is restarting to rebuild it from the store`] : []),
    ...(d.accountingReset ? [`Accounting: accounting.db was damaged and recreated ${ago(d.accountingReset.at, now)}: request history before then is lost`] : []),
    `Issues: ${issues.length === 0 ? 'none' : issues.join('; ')}`,
    `Daemon: ${d.daemon.running ? `running, pid ${d.daemon.pid}, up ${duration(d.daemon.uptimeMs)}, v${d.daemon.version}` : 'not running (direct read of the index)'}`,
    `Socket: ${d.daemon.socket}`,
    `Cache Dir: ${d.cacheDir}`,
    `Origins: ${d.offline ? 'OFFLINE; ' : ''}${d.origins.join(', ')}`,
  ];
  return lines.join('\n');
}

export function registerStatus(program: Command, cli: Cli): void {
  program
    .command('status')
    .description('daemon, cache size vs limit, hit rate, integrity')
    .action((_o: unknown, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const s = await ctx.session({ allowDirect: true });
        const d = await s.call('status', {});
        if (s.mode === 'direct') d.daemon.running = false;
        return { data: d, human: (x) => renderStatus(x) };
      }),
    );
}
