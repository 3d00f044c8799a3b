import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/types.js';
import { readLockHolder } from '../service/cacheLock.js';
import { daemonArgv } from '../daemon/launch.js';
import { CacheError, ErrorCodes, isCacheError } from '../errors.js';
import { connect, type CacheClient } from '../ipc/client.js';
import type { Method, ParamsOf, ResultOf } from '../ipc/protocol.js';

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
 */
export async function openSession(g: Globals, opts: { allowDirect?: boolean } = {}): Promise<Session> {
  const config = resolveConfig(g);
  try {
    return daemonSession(await connect({ socketPath: config.socketPath, timeoutMs: 2_000 }));
  } catch (err) {
    if (!isCacheError(err) || err.code !== ErrorCodes.UNREACHABLE) throw err;
  }
  if (!g.autostart) {
    if (opts.allowDirect) return directSession(config);
    throw new CacheError(
      ErrorCodes.UNREACHABLE,
      `no daemon answering on ${config.socketPath} (start one with: cache-manager daemon start)`,
      { retryable: true },
    );
  }
  await startDaemonProcess(g, config);
  return daemonSession(await connect({ socketPath: config.socketPath, timeoutMs: 5_000 }));
}

function daemonSession(client: CacheClient): Session {
  return {
    mode: 'daemon',
    call: (method, params, o) => client.call(method, params, o?.onProgress ? { onProgress: o.onProgress } : {}),
    close: async () => client.close(),
  };
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
 * to the winner.
 */
export async function startDaemonProcess(g: Pick<Globals, 'config' | 'socket'>, config: ResolvedConfig, timeoutMs = 20_000): Promise<number | null> {
  const logFile = daemonLogPath(config);
  fs.mkdirSync(path.dirname(logFile), { recursive: true, mode: 0o700 });
  const fd = fs.openSync(logFile, 'a', 0o600);
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
      const hello = await client.call('hello', { client: 'cache-manager' });
      client.close();
      return hello.pid;
    } catch {
      // not up yet
    }
    if (exited !== null && exited !== 0 && !lockHeldByOther(config)) {
      throw new CacheError(
        ErrorCodes.UNREACHABLE,
        `the daemon exited with code ${exited} before answering; see ${logFile}${tail(logFile)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new CacheError(ErrorCodes.UNREACHABLE, `the daemon did not answer on ${config.socketPath} within ${timeoutMs} ms; see ${logFile}`, {
    retryable: true,
  });
}

/** Another live process holds the cache (so our child's early exit was the lock race, not a failure). */
function lockHeldByOther(config: ResolvedConfig): boolean {
  const holder = readLockHolder(config.cacheDir);
  if (!holder) return false;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tail(file: string): string {
  try {
    const text = fs.readFileSync(file, 'utf8').trim().split('\n').slice(-3).join('\n');
    return text ? `:\n${text}` : '';
  } catch {
    return '';
  }
}
