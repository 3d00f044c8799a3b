import fs from 'node:fs';
import { loadConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/types.js';
import type { LockHolder } from '../db/cacheLock.js';
import { CacheError, ErrorCodes, isCacheError } from '../errors.js';
import { connect, DEADLINE_EXPIRED, type CacheClient, type CallOptions as ClientCallOptions } from '../ipc/client.js';
import type { Method, ParamsOf, ResultOf } from '../ipc/protocol.js';
import { callDeadline, retryableOnNextDaemon } from './callDeadline.js';
import { daemonServing, lockHolderDaemon } from './lockHolder.js';
import { withSocketFlag } from './quickConfig.js';
import { startDaemonProcess } from './startDaemonProcess.js';

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
  return withSocketFlag(loadConfig(g.config ? { configPath: g.config } : {}), g);
}

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
  const holder = daemonServing(config.cacheDir, config.socketPath);
  if (holder) {
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
export function noAnswer(config: ResolvedConfig, method: Method, ms: number, idle: boolean): CacheError {
  const pid = daemonServing(config.cacheDir, config.socketPath)?.pid ?? null;
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

