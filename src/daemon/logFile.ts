import fs from 'node:fs';
import os from 'node:os';
import { defaultLogFile } from '../config/paths.js';
import type { ResolvedConfig } from '../config/types.js';

/** A log file over this size is rotated (once, to `<file>.1`). */
export const LOG_ROTATE_BYTES = 10 * 1024 * 1024;

/**
 * The one log file of a daemon that runs in the background: `log.file` when configured, else the
 * per-user default (config/paths.ts `defaultLogFile`). The CLI's autostart, the LaunchAgent and the
 * systemd unit all send the daemon's output there; `cache-manager logs` reads it.
 */
export function daemonLogFile(
  config: Pick<ResolvedConfig, 'log'>,
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = os.homedir(),
): string {
  return config.log.file ?? defaultLogFile(platform, env, home);
}

/**
 * When `file` is larger than `maxBytes`: copies it to `<file>.1` (replacing an older one) and truncates
 * it in place. In place, because the writers hold it open: the service manager's stdout/stderr and pino
 * all append (O_APPEND), so they go on writing at the new end of the same file. Lines written between
 * the copy and the truncation are lost; that window is one copy long. Returns whether it rotated;
 * a missing file is not an error.
 */
export function rotateLogIfOver(file: string, maxBytes: number = LOG_ROTATE_BYTES): boolean {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return false;
  }
  if (size <= maxBytes) return false;
  fs.copyFileSync(file, `${file}.1`);
  fs.truncateSync(file, 0);
  return true;
}

/** Checks the log's size every `everyMs` and rotates it when over the bound, until stopped. */
export function watchLogSize(
  file: string,
  opts: { maxBytes?: number; everyMs?: number; onRotated?: () => void; onError?: (err: unknown) => void } = {},
): { stop(): void } {
  const timer = setInterval(() => {
    try {
      if (rotateLogIfOver(file, opts.maxBytes)) opts.onRotated?.();
    } catch (err) {
      opts.onError?.(err);
    }
  }, opts.everyMs ?? 60_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
