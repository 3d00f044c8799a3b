import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startFakeHub, type FakeHub } from '../../dev/fixtures/fakeHub.js';
import { filesUnder, mlxRepo, whisperKitRepo } from '../../dev/fixtures/generate.js';
import { daemonPid, type Sandbox } from './harness.js';

/** Shared pieces of the daemon/CLI integration tests: the fixture Hub, aliases, a lease holder, raw frames. */

export const WK = 'argmaxinc/whisperkit-coreml';
export const ALIASES = {
  'whisper-tiny': `${WK}@main:openai_whisper-tiny`,
  'whisper-base': `${WK}@main:openai_whisper-base`,
  'mlx-tiny': 'mlx-community/whisper-tiny',
} as const;

/** The compiled TypeScript client, as a test script (or Swift app) would use it. */
export const CLIENT_JS = path.resolve(import.meta.dirname, '../../dist/ipc/client.js');

export function startHub(): Promise<FakeHub> {
  return startFakeHub({ repos: [whisperKitRepo(), mlxRepo('mlx-community/whisper-tiny')], treePageSize: 1000 });
}

/** Files and bytes the fixture serves for a WhisperKit variant (e.g. `openai_whisper-tiny`). */
export function variantFiles(variant: string): { count: number; bytes: number } {
  const files = filesUnder(whisperKitRepo(), variant);
  return { count: files.length, bytes: files.reduce((n, f) => n + f.bytes.byteLength, 0) };
}

export function mlxBytes(): number {
  return mlxRepo('mlx-community/whisper-tiny').files.reduce((n, f) => n + f.bytes.byteLength, 0);
}

/** GET requests for file content of the WhisperKit repo (one per file fetched; CDN hops not counted). */
export const wkFileGets = (hub: FakeHub): number => hub.counters.requests(`/${WK}/resolve`, 'GET');

export interface ListedModel {
  model: string;
  path: string;
  state: string;
  leased: boolean;
  bytes: number;
  subfolder: string | null;
  repo: string;
}

export async function listModels(sb: Sandbox): Promise<ListedModel[]> {
  const r = await sb.cli(['--json', 'list']);
  if (r.code !== 0) throw new Error(`list exited ${r.code}: ${r.stderr}`);
  return r.json<{ models: ListedModel[] }>().models;
}

export interface GetJson {
  path: string;
  hit: boolean;
  model: string;
  commit: string;
  files: number;
  bytes: number;
}

export async function getJson(sb: Sandbox, model: string, env?: NodeJS.ProcessEnv): Promise<GetJson> {
  const r = await sb.cli(['--json', 'get', model], env ? { env } : {});
  if (r.code !== 0) throw new Error(`get ${model} exited ${r.code}: ${r.stderr}`);
  return r.json<GetJson>();
}

/**
 * A separate node process holding a lease over a live connection (dist/ipc/client.js): it calls
 * `get`, prints the result as one JSON line and stays connected until its stdin closes.
 */
export interface LeaseHolder {
  child: ChildProcess;
  result: Promise<GetJson & { lease: { id: string } | null }>;
  /** Closes the connection (ends stdin; the script closes its client and exits). */
  release(): Promise<void>;
}

export function holdLease(socketPath: string, model: string): LeaseHolder {
  const script = `
    import { connect } from ${JSON.stringify(CLIENT_JS)};
    const c = await connect({ socketPath: ${JSON.stringify(socketPath)} });
    const r = await c.call('get', { model: ${JSON.stringify(model)}, client: 'lease-holder' });
    process.stdout.write(JSON.stringify(r) + '\\n');
    process.stdin.resume();
    process.stdin.on('end', async () => { await c.close(); process.exit(0); });
    setInterval(() => {}, 1 << 30);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const result = new Promise<GetJson & { lease: { id: string } | null }>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as GetJson & { lease: { id: string } | null });
    });
    child.on('exit', (code) => reject(new Error(`lease holder exited ${code} before answering: ${err}`)));
  });
  return {
    child,
    result,
    release: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin!.end();
      }),
  };
}

/** A raw connection speaking `\f`-separated JSON frames over node:net. */
export interface RawConn {
  send(text: string): void;
  /** The next parsed frame (a JSON message from the daemon). */
  next(timeoutMs?: number): Promise<{ type: string; data: Record<string, unknown> }>;
  /** Resolves when the daemon has closed the connection. */
  ended: Promise<void>;
  close(): void;
}

export function rawConnect(socketPath: string): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    let buf = '';
    const frames: string[] = [];
    const waiters: Array<(f: string) => void> = [];
    let resolveEnded!: () => void;
    const ended = new Promise<void>((r) => (resolveEnded = r));
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\f')) >= 0) {
        const f = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const w = waiters.shift();
        if (w) w(f);
        else frames.push(f);
      }
    });
    socket.on('close', () => resolveEnded());
    socket.on('error', () => resolveEnded());
    socket.once('connect', () =>
      resolve({
        send: (text) => void socket.write(text),
        next: (timeoutMs = 10_000) =>
          new Promise((res, rej) => {
            const parse = (f: string) => res(JSON.parse(f) as { type: string; data: Record<string, unknown> });
            const f = frames.shift();
            if (f !== undefined) return parse(f);
            const timer = setTimeout(() => rej(new Error(`no frame within ${timeoutMs} ms`)), timeoutMs);
            waiters.push((x) => {
              clearTimeout(timer);
              parse(x);
            });
          }),
        ended,
        close: () => socket.destroy(),
      }),
    );
    socket.once('error', reject);
  });
}

/** Lines of the daemon's pino log (JSON) whose `msg` matches. */
export function logLines(sb: Sandbox, msg: RegExp): Array<Record<string, unknown>> {
  let text = '';
  try {
    text = fs.readFileSync(path.join(sb.root, 'daemon.log'), 'utf8');
  } catch {
    return [];
  }
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (typeof o.msg === 'string' && msg.test(o.msg)) out.push(o);
    } catch {
      // a partial line
    }
  }
  return out;
}

/** One request over a raw connection; resolves with the response's `data` ({id, result} or {id, error}). */
export async function rawCall(socketPath: string, method: string, params: unknown = {}): Promise<Record<string, unknown>> {
  const c = await rawConnect(socketPath);
  try {
    c.send(`${JSON.stringify({ type: 'request', data: { id: 1, method, params } })}\f`);
    for (;;) {
      const m = await c.next();
      if (m.type === 'response') return m.data;
    }
  } finally {
    c.close();
  }
}

/**
 * The process has exited. A zombie counts: it holds no fds (so no lock and no socket), and a detached
 * daemon's zombie waits for PID 1 to reap it, which can take a while in a container.
 */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** No live daemon holds the cache (a stopped daemon may linger as a zombie until PID 1 reaps it). */
export function noDaemon(cacheDir: string): boolean {
  const pid = daemonPid(cacheDir);
  return pid === null || processGone(pid);
}
