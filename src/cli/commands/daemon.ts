import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { MANAGERS, serviceUnits, type ManagedBy, type ServicePlan } from '../../daemon/launch.js';
import { CacheError, ErrorCodes, isCacheError } from '../../errors.js';
import type { ResolvedConfig } from '../../config/types.js';
import { connect, type CacheClient } from '../../ipc/client.js';
import type { Cli, Outcome, RunContext } from '../cli.js';
import { runDaemonCommand } from './daemonRun.js';
import { answering, daemonStatusExit, renderStatus, type DaemonStatus } from './daemonState.js';
import { cacheLockHeld, daemonServing } from '../lockHolder.js';
import { processGone, waitUntil } from '../processGone.js';
import { deadlineCall, resolveConfig } from '../session.js';
import { CLI_MAIN, daemonLogPath, startDaemonProcess } from '../startDaemonProcess.js';

interface StopOutcome {
  stopped: boolean;
  wasRunning: boolean;
  pid: number | null;
  socket: string;
  /** How it was stopped: asked over the socket, SIGTERM (no answer on the socket), or SIGKILL after a bound. */
  how?: 'shutdown' | 'SIGTERM' | 'SIGKILL';
}

/** Grace for a daemon to exit after it was asked to (shutdown or SIGTERM) before SIGKILL. */
const STOP_GRACE_MS = 15_000;
/** How long a SIGKILLed daemon may take to be gone. */
const KILL_GRACE_MS = 5_000;

/**
 * Who serves this config: asks `status` over the socket (with the cheap-call deadline, whose expiry is
 * an error naming the pid); when nobody listens, finds the daemon through the cache lock instead.
 */
async function probe(config: ResolvedConfig): Promise<DaemonStatus> {
  const socketPath = config.socketPath;
  const log = daemonLogPath(config);
  let c: CacheClient;
  try {
    c = await connect({ socketPath, timeoutMs: 1_000 });
  } catch (err) {
    if (!isCacheError(err) || err.code !== ErrorCodes.UNREACHABLE) throw err;
    const holder = daemonServing(config.cacheDir, config.socketPath);
    if (holder) {
      return { running: true, pid: holder.pid, socket: socketPath, version: null, uptimeMs: null, answering: false, socketMissing: !fs.existsSync(socketPath), log, hubUrl: null, hubSecretFile: null };
    }
    return { running: false, pid: null, socket: socketPath, version: null, uptimeMs: null, answering: false, log, hubUrl: null, hubSecretFile: null };
  }
  try {
    const st = await deadlineCall(c, config, 'status', {});
    return answering(st, socketPath, log);
  } finally {
    void c.close();
  }
}

/**
 * Stops the daemon serving this config and returns only once its process is gone (or, where a zombie
 * cannot be told apart, once it has let go of the cache lock). Asks over the socket first; a daemon that
 * does not answer there (stopped, or its socket gone) but holds the cache lock gets SIGTERM (plus
 * SIGCONT, so a stopped one can act on it); one still alive after STOP_GRACE_MS gets SIGKILL. Signals go
 * only to the pid the cache lock names as its holder.
 */
async function stopDaemon(config: ResolvedConfig): Promise<StopOutcome> {
  const socket = config.socketPath;
  let before: DaemonStatus | null = null;
  try {
    before = await probe(config);
  } catch (err) {
    // Connected but no answer in time: a stopped or wedged daemon; the lock says who it is.
    if (!isCacheError(err) || err.code !== ErrorCodes.UNREACHABLE) throw err;
  }
  const holder = daemonServing(config.cacheDir, config.socketPath);
  const pid = before?.running ? before.pid : (holder?.pid ?? null);
  if (pid === null) return { stopped: false, wasRunning: false, pid: null, socket };
  const isHolder = () => daemonServing(config.cacheDir, config.socketPath)?.pid === pid;
  // Linux tells a zombie (exited, not yet reaped) from a live process; elsewhere the released lock stands in.
  const gone = () => processGone(pid) || (process.platform !== 'linux' && !cacheLockHeld(config.cacheDir));

  let how: StopOutcome['how'] = 'shutdown';
  let asked = false;
  if (before?.answering) {
    try {
      const c = await connect({ socketPath: socket, timeoutMs: 2_000 });
      try {
        await deadlineCall(c, config, 'shutdown', {});
        asked = true;
      } finally {
        void c.close();
      }
    } catch {
      // fall back to a signal below
    }
  }
  if (!asked) {
    if (!isHolder()) {
      // It answered a moment ago and has let go of the lock: a daemon already on its way out (stopping
      // itself, or restarting to rebuild a damaged index). Wait for it; never signal a pid we cannot vouch for.
      if (await waitUntil(() => processGone(pid), STOP_GRACE_MS)) return { stopped: true, wasRunning: true, pid, socket, how };
      throw new CacheError(ErrorCodes.UNREACHABLE, `daemon pid ${pid} did not accept shutdown on ${socket} and does not hold the cache lock; not signalling it`, { retryable: true, details: { pid, socket } });
    }
    how = 'SIGTERM';
    signal(pid, 'SIGTERM');
    signal(pid, 'SIGCONT');
  }
  if (!(await waitUntil(gone, STOP_GRACE_MS))) {
    if (isHolder()) {
      how = 'SIGKILL';
      signal(pid, 'SIGKILL');
    }
    if (!(await waitUntil(gone, KILL_GRACE_MS))) {
      throw new CacheError(ErrorCodes.INTERNAL, `daemon pid ${pid} did not stop within ${Math.round((STOP_GRACE_MS + KILL_GRACE_MS) / 1000)} s`, { retryable: true, details: { pid, socket } });
    }
  }
  return { stopped: true, wasRunning: true, pid, socket, how };
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

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
    .addOption(
      new Option('--managed-by <manager>', 'who starts and restarts this daemon (set by autostart and the installed service units)').choices(MANAGERS),
    )
    .action(async (o: { managedBy?: ManagedBy }, cmd: Command) => {
      const g = cli.globals(cmd);
      process.exitCode = await runDaemonCommand(() => resolveConfig(g), o.managedBy ?? null);
    });

  daemon
    .command('start')
    .description('start the daemon in the background and wait until it answers')
    .action((_o: unknown, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const config = resolveConfig(ctx.globals);
        const before = await probe(config);
        if (before.running) return { data: { ...before, started: false }, human: (d) => `already ${renderStatus(d)}`, exit: before.answering ? 0 : 3 };
        await startDaemonProcess(ctx.globals, config);
        const after = await probe(config);
        return { data: { ...after, started: true }, human: (d) => `started, ${renderStatus(d)}` };
      }),
    );

  daemon
    .command('stop')
    .description('ask the daemon to stop (it finishes accounting and removes its socket)')
    .action((_o: unknown, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext): Promise<Outcome<StopOutcome>> => {
        const d = await stopDaemon(resolveConfig(ctx.globals));
        return { data: d, human: (x) => (x.stopped ? `stopped pid ${x.pid}${x.how === 'shutdown' ? '' : ` (${x.how})`}` : 'not running') };
      }),
    );

  daemon
    .command('status')
    .description('is a daemon answering? (--json: running, pid, socket, version, uptimeMs, log)')
    .action((_o: unknown, cmd: Command) =>
      cli.run(cmd, async (ctx: RunContext) => {
        const config = resolveConfig(ctx.globals);
        const d = await probe(config);
        return { data: d, human: renderStatus, exit: daemonStatusExit(d) };
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
      logFile: daemonLogPath(config),
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
        fs.mkdirSync(path.dirname(inputs(ctx.globals).logFile), { recursive: true, mode: 0o700 });
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
