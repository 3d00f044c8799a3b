import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Spawns the real built CLI (dist/) as a child process. Integration tests use nothing else. */
export const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  json<T = Record<string, unknown>>(): T;
}

export interface Sandbox {
  root: string;
  cacheDir: string;
  socketPath: string;
  configPath: string;
  env: NodeJS.ProcessEnv;
  writeConfig(extra?: Record<string, unknown>): void;
  cli(args: string[], opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string }): Promise<CliResult>;
  spawnCli(args: string[], opts?: { env?: NodeJS.ProcessEnv }): ChildProcess;
  /** Stops any daemon of this sandbox (SIGKILL if it does not answer) and removes the tree. */
  cleanup(): Promise<void>;
}

/** What a sandbox's config points at: the Hub endpoint, model aliases, and fields over the defaults. */
export interface SandboxOptions {
  endpoint?: string;
  models?: Record<string, string>;
  config?: Record<string, unknown>;
}

export function makeSandbox(opts: SandboxOptions = {}): Sandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-e2e-'));
  fs.chmodSync(root, 0o700);
  const cacheDir = path.join(root, 'cache');
  const socketPath = path.join(root, 'run', 'd.sock');
  const configPath = path.join(root, 'cache-config.json');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: path.join(root, 'home'),
    XDG_CONFIG_HOME: path.join(root, 'home', '.config'),
    XDG_CACHE_HOME: path.join(root, 'home', '.cache'),
    HF_HOME: path.join(root, 'home', '.cache', 'huggingface'),
    VOCORIZE_CACHE_CONFIG: configPath,
    VOCORIZE_CACHE_RUN: '',
    VOCORIZE_CACHE_CLIENT: '',
    HF_TOKEN: '',
    HF_ENDPOINT: '',
    HF_HUB_OFFLINE: '',
    CI: 'true',
  };
  for (const k of ['VOCORIZE_CACHE_DIR', 'VOCORIZE_CACHE_SOCKET', 'HUGGING_FACE_HUB_TOKEN']) delete env[k];

  /** CLI processes started with spawnCli (killed first by cleanup). */
  const background: ChildProcess[] = [];
  const sandbox: Sandbox = {
    root,
    cacheDir,
    socketPath,
    configPath,
    env,
    writeConfig(extra = {}) {
      const cfg = {
        cacheDir,
        socketPath,
        maxSize: '1GB',
        origins: opts.endpoint ? [{ type: 'huggingface', endpoint: opts.endpoint }] : [],
        models: opts.models ?? {},
        download: { concurrency: 4, retries: 2, stallTimeout: '5s', retryBase: '10ms', retryMax: '100ms' },
        log: { level: 'info', file: path.join(root, 'daemon.log') },
        ...opts.config,
        ...extra,
      };
      fs.writeFileSync(configPath, JSON.stringify(cfg, null, 2));
    },
    cli(args, o = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [CLI, ...args], { env: { ...env, ...o.env }, stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`cache-manager ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
        }, o.timeoutMs ?? 30_000);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({
            code,
            stdout,
            stderr,
            json<T>() {
              try {
                return JSON.parse(stdout) as T;
              } catch {
                throw new Error(`stdout of cache-manager ${args.join(' ')} is not JSON:\n${stdout}\nstderr: ${stderr}`);
              }
            },
          });
        });
        child.stdin.end(o.input ?? '');
      });
    },
    spawnCli(args, o = {}) {
      const child = spawn(process.execPath, [CLI, ...args], { env: { ...env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
      background.push(child);
      return child;
    },
    async cleanup() {
      // A background CLI still running could autostart a daemon after the stop below.
      for (const c of background.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      const pid = daemonPid(cacheDir);
      if (pid) {
        await sandbox.cli(['daemon', 'stop'], { timeoutMs: 20_000 }).catch(() => undefined);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  sandbox.writeConfig();
  return sandbox;
}

/** The pid recorded by the daemon holding the cache lock, if it is alive. */
export function daemonPid(cacheDir: string): number | null {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(cacheDir, 'cache.lock.json'), 'utf8')) as { pid: number; role: string };
    if (info.role !== 'daemon') return null;
    process.kill(info.pid, 0);
    return info.pid;
  } catch {
    return null;
  }
}

export async function waitFor(pred: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
