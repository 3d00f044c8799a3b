import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { runDaemonForeground, serviceUnits, type ServicePlan } from '../../daemon/launch.js';
import { CacheError, ErrorCodes, isCacheError, toErrorShape } from '../../errors.js';
import { connect } from '../../ipc/client.js';
import type { Cli, Outcome, RunContext } from '../cli.js';
import { duration } from '../format.js';
import { CLI_MAIN, daemonLogPath, resolveConfig, startDaemonProcess } from '../session.js';

interface StopOutcome {
  stopped: boolean;
  wasRunning: boolean;
  pid: number | null;
  socket: string;
}

interface DaemonStatus {
  running: boolean;
  pid: number | null;
  socket: string;
  version: string | null;
  uptime: number | null;
}

async function probe(socketPath: string): Promise<DaemonStatus> {
  try {
    const c = await connect({ socketPath, timeoutMs: 1_000 });
    try {
      const st = await c.call('status', {});
      return { running: true, pid: st.daemon.pid, socket: socketPath, version: st.daemon.version, uptime: st.daemon.uptimeMs };
    } finally {
      c.close();
    }
  } catch (err) {
    if (isCacheError(err) && err.code === ErrorCodes.UNREACHABLE) {
      return { running: false, pid: null, socket: socketPath, version: null, uptime: null };
    }
    throw err;
  }
}

const renderStatus = (d: DaemonStatus) =>
  d.running
    ? `running: pid ${d.pid}, v${d.version}, up ${duration(d.uptime ?? 0)}, socket ${d.socket}`
    : `not running (socket ${d.socket})`;

function renderPlan(p: ServicePlan & { dryRun: boolean; ran?: Array<{ cmd: string; status: number | null }> }): string {
  const lines: string[] = [];
  for (const f of p.files) lines.push(`${p.dryRun ? 'would write' : 'wrote'} ${f.path}:`, f.content.trimEnd(), '');
  for (const r of p.remove) lines.push(`${p.dryRun ? 'would remove' : 'removed'} ${r}`);
  for (const c of p.commands) lines.push(`${p.dryRun ? 'would run' : 'ran'}: ${c.join(' ')}`);
  for (const r of p.ran ?? []) if (r.status !== 0) lines.push(`note: \`${r.cmd}\` exited ${r.status}`);
  return lines.join('\n');
}

function execPlan(plan: ServicePlan, tolerate: (argv: string[]) => boolean): Array<{ cmd: string; status: number | null }> {
  for (const f of plan.files) {
    fs.mkdirSync(path.dirname(f.path), { recursive: true });
    fs.writeFileSync(f.path, f.content, { mode: 0o644 });
  }
  const ran = [];
  for (const argv of plan.commands) {
    const res = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    const status = res.error ? null : res.status;
    ran.push({ cmd: argv.join(' '), status });
    if (status !== 0 && !tolerate(argv)) {
      throw new CacheError(
        ErrorCodes.INTERNAL,
        `\`${argv.join(' ')}\` failed (${res.error ? res.error.message : `exit ${status}`}): ${(res.stderr ?? '').trim()}`,
      );
    }
  }
  for (const r of plan.remove) fs.rmSync(r, { force: true });
  return ran;
}

export function registerDaemon(program: Command, cli: Cli): void {
  const daemon = program.command('daemon').description('daemon lifecycle: run, start, stop, status, install, uninstall');

  daemon
    .command('run')
    .description('run the daemon in the foreground (what launchd/systemd start)')
    .action(async (_o: unknown, cmd: Command) => {
      const g = cli.globals(cmd);
      try {
        process.exitCode = await runDaemonForeground(resolveConfig(g));
      } catch (err) {
        const e = toErrorShape(err);
        process.stderr.write(`cache-manager daemon: ${e.message} [${e.code}]\n`);
        process.exitCode = e.code === ErrorCodes.CONFIG ? 2 : 1;
      }
    });

  daemon
    .command('start')
    .description('start the daemon in the background and wait until it answers')
    .action((_o: unknown, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const config = resolveConfig(ctx.globals);
        const before = await probe(config.socketPath);
        if (before.running) return { data: { ...before, started: false }, human: (d) => `already ${renderStatus(d)}` };
        await startDaemonProcess(ctx.globals, config);
        const after = await probe(config.socketPath);
        return { data: { ...after, started: true, log: daemonLogPath(config) }, human: (d) => `started, ${renderStatus(d)}` };
      }),
    );

  daemon
    .command('stop')
    .description('ask the daemon to stop (it finishes accounting and removes its socket)')
    .action((_o: unknown, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext): Promise<Outcome<StopOutcome>> => {
        const config = resolveConfig(ctx.globals);
        const before = await probe(config.socketPath);
        if (!before.running) return { data: { stopped: false, wasRunning: false, pid: null, socket: config.socketPath }, human: () => 'not running' };
        const c = await connect({ socketPath: config.socketPath, timeoutMs: 2_000 });
        await c.call('shutdown', {}).catch(() => undefined);
        c.close();
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline && (await probe(config.socketPath)).running) await new Promise((r) => setTimeout(r, 50));
        const after = await probe(config.socketPath);
        if (after.running) throw new CacheError(ErrorCodes.INTERNAL, `daemon pid ${after.pid} did not stop within 15 s`, { retryable: true });
        return { data: { stopped: true, wasRunning: true, pid: before.pid, socket: config.socketPath }, human: (d) => `stopped pid ${d.pid}` };
      }),
    );

  daemon
    .command('status')
    .description('is a daemon answering? (--json: running, pid, socket, version, uptime)')
    .action((_o: unknown, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const config = resolveConfig(ctx.globals);
        const d = await probe(config.socketPath);
        return { data: d, human: renderStatus, exit: d.running ? 0 : 3 };
      }),
    );

  const inputs = (g: { config?: string; socket?: string }) => {
    const config = resolveConfig(g);
    const env: Record<string, string> = {};
    for (const k of ['HF_ENDPOINT', 'HF_HOME', 'HF_HUB_OFFLINE', 'VOCORIZE_CACHE_DIR', 'VOCORIZE_CACHE_CONFIG', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME']) {
      const v = process.env[k];
      if (v) env[k] = v;
    }
    return {
      home: os.homedir(),
      uid: typeof process.getuid === 'function' ? process.getuid() : 0,
      node: process.execPath,
      script: CLI_MAIN,
      configPath: config.source.path,
      socketPath: config.socketPath,
      logDir: config.log.file ? path.dirname(config.log.file) : path.join(config.cacheDir, 'logs'),
      env,
    };
  };

  daemon
    .command('install')
    .description('install the daemon as a LaunchAgent (macOS: launchctl bootstrap) or a systemd user unit (Linux)')
    .option('--dry-run', 'print what would be written and run')
    .action((o: { dryRun?: boolean }, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const { installPlan } = await serviceUnits();
        const plan = installPlan(process.platform, inputs(ctx.globals));
        if (o.dryRun) return { data: { ...plan, dryRun: true }, human: renderPlan };
        fs.mkdirSync(inputs(ctx.globals).logDir, { recursive: true, mode: 0o700 });
        const ran = execPlan(plan, (argv) => argv.includes('bootout'));
        return { data: { ...plan, dryRun: false, ran }, human: renderPlan };
      }),
    );

  daemon
    .command('uninstall')
    .description('stop and remove the LaunchAgent / systemd user unit')
    .option('--dry-run', 'print what would be removed and run')
    .action((o: { dryRun?: boolean }, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const i = inputs(ctx.globals);
        const { uninstallPlan } = await serviceUnits();
        const plan = uninstallPlan(process.platform, i);
        if (o.dryRun) return { data: { ...plan, dryRun: true }, human: renderPlan };
        const ran = execPlan(plan, () => true);
        return { data: { ...plan, dryRun: false, ran }, human: renderPlan };
      }),
    );
}
