import fs from 'node:fs';
import { toErrorShape } from '../errors.js';
import type { SocketFileCheck } from '../ipc/transport.js';
import type { Log } from '../logger.js';

export interface GuardDeps {
  /** The cache's v1 dir, whose identity must not change while the daemon runs. */
  cacheV1Dir: string;
  cacheDir: string;
  socketPath: string;
  checkSocketFile(): Promise<SocketFileCheck>;
  /** Called once when the cache dir was deleted or replaced behind the daemon. */
  onCacheDirGone(): void;
  logger: Pick<Log, 'warn' | 'error'>;
  intervalMs: number;
}

/** `<dev>:<ino>` of a directory, or null when it is gone. */
function dirIdentity(dir: string): string | null {
  try {
    const st = fs.statSync(dir);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/**
 * What the daemon checks on a timer, one stat each:
 *  - the cache dir deleted or replaced behind it (rm -rf to clear a cache): every path it would hand out
 *    is gone and its lock no longer guards the dir a new daemon would create, so it must stop (the next
 *    client's autostart, or launchd's KeepAlive, starts a daemon on a fresh layout);
 *  - the socket file removed or replaced (a cleanup script, `rm -rf run/`): clients could no longer reach
 *    it although it runs, so it listens again on the same path; never on a path someone else now
 *    serves or a file that is not a socket.
 * Returns stop().
 */
export function startGuard(deps: GuardDeps): () => void {
  const anchor = dirIdentity(deps.cacheV1Dir);
  let socketState: SocketFileCheck = 'ok';
  let checkingSocket = false;
  let stopped = false;

  const checkSocket = async (): Promise<void> => {
    if (checkingSocket || stopped) return;
    checkingSocket = true;
    try {
      const found = await deps.checkSocketFile();
      if (found === 'restored') {
        deps.logger.warn({ socket: deps.socketPath }, 'socket file removed or replaced behind the daemon: listening on it again');
      } else if (found === 'occupied' && socketState !== 'occupied') {
        deps.logger.error({ socket: deps.socketPath }, 'socket path taken by something else (a file or another live socket): not replacing it');
      }
      socketState = found;
    } catch (err) {
      deps.logger.error({ err: toErrorShape(err), socket: deps.socketPath }, 'socket file check failed');
    } finally {
      checkingSocket = false;
    }
  };

  const timer = setInterval(() => {
    if (stopped) return;
    if (dirIdentity(deps.cacheV1Dir) !== anchor) {
      stopped = true;
      deps.logger.error({ cacheDir: deps.cacheDir }, 'cache directory removed or replaced behind the daemon: stopping');
      deps.onCacheDirGone();
      return;
    }
    void checkSocket();
  }, deps.intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
