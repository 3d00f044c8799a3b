import { isCacheError, ErrorCodes, toErrorShape, type CacheError } from '../../errors.js';
import type { Method, ParamsOf, ResultOf } from '../../ipc/protocol.js';
import { daemonLogFile } from '../../daemon/launch.js';
import { callDeadline, retryableOnNextDaemon } from '../callDeadline.js';
import { runDaemonCommand } from '../commands/daemonRun.js';
import { answering, daemonStatusExit, renderStatus as renderDaemonStatus } from '../commands/daemonState.js';
import { getData, getParams, leaseNote, releaseText, withPatterns } from '../commands/getRequest.js';
import { renderStatus } from '../commands/status.js';
import { Exit, exitCodeForError } from '../exitCodes.js';
import { createOutput, type Output } from '../output.js';
import { progressBar } from '../progress.js';
import { quickResolveConfig } from '../quickConfig.js';
import type { ResolvedConfig } from '../../config/types.js';
import type { FastCommand } from './fastArgs.js';
import { DEADLINE_EXPIRED, fastConnect, type FastConnection } from './fastConnection.js';

/**
 * Runs a command of the fast path (fastArgs.ts) the way the full CLI would, loading only this module's
 * imports: no commander, no zod, no pino, no node-ipc. Resolves 'hand-over' whenever the command needs
 * more than the happy path (a config the quick reading is not sure of, no daemon answering, a daemon
 * shutting down under a call that may go to the next one, a filter the model already has): nothing has
 * been printed then and nothing was done that the full CLI would do differently, so the caller runs the
 * same command line through the full CLI (program.ts), which prints what it always prints.
 * Sets process.exitCode as the full CLI does.
 */
export async function runFast(cmd: FastCommand): Promise<'done' | 'hand-over'> {
  const g = cmd.globals;
  if (cmd.kind === 'daemon run') {
    process.exitCode = await runDaemonCommand(async () => quickResolveConfig(g) ?? (await import('../session.js')).resolveConfig(g), cmd.managedBy);
    return 'done';
  }
  let config: ResolvedConfig | null;
  let model = '';
  try {
    config = quickResolveConfig(g);
    if (cmd.kind === 'get') model = withPatterns(cmd.model, cmd.options);
  } catch {
    return 'hand-over';
  }
  if (!config) return 'hand-over';
  // `daemon status` probes with a shorter connect timeout than a session (commands/daemon.ts probe()).
  const conn = await fastConnect(config.socketPath, cmd.kind === 'daemon status' ? 1_000 : 2_000);
  if (!conn) return 'hand-over';
  const out = createOutput({ json: g.json });
  try {
    switch (cmd.kind) {
      case 'get': {
        const bar = g.json ? progressBar('', false) : progressBar(model);
        let r: ResultOf<'get'>;
        try {
          const params = getParams(model, cmd.options, config.offline ? { offline: true } : {});
          r = await call(conn, config, 'get', params, bar.onProgress);
          // Human output: the lease id on stderr, so stdout stays the bare path scripts read.
          if (cmd.options.hold && r.lease && !g.json) out.note(leaseNote(r.lease));
        } finally {
          bar.stop();
        }
        return done(out, getData(r, cmd.options.hold), (d) => d.path);
      }
      case 'release': {
        const lease = cmd.lease;
        return done(out, await call(conn, config, 'release', { lease }), (d) => releaseText(lease, d));
      }
      case 'status':
        return done(out, await call(conn, config, 'status', {}), (d) => renderStatus(d));
      case 'daemon status': {
        // The full CLI's probe sends no call to a next daemon: a daemon shutting down is reported as is.
        const d = answering(await call(conn, config, 'status', {}, undefined, false), config.socketPath, daemonLogFile(config));
        return done(out, d, renderDaemonStatus, daemonStatusExit(d));
      }
    }
  } catch (err) {
    if (err === HAND_OVER) return 'hand-over';
    const shape = toErrorShape(err);
    out.error(shape);
    process.exitCode = exitCodeForError(shape.code);
    return 'done';
  } finally {
    conn.close();
  }
}

const HAND_OVER = Symbol('hand over');

function done<D>(out: Output, data: D, human: (d: D) => string, exit: number = Exit.OK): 'done' {
  out.result(data, human);
  process.exitCode = exit;
  return 'done';
}

/**
 * One call with the method's deadline (callDeadline.ts), as session.ts `deadlineCall`: an expired
 * deadline becomes session.ts's message naming the daemon's pid (loaded only then). A call the daemon
 * refuses because it is shutting down, and which may be sent to the next daemon, is handed over.
 */
async function call<M extends Method>(
  conn: FastConnection,
  config: ResolvedConfig,
  method: M,
  params: ParamsOf<M>,
  onProgress?: (data: Record<string, unknown>) => void,
  nextDaemon = true,
): Promise<ResultOf<M>> {
  const d = callDeadline(method);
  try {
    return await conn.call(method, params, d.kind === 'total' ? { timeoutMs: d.ms, onProgress } : { idleTimeoutMs: d.ms, onProgress });
  } catch (err) {
    if (!isCacheError(err)) throw err;
    if (err.details?.reason === DEADLINE_EXPIRED) {
      const { noAnswer } = await import('../session.js');
      throw noAnswer(config, method, d.ms, d.kind === 'idle');
    }
    if (nextDaemon && shuttingDown(err) && retryableOnNextDaemon(method, params)) throw HAND_OVER;
    throw err;
  }
}

const shuttingDown = (err: CacheError): boolean => err.code === ErrorCodes.SHUTTING_DOWN;
