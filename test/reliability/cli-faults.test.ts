import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeHub } from '../../dev/fixtures/fakeHub.js';
import { ALIASES, processGone, startHub } from '../e2e/daemon-helpers.js';
import { CLI, daemonPid, makeSandbox, waitFor, type Sandbox } from '../e2e/harness.js';

/**
 * The CLI under faults: it never hangs and never strands the user. "Does not hang" is asserted as the
 * command finishing (the harness kills it after a generous bound and fails the test) with the right
 * exit code and message, in scenarios that would otherwise block forever or hide the reason.
 */

const BOUND = 60_000;

let hub: FakeHub;
let sb: Sandbox;
/** Daemons this test stopped with SIGSTOP: always continued before cleanup. */
const stopped: number[] = [];

beforeAll(async () => {
  hub = await startHub();
});
afterAll(async () => {
  await hub.close();
});
beforeEach(() => {
  sb = makeSandbox({ endpoint: hub.endpoint, models: { 'whisper-tiny': ALIASES['whisper-tiny'] } });
});
afterEach(async () => {
  for (const pid of stopped.splice(0)) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // gone
    }
  }
  await sb.cleanup();
});

async function startDaemon(extra: string[] = []): Promise<number> {
  const r = await sb.cli([...extra, 'daemon', 'start']);
  expect(r.code, r.stderr).toBe(0);
  const pid = daemonPid(sb.cacheDir);
  expect(pid).toBeGreaterThan(0);
  return pid!;
}

interface DaemonStatusJson {
  running: boolean;
  pid: number | null;
  socket: string;
  answering: boolean;
  socketMissing?: boolean;
}

describe('a daemon that does not answer', () => {
  it('stopped with SIGSTOP: status and daemon status end with exit 3 naming its pid and socket and the way out; daemon stop still stops it', async () => {
    const pid = await startDaemon();
    process.kill(pid, 'SIGSTOP');
    stopped.push(pid);

    for (const args of [['status'], ['daemon', 'status']]) {
      const r = await sb.cli(args, { timeoutMs: BOUND });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toContain(`pid ${pid}`);
      expect(r.stderr).toContain(sb.socketPath);
      expect(r.stderr).toContain('did not answer');
      expect(r.stderr).toContain(`kill -CONT ${pid}`);
      expect(r.stderr).toContain('E_UNREACHABLE');
    }

    const stop = await sb.cli(['--json', 'daemon', 'stop'], { timeoutMs: BOUND });
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.json()).toMatchObject({ stopped: true, pid });
    expect(processGone(pid)).toBe(true);
    expect(daemonPid(sb.cacheDir)).toBeNull();
  });
});

describe('a daemon whose socket file was deleted', () => {
  it('daemon status reports it running by its pid, get says the socket is gone (exit 3), daemon stop stops it and frees the cache', async () => {
    const pid = await startDaemon();
    fs.rmSync(sb.socketPath);

    const st = await sb.cli(['--json', 'daemon', 'status'], { timeoutMs: BOUND });
    const d = st.json<DaemonStatusJson>();
    expect(d).toMatchObject({ running: true, pid, socket: sb.socketPath });
    // A daemon that re-creates its socket is answering again; one that does not is reported as such.
    if (!d.answering) {
      expect(st.code).toBe(3);
      expect(d.socketMissing).toBe(true);
    } else {
      expect(st.code).toBe(0);
    }

    const get = await sb.cli(['get', 'whisper-tiny'], { timeoutMs: BOUND });
    if (get.code !== 0) {
      expect(get.code, get.stderr).toBe(3);
      expect(get.stderr).toContain(`daemon pid ${pid} holds the cache`);
      expect(get.stderr).toMatch(/its socket .* is (gone|not listening)/);
      expect(get.stderr).toContain('cache-manager daemon stop');
    }

    const stop = await sb.cli(['--json', 'daemon', 'stop'], { timeoutMs: BOUND });
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.json()).toMatchObject({ stopped: true, wasRunning: true, pid });
    expect(processGone(pid)).toBe(true);
    expect(daemonPid(sb.cacheDir)).toBeNull();

    const after = await sb.cli(['--json', 'daemon', 'status']);
    expect(after.code).toBe(3);
    expect(after.json<DaemonStatusJson>()).toMatchObject({ running: false, pid: null });
  });
});

describe('daemon stop', () => {
  it('returns only once the daemon process has exited', async () => {
    const pid = await startDaemon();
    const stop = await sb.cli(['daemon', 'stop'], { timeoutMs: BOUND });
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout.trim()).toBe(`stopped pid ${pid}`);
    expect(processGone(pid)).toBe(true);
  });
});

describe('autostart into a cache another daemon holds', () => {
  it("prints the child's E_LOCKED naming the holder's pid and socket instead of waiting for an answer that cannot come", async () => {
    const other = path.join(sb.root, 'run', 'other.sock');
    const pid = await startDaemon(['--socket', other]);

    const get = await sb.cli(['get', 'whisper-tiny'], { timeoutMs: BOUND });
    expect(get.code, get.stderr).toBe(1);
    expect(get.stderr).toContain('E_LOCKED');
    expect(get.stderr).toContain(`pid ${pid}`);
    expect(get.stderr).toContain(other);
    expect(get.stderr).not.toContain('did not answer');
    expect(get.stdout).toBe('');

    const stop = await sb.cli(['--socket', other, 'daemon', 'stop'], { timeoutMs: BOUND });
    expect(stop.code, stop.stderr).toBe(0);
  });
});

/** Starts the stand-in for a stopping daemon on the sandbox socket; resolves once it listens. */
async function shuttingDownDaemon(): Promise<{ requests: () => string[]; exited: Promise<void> }> {
  fs.mkdirSync(path.dirname(sb.socketPath), { recursive: true, mode: 0o700 });
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'shuttingDownDaemon.mjs'), sb.socketPath], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await waitFor(() => out.includes('ready'), 15_000, 'the stand-in daemon to listen');
  return { requests: () => out.split('\n').filter((l) => l.startsWith('request ')), exited };
}

describe('E_SHUTTING_DOWN', () => {
  it('an idempotent call (status) is sent once more, to the next daemon, which autostart starts', async () => {
    const old = await shuttingDownDaemon();
    const r = await sb.cli(['--json', 'status'], { timeoutMs: BOUND });
    expect(r.code, r.stderr).toBe(0);
    expect(old.requests()).toEqual(['request status']);
    const pid = daemonPid(sb.cacheDir);
    expect(pid).toBeGreaterThan(0);
    expect(r.json<{ daemon: { pid: number; running: boolean } }>().daemon).toMatchObject({ pid, running: true });
    await old.exited;
  });

  it('a call that must not run twice (run start) is not retried: E_SHUTTING_DOWN reaches the user', async () => {
    const old = await shuttingDownDaemon();
    const r = await sb.cli(['run', 'start'], { timeoutMs: BOUND });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('E_SHUTTING_DOWN');
    expect(old.requests()).toEqual(['request runStart']);
    expect(daemonPid(sb.cacheDir)).toBeNull();
    await old.exited;
  });
});

describe('a closed stdout', () => {
  it('`list` into a reader that has gone (list | head -c 0) ends quietly with exit 0', async () => {
    await startDaemon();
    for (const args of [['--json', 'list'], ['status']]) {
      const child = spawn(process.execPath, [CLI, ...args], { env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`${args.join(' ')} did not end: ${stderr}`));
        }, BOUND);
        child.on('close', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      expect(code, stderr).toBe(0);
      expect(stderr).toBe('');
    }
  });
});

describe('user-supplied strings in human output', () => {
  it('a client label with a newline and an escape sequence stays one escaped cell in stats --by client; --json keeps it exact', async () => {
    const evil = 'evil\nlabel\u001b[31m';
    const g = await sb.cli(['--json', 'get', 'whisper-tiny', '--client', evil]);
    expect(g.code, g.stderr).toBe(0);

    const human = await sb.cli(['stats', '--by', 'client']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).not.toContain('\u001b');
    const row = human.stdout.split('\n').find((l) => l.includes('evil'));
    expect(row).toBeDefined();
    expect(row).toContain('evil\\nlabel\\u001b[31m');

    const json = await sb.cli(['--json', 'stats', '--by', 'client']);
    expect(json.code, json.stderr).toBe(0);
    const rows = json.json<{ breakdown: Array<Record<string, unknown>> }>().breakdown;
    expect(rows.some((r) => Object.values(r).includes(evil))).toBe(true);
  });

  it('a run id is validated alike by get and run end: one with a control character is refused by both; a started one is accepted by both', async () => {
    const bad = 'run\nx\u001b[2J';
    const get = await sb.cli(['get', 'whisper-tiny', '--run', bad]);
    const end = await sb.cli(['run', 'end', bad]);
    for (const r of [get, end]) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('E_BAD_REQUEST');
      expect(r.stderr).toContain('run id must be one line of printable text');
      expect(r.stderr).not.toContain('\u001b');
    }
    expect(get.stdout).toBe('');

    const started = await sb.cli(['run', 'start']);
    expect(started.code, started.stderr).toBe(0);
    const id = started.stdout.trim();
    expect((await sb.cli(['get', 'whisper-tiny', '--run', id])).code).toBe(0);
    const ended = await sb.cli(['run', 'end', id]);
    expect(ended.code, ended.stderr).toBe(0);
    expect(ended.stdout.trim()).toBe(`run ${id} ended`);
  });
});
