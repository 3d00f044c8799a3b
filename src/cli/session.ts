import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/types.js';
import type { LockHolder } from '../service/cacheLock.js';
import { daemonArgv } from '../daemon/launch.js';
import { CacheError, ErrorCodes, isCacheError } from '../errors.js';
import { connect, DEADLINE_EXPIRED, type CacheClient, type CallOptions as ClientCallOptions } from '../ipc/client.js';
import type { Method, ParamsOf, ResultOf } from '../ipc/protocol.js';
import { callDeadline, retryableOnNextDaemon } from './callDeadline.js';
import { lockHolderDaemon } from './lockHolder.js';

export interface Globals {
  config?: string;
  socket?: string;
  json: boolean;
  autostart: boolean;
}

export interface CallOptions {
  onProgress?: (data: Record<string, unknown>) => void;
}

/** How a command reaches the cache: over the daemon's socket, or directly under the cache lock. */
export interface Session {
  readonly mode: 'daemon' | 'direct';
  call<M extends Method>(method: M, params: ParamsOf<M>, opts?: CallOptions): Promise<ResultOf<M>>;
  close(): Promise<void>;
}

export function resolveConfig(g: Pick<Globals, 'config' | 'socket'>): ResolvedConfig {
  const config = loadConfig(g.config ? { configPath: g.config } : {});
  return g.socket ? { ...config, socketPath: path.resolve(g.socket) } : config;
}

export const CLI_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/**
 * Connects to the running daemon. When none answers: starts one (unless --no-autostart), or, for
 * commands that may run without it (`allowDirect`), works on the cache directly under its lock.
 * A daemon that holds the cache lock for this socket but does not listen on it is reported at once
 * (E_UNREACHABLE naming its pid), never waited for and never raced by a second daemon.
 */
export async function openSession(g: Globals, opts: { allowDirect?: boolean } = {}): Promise<Session> {
  const config = resolveConfig(g);
  const client = await connectOrStart(g, config, opts.allowDirect === true);
  return client ? daemonSession(client, g, config) : directSession(config);
}

/** A connected client, or null when the caller should work directly on the cache. */
async function connectOrStart(g: Globals, config: ResolvedConfig, allowDirect: boolean): Promise<CacheClient | null> {
  try {
    return await connect({ socketPath: config.socketPath, timeoutMs: 2_000 });
  } catch (err) {
    if (!isCacheError(err) || err.code !== ErrorCodes.UNREACHABLE) throw err;
  }
  const holder = lockHolderDaemon(config.cacheDir);
  if (holder && holderServes(holder, config)) {
    // The holder may be re-creating its socket right now: give it a moment before reporting it.
    const late = await connectWithin(config.socketPath, 3_000);
    if (late) return late;
    throw socketGone(holder, config);
  }
  if (!g.autostart) {
    if (allowDirect) return null;
    throw new CacheError(
      ErrorCodes.UNREACHABLE,
      `no daemon answering on ${config.socketPath} (start one with: cache-manager daemon start)`,
      { retryable: true },
    );
  }
  await startDaemonProcess(g, config);
  return connect({ socketPath: config.socketPath, timeoutMs: 5_000 });
}

/** Whether the lock holder says it serves this config's socket. */
function holderServes(holder: LockHolder, config: ResolvedConfig): boolean {
  return holder.socket !== null && path.resolve(holder.socket) === path.resolve(config.socketPath);
}

async function connectWithin(socketPath: string, ms: number): Promise<CacheClient | null> {
  const deadline = Date.now() + ms;
  do {
    await new Promise((r) => setTimeout(r, 100));
    try {
      return await connect({ socketPath, timeoutMs: 1_000 });
    } catch {
      // still not listening
    }
  } while (Date.now() < deadline);
  return null;
}

/** E_UNREACHABLE for a live daemon that holds the cache but cannot be reached on its socket. */
export function socketGone(holder: LockHolder, config: ResolvedConfig): CacheError {
  const missing = !fs.existsSync(config.socketPath);
  return new CacheError(
    ErrorCodes.UNREACHABLE,
    `daemon pid ${holder.pid} holds the cache ${config.cacheDir} but its socket ${config.socketPath} is ${missing ? 'gone' : 'not listening'}; restart it with: cache-manager daemon stop, then run this command again`,
    { retryable: true, details: { pid: holder.pid, socket: config.socketPath, cacheDir: config.cacheDir, socketMissing: missing } },
  );
}

/**
 * Every call carries a deadline (see callDeadline). A call answered E_SHUTTING_DOWN is sent once more,
 * to the next daemon (started if autostart is on), when repeating it is harmless (retryableOnNextDaemon).
 */
function daemonSession(first: CacheClient, g: Globals, config: ResolvedConfig): Session {
  let client = first;
  return {
    mode: 'daemon',
    call: async (method, params, o) => {
      try {
        return await deadlineCall(client, config, method, params, o);
      } catch (err) {
        if (!isCacheError(err) || err.code !== ErrorCodes.SHUTTING_DOWN || !retryableOnNextDaemon(method, params)) throw err;
      }
      await client.close();
      client = await nextDaemon(g, config);
      return deadlineCall(client, config, method, params, o);
    },
    close: async () => client.close(),
  };
}

/** One call with the method's deadline (callDeadline); an expired deadline is an E_UNREACHABLE naming pid, socket and the way out. */
export async function deadlineCall<M extends Method>(
  client: CacheClient,
  config: ResolvedConfig,
  method: M,
  params: ParamsOf<M>,
  o?: CallOptions,
): Promise<ResultOf<M>> {
  const d = callDeadline(method);
  const opts: ClientCallOptions = d.kind === 'total' ? { timeoutMs: d.ms } : { idleTimeoutMs: d.ms };
  if (o?.onProgress) opts.onProgress = o.onProgress;
  try {
    return await client.call(method, params, opts);
  } catch (err) {
    if (isCacheError(err) && err.details?.reason === DEADLINE_EXPIRED) throw noAnswer(config, method, d.ms, d.kind === 'idle');
    throw err;
  }
}

/** The message for an expired deadline: who did not answer, and what the user can do about it. */
function noAnswer(config: ResolvedConfig, method: Method, ms: number, idle: boolean): CacheError {
  const holder = lockHolderDaemon(config.cacheDir);
  const pid = holder && holderServes(holder, config) ? holder.pid : null;
  const who = pid !== null ? `the daemon (pid ${pid}) on ${config.socketPath}` : `the daemon on ${config.socketPath}`;
  const within = `${Math.round(ms / 1000)} s${idle ? ' without progress' : ''}`;
  const what = pid !== null ? `cache-manager daemon stop, or kill -CONT ${pid}` : 'cache-manager daemon stop';
  return new CacheError(
    ErrorCodes.UNREACHABLE,
    `${who} did not answer ${method} within ${within}; it may be stopped or overloaded: ${what}`,
    { retryable: true, details: { socket: config.socketPath, pid, method, timeoutMs: ms, idle } },
  );
}

/**
 * After E_SHUTTING_DOWN: waits (bounded) until the stopping daemon is gone, then connects to whichever
 * daemon answers next, or starts one (autostart rules apply; never direct mode).
 */
async function nextDaemon(g: Globals, config: ResolvedConfig): Promise<CacheClient> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    let c: CacheClient;
    try {
      c = await connect({ socketPath: config.socketPath, timeoutMs: 1_000 });
    } catch {
      // Not listening: the old daemon has closed its socket; start the next once it has let go of the cache.
      if (!lockHolderDaemon(config.cacheDir)) break;
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    try {
      await c.call('hello', { client: 'cache-manager' }, { timeoutMs: 2_000 });
      return c;
    } catch {
      await c.close();
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const c = await connectOrStart(g, config, false);
  if (!c) throw new CacheError(ErrorCodes.INTERNAL, 'no daemon session after E_SHUTTING_DOWN');
  return c;
}

/** Loads the daemon core (SQLite, origins, pino) only here: CLI processes that talk to a daemon never need it. */
async function directSession(config: ResolvedConfig): Promise<Session> {
  const [{ openCore }, { createLogger }] = await Promise.all([import('../service/openService.js'), import('../logger.js')]);
  const logger = createLogger({ level: 'warn', file: null, name: 'cache-manager' });
  const core = openCore(config, { logger, role: 'cli' });
  return {
    mode: 'direct',
    call: (method, params, o) =>
      core.handlers.handle(method, params, {
        connId: -1,
        progress: (d) => o?.onProgress?.(d),
      }),
    close: async () => core.close(),
  };
}

/** Where a daemon started by the CLI writes its log when the config names no log file. */
export function daemonLogPath(config: ResolvedConfig): string {
  return config.log.file ?? path.join(config.cacheDir, 'daemon.log');
}

/**
 * Spawns `cache-manager daemon run` detached and waits until it answers `hello`. Many CLIs may race
 * here: the cache lock lets exactly one daemon win; the others' children exit and every CLI connects
 * to the winner. A child that exits for any other reason (the cache is held by a daemon serving another
 * socket, a bad config, ...) fails this call at once with the child's own error.
 */
export async function startDaemonProcess(g: Pick<Globals, 'config' | 'socket'>, config: ResolvedConfig, timeoutMs = 20_000): Promise<number | null> {
  const logFile = daemonLogPath(config);
  fs.mkdirSync(path.dirname(logFile), { recursive: true, mode: 0o700 });
  const fd = fs.openSync(logFile, 'a', 0o600);
  const logStart = fs.fstatSync(fd).size;
  const args = daemonArgv({
    script: CLI_MAIN,
    // A config found by searching (the project's) is passed on: the daemon must not search from elsewhere.
    configPath: g.config ? path.resolve(g.config) : config.source.kind === 'project' ? config.source.path : null,
    socketPath: g.socket ? path.resolve(g.socket) : null,
  });
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd], env: process.env });
  fs.closeSync(fd);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? 1));
  child.unref();

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const client = await connect({ socketPath: config.socketPath, timeoutMs: 1_000 });
      try {
        const hello = await client.call('hello', { client: 'cache-manager' }, { timeoutMs: 5_000 });
        return hello.pid;
      } finally {
        void client.close();
      }
    } catch {
      // not up yet
    }
    if (exited !== null && exited !== 0 && !raceWinnerServes(config, child.pid)) {
      throw childFailure(exited, logFile, logStart);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new CacheError(ErrorCodes.UNREACHABLE, `the daemon did not answer on ${config.socketPath} within ${timeoutMs} ms; see ${logFile}`, {
    retryable: true,
  });
}

/** Another live daemon holds the cache for this very socket: our child lost the start race to it, which will answer. */
function raceWinnerServes(config: ResolvedConfig, childPid: number | undefined): boolean {
  const holder = lockHolderDaemon(config.cacheDir);
  return holder !== null && holder.pid !== childPid && holderServes(holder, config);
}

/** The error the child printed before exiting (`cache-manager daemon: <message> [<code>]`), as a CacheError. */
function childFailure(exitCode: number, logFile: string, from: number): CacheError {
  const lines = readFrom(logFile, from).trim().split('\n');
  const said = lines
    .map((l) => /^cache-manager daemon: (.*) \[(E_[A-Z_]+)\]$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .pop();
  if (said && said[2] === ErrorCodes.LOCKED) {
    return new CacheError(ErrorCodes.LOCKED, `could not start a daemon: ${said[1]}`, { retryable: true, details: { log: logFile } });
  }
  const why = said ? `: ${said[1]} [${said[2]}]` : `; see ${logFile}${lines.length > 0 && lines[0] !== '' ? `:\n${lines.slice(-3).join('\n')}` : ''}`;
  return new CacheError(ErrorCodes.UNREACHABLE, `the daemon exited with code ${exitCode} before answering${why}`, { details: { log: logFile } });
}

function readFrom(file: string, from: number): string {
  try {
    const buf = fs.readFileSync(file);
    return buf.subarray(Math.min(from, buf.length)).toString('utf8');
  } catch {
    return '';
  }
}
