import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from '../../src/ipc/client.js';
import { daemonArgv } from '../../src/daemon/launch.js';

/** A private temp dir under os.tmpdir(); `dispose()` removes it. */
export function tempRoot(prefix: string): { dir: string; dispose(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vc-bench-${prefix}-`));
  fs.chmodSync(dir, 0o700);
  return { dir, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface SandboxConfig {
  root: string;
  endpoint?: string;
  maxSize?: string;
  models?: Record<string, string>;
  /** Default `<root>/cache`. */
  cacheDir?: string;
}

/** Writes a cache-config.json for a sandboxed daemon; returns its path and the socket path. */
export function writeConfig(c: SandboxConfig): { configPath: string; socketPath: string; cacheDir: string } {
  const configPath = path.join(c.root, 'cache-config.json');
  const socketPath = path.join(c.root, 'run', 'daemon.sock');
  const cacheDir = c.cacheDir ?? path.join(c.root, 'cache');
  fs.mkdirSync(c.root, { recursive: true, mode: 0o700 });
  fs.writeFileSync(
    configPath,
    JSON.stringify({
      cacheDir,
      socketPath,
      maxSize: c.maxSize ?? '20GB',
      origins: c.endpoint ? [{ type: 'huggingface', endpoint: c.endpoint }] : [],
      models: c.models ?? {},
      log: { level: 'warn', file: path.join(c.root, 'daemon.log') },
    }),
  );
  return { configPath, socketPath, cacheDir };
}

/** Environment for CLI/daemon children: the sandbox config, no HF token, not offline. */
export function sandboxEnv(configPath: string): NodeJS.ProcessEnv {
  return { ...process.env, VOCORIZE_CACHE_CONFIG: configPath, HF_TOKEN: '', HF_HUB_OFFLINE: '' };
}

export interface DaemonProc {
  pid: number;
  socketPath: string;
  child: ChildProcess;
  /** Time from spawn to the first `hello` answer, ms. */
  readyMs: number;
  stop(): Promise<void>;
}

/** Spawns the daemon as autostart does (`node <flags> dist/cli/main.js daemon run`) and waits until it answers `hello`. */
export async function startDaemonProc(distDir: string, configPath: string, socketPath: string): Promise<DaemonProc> {
  const t0 = performance.now();
  // Exactly the command line autostart, launchd and systemd use (src/daemon/launch.ts).
  const argv = daemonArgv({ script: path.join(distDir, 'cli/main.js'), configPath });
  const child = spawn(process.execPath, argv, {
    env: sandboxEnv(configPath),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const c = await connect({ socketPath, timeoutMs: 1_000 });
      await c.call('hello', { client: 'bench' });
      await c.close();
      break;
    } catch {
      if (exited || Date.now() > deadline) throw new Error(`daemon did not start: ${stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  const readyMs = performance.now() - t0;
  return {
    pid: child.pid!,
    socketPath,
    child,
    readyMs,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

/** A `Vm*` field of /proc/<pid>/status in bytes, or NaN where /proc is missing. */
function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Resident set size of a process from /proc (bytes), or NaN where /proc is missing. */
export function rssBytes(pid: number): number {
  return procStatusBytes(pid, 'VmRSS');
}

/**
 * Peak RSS of a process (VmHWM, bytes) since it started or since the last successful `resetPeakRss`;
 * NaN where /proc is missing.
 */
export function peakRssBytes(pid: number): number {
  return procStatusBytes(pid, 'VmHWM');
}

/** Resets a process's VmHWM to its current RSS (`5` into /proc/<pid>/clear_refs); false where that is refused. */
export function resetPeakRss(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * CPU time a process (all its threads) has used, ms: utime + stime of /proc/<pid>/stat at 100 ticks a
 * second; NaN where /proc is missing.
 */
export function cpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; `stop()` gives the largest sample (bytes). */
export function sampleRss(pid: number, everyMs = 20): { stop(): number } {
  let max = rssBytes(pid);
  const t = setInterval(() => {
    const r = rssBytes(pid);
    if (r > max || Number.isNaN(max)) max = r;
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      const r = rssBytes(pid);
      return r > max ? r : max;
    },
  };
}

/**
 * Runs a compiled child script of this suite (`children/<name>.js`) with a JSON argument and returns the
 * JSON document it prints as its last stdout line.
 */
export function runChild<T>(name: string, arg: unknown, env?: NodeJS.ProcessEnv): Promise<T> {
  const script = fileURLToPath(new URL(`./children/${name}.js`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(arg)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: env ?? process.env,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`child ${name} exited ${code}: ${err.slice(-2000)}`));
      const last = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`child ${name} printed no JSON: ${out.slice(-500)} ${err.slice(-500)}`));
      }
    });
  });
}

/** Wall time of one whole process, ms. Rejects on a non-zero exit. */
export function timeProcess(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: env ?? process.env });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-1000)}`));
      else resolve(ms);
    });
  });
}
