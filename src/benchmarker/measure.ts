import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { startTreeSampler } from './treeSampler.js';
import type { RunMeasurement } from './types.js';

export interface MeasureOptions {
  /** Run by `/bin/sh -c`. */
  command: string;
  cwd: string;
  /** The whole environment of the command (not merged with process.env here). */
  env: Record<string, string>;
  /** stdout and stderr are appended here; the folder is created. */
  logPath: string;
  /** Kill the command's process group after this long (SIGTERM, then SIGKILL 2 s later). Default: none. */
  timeoutMs?: number | null;
  /** Also copy the command's output here (verbose mode). */
  echo?: Writable | null;
  sampleIntervalMs?: number;
}

/**
 * The wrapper: an outer shell runs the command in an inner `/bin/sh -c` (with fd 3 closed, so the
 * command never sees it), then prints `times` to fd 3. The second `times` line is the CPU of the
 * outer shell's waited-for children: the inner shell and every descendant it waited for.
 */
const WRAPPER = '/bin/sh -c "$1" 3>&-; rc=$?; times >&3; exit $rc';

/** Parses `times` output (`0m1.820000s 0m0.010000s`, bash's `0m1.820s`) into the children's user/sys ms. */
export function parseTimes(text: string): { userMs: number; sysMs: number } | null {
  const lines = text.trim().split('\n');
  const line = lines[1];
  if (lines.length < 2 || line === undefined) return null;
  const m = /^\s*(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s\s*$/.exec(line);
  if (!m) return null;
  const ms = (min: string, sec: string): number => Math.round((Number(min) * 60 + Number(sec)) * 1000);
  return { userMs: ms(m[1] as string, m[2] as string), sysMs: ms(m[3] as string, m[4] as string) };
}

/**
 * Runs one shell command to its end and measures wall time, user+sys CPU and the peak RSS of its
 * whole process tree. Never throws for the command's own failure: a non-zero exit, a signal or a
 * timeout are values in the result. Throws only when the command cannot be started at all.
 */
export async function measureCommand(o: MeasureOptions): Promise<RunMeasurement> {
  fs.mkdirSync(path.dirname(o.logPath), { recursive: true });
  const logFd = fs.openSync(o.logPath, 'a');
  const echo = o.echo ?? null;
  let out: number | 'pipe' = logFd;
  if (echo) out = 'pipe';
  const started = performance.now();
  const child = spawn('/bin/sh', ['-c', WRAPPER, 'sh', o.command], {
    cwd: o.cwd,
    env: o.env,
    // Own process group: a timeout kills the whole tree.
    detached: true,
    stdio: ['ignore', out, out, 'pipe'],
  });
  // Without echo the child holds its own copy of the log descriptor; with echo the stream owns it.
  let log: fs.WriteStream | null = null;
  const outputEnded: Array<Promise<void>> = [];
  if (echo) {
    const sink = fs.createWriteStream('', { fd: logFd });
    sink.on('error', () => undefined);
    log = sink;
    for (const s of [child.stdout, child.stderr]) {
      if (!s) continue;
      s.on('data', (chunk: Buffer) => {
        if (!sink.writableEnded) sink.write(chunk);
        echo.write(chunk);
      });
      outputEnded.push(new Promise((resolve) => s.once('close', () => resolve())));
    }
  } else {
    fs.closeSync(logFd);
  }
  const sampler = child.pid !== undefined ? startTreeSampler(child.pid, { intervalMs: o.sampleIntervalMs }) : null;
  let timesText = '';
  const timesDone = new Promise<void>((resolve) => {
    const s = child.stdio[3] as NodeJS.ReadableStream | null;
    if (!s) return resolve();
    s.setEncoding('utf8');
    s.on('data', (d: string) => (timesText += d));
    s.on('end', () => resolve());
    s.on('error', () => resolve());
  });

  // The command runs in its own process group, so a Ctrl-C at the terminal does not reach it: pass
  // SIGINT/SIGTERM/SIGHUP on to the group, then, if nobody else listens, let the signal end us as usual.
  let interrupted = false;
  const forward = (sig: NodeJS.Signals): void => {
    interrupted = true;
    killGroup(child.pid, sig);
    removeForwarders();
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };
  const forwarders = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((sig) => {
    const fn = (): void => forward(sig);
    process.on(sig, fn);
    return [sig, fn] as const;
  });
  const removeForwarders = (): void => {
    for (const [sig, fn] of forwarders) process.removeListener(sig, fn);
  };

  let timedOut = false;
  let killTimer: NodeJS.Timeout | null = null;
  const timeout =
    o.timeoutMs != null
      ? setTimeout(() => {
          timedOut = true;
          killGroup(child.pid, 'SIGTERM');
          killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 2000);
        }, o.timeoutMs)
      : null;

  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const wallMs = performance.now() - started;
    // Only the outer shell holds fd 3, so its end follows the exit; bounded in case it does not.
    await Promise.race([timesDone, delay(500)]);
    // A background grandchild may keep the output pipes open: wait a little, not for it.
    if (outputEnded.length > 0) await Promise.race([Promise.all(outputEnded), delay(500)]);
    const mem = sampler ? await sampler.stop() : { peakRssBytes: null, samples: 0, method: 'none' as const };
    const cpu = signal === null ? parseTimes(timesText) : null;
    if (timedOut) killGroup(child.pid, 'SIGKILL'); // leftovers of the group
    return {
      wallMs: Math.round(wallMs * 10) / 10,
      userMs: cpu?.userMs ?? null,
      sysMs: cpu?.sysMs ?? null,
      peakRssBytes: mem.peakRssBytes,
      exitCode: code,
      signal,
      timedOut,
      interrupted,
      logPath: o.logPath,
      rssMethod: mem.method,
      rssSamples: mem.samples,
    };
  } catch (err) {
    if (sampler) await sampler.stop();
    throw err;
  } finally {
    removeForwarders();
    if (timeout) clearTimeout(timeout);
    if (killTimer) clearTimeout(killTimer);
    log?.end();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
