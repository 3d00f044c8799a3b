import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResolvedConfig } from '../config/types.js';
import { daemonArgv, daemonLogFile, rotateLogIfOver } from '../daemon/launch.js';
import { CacheError, ErrorCodes } from '../errors.js';
import { connect } from '../ipc/client.js';
import { daemonServing } from './lockHolder.js';

/** The CLI entry point: what a started daemon runs (`<node> <flags> main.js daemon run`). Written from `..` so that it also holds where the bundle puts this module (dist/chunks/). */
export const CLI_MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** The daemon's one log file (`log.file`, else the per-user default): where a daemon started by the CLI writes. */
export function daemonLogPath(config: ResolvedConfig): string {
  return daemonLogFile(config);
}

/**
 * Spawns `cache-manager daemon run` detached and waits until it answers `hello`. Many CLIs may race
 * here: the cache lock lets exactly one daemon win; the others' children exit and every CLI connects
 * to the winner. A child that exits for any other reason (the cache is held by a daemon serving another
 * socket, a bad config, ...) fails this call at once with the child's own error.
 */
export async function startDaemonProcess(g: { config?: string | undefined; socket?: string | undefined }, config: ResolvedConfig, timeoutMs = 20_000): Promise<number | null> {
  const logFile = daemonLogPath(config);
  fs.mkdirSync(path.dirname(logFile), { recursive: true, mode: 0o700 });
  // Rotated here rather than by the child, so that the offset below stays the child's first byte.
  try {
    rotateLogIfOver(logFile);
  } catch {
    // an unrotatable log is still appended to
  }
  const fd = fs.openSync(logFile, 'a', 0o600);
  const logStart = fs.fstatSync(fd).size;
  const args = daemonArgv({
    script: CLI_MAIN,
    // A config found by searching (the project's) is passed on: the daemon must not search from elsewhere.
    configPath: g.config ? path.resolve(g.config) : config.source.kind === 'project' ? config.source.path : null,
    socketPath: g.socket ? path.resolve(g.socket) : null,
    managedBy: 'autostart',
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
  const holder = daemonServing(config.cacheDir, config.socketPath);
  return holder !== null && holder.pid !== childPid;
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
