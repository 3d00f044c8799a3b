import type { Command } from 'commander';
import { CacheError, ErrorCodes, toErrorShape } from '../errors.js';
import { exitCodeForError, Exit } from './exitCodes.js';
import { createOutput, type Output } from './output.js';
import { openSession, resolveConfig, type Globals, type Session } from './session.js';

/** What a command handler returns: data, how to render it for humans, and the exit code it implies. */
export interface Outcome<D> {
  data: D;
  human: (data: NoInfer<D>) => string;
  exit?: number;
}

export interface Cli {
  globals(cmd: Command): Globals;
  /** Runs a handler with one session, prints its outcome through the one renderer, sets the exit code. */
  run<D>(cmd: Command, fn: (ctx: RunContext) => Promise<Outcome<D>>): Promise<void>;
}

export interface RunContext {
  globals: Globals;
  out: Output;
  /** Opens (once) a session to the daemon, autostarting it unless --no-autostart. */
  session(opts?: { allowDirect?: boolean }): Promise<Session>;
  /**
   * `{ offline: true }` when this process's config and environment (VOCORIZE_CACHE_OFFLINE,
   * HF_HUB_OFFLINE) say offline, else `{}`: spread into the params of a method that may fetch, so a
   * daemon started under another environment still honours the caller's.
   */
  offlineParam(): { offline?: true };
}

export function createCli(): Cli {
  const globals = (cmd: Command): Globals => {
    const o = cmd.optsWithGlobals<{ config?: string; socket?: string; json?: boolean; autostart?: boolean }>();
    return { config: o.config, socket: o.socket, json: o.json === true, autostart: o.autostart !== false };
  };
  return {
    globals,
    async run(cmd, fn) {
      const g = globals(cmd);
      const out = createOutput({ json: g.json });
      let session: Session | undefined;
      try {
        const outcome = await fn({
          globals: g,
          out,
          session: async (opts) => (session ??= await openSession(g, opts)),
          offlineParam: () => (resolveConfig(g).offline ? { offline: true } : {}),
        });
        out.result(outcome.data, outcome.human);
        process.exitCode = outcome.exit ?? Exit.OK;
      } catch (err) {
        const shape = toErrorShape(err);
        out.error(shape);
        process.exitCode = exitCodeForError(shape.code);
      } finally {
        if (session) await session.close().catch(() => undefined);
      }
    },
  };
}

export function usage(message: string): CacheError {
  return new CacheError(ErrorCodes.USAGE, message);
}
