import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { ALIASES, getJson, logLines, processGone, rawCall } from './daemon-helpers.js';
import { DAEMON_NODE_FLAGS } from '../../src/daemon/launch.js';
import { CLI, daemonPid, waitFor, type Sandbox } from './harness.js';
import { hubTest } from './hubTest.js';

/** One daemon per cache dir, kill -9 recovery, daemon status/stop, config reload without restart. */

interface DaemonStatusJson {
  running: boolean;
  pid: number | null;
  socket: string;
  version: string | null;
  uptimeMs: number | null;
}

const it = hubTest.extend('sandboxOptions', { models: { 'whisper-tiny': ALIASES['whisper-tiny'] } });

/** `daemon run` in the foreground, as launchd/systemd run it. */
function runForeground(sandbox: Sandbox): { pid: number; exited: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, 'daemon', 'run'], { env: sandbox.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
  return { pid: child.pid!, exited };
}

const answers = async (socketPath: string): Promise<boolean> => {
  try {
    return (await rawCall(socketPath, 'hello')).result !== undefined;
  } catch {
    return false;
  }
};

async function daemonStatus(sandbox: Sandbox): Promise<{ code: number | null; data: DaemonStatusJson }> {
  const r = await sandbox.cli(['--json', 'daemon', 'status']);
  return { code: r.code, data: r.json<DaemonStatusJson>() };
}

describe('one daemon per cache directory', () => {
  it('`daemon status --json` has running, pid, socket, version, uptimeMs; a second `daemon run` exits non-zero naming that pid and socket and the first keeps serving; `daemon stop` stops it (exit 0) and removes the socket', async ({ sb }) => {
    const first = runForeground(sb);
    await waitFor(() => answers(sb.socketPath), 15_000, 'the foreground daemon to answer');
    const st = await daemonStatus(sb);
    expect(st.code).toBe(0);
    expect(st.data.running).toBe(true);
    const pid = st.data.pid!;
    expect(pid).toBe(first.pid);
    expect(daemonPid(sb.cacheDir)).toBe(pid);
    expect(st.data.socket).toBe(sb.socketPath);
    expect(st.data.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof st.data.uptimeMs).toBe('number');
    expect(st.data.uptimeMs).toBeGreaterThanOrEqual(0);
    expect((fs.statSync(sb.socketPath).mode & 0o777).toString(8)).toBe('600');

    const second = await runForeground(sb).exited;
    expect(second.code).not.toBe(0);
    expect(second.code).not.toBeNull();
    expect(second.stderr).toContain(`pid ${pid}`);
    expect(second.stderr).toContain(sb.socketPath);

    const after = await daemonStatus(sb);
    expect(after.data).toMatchObject({ running: true, pid });
    expect(fs.statSync(sb.socketPath).isSocket()).toBe(true);
    expect((await getJson(sb, 'whisper-tiny')).hit).toBe(false);

    const stop = await sb.cli(['--json', 'daemon', 'stop']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.json<{ stopped: boolean; pid: number }>()).toMatchObject({ stopped: true, pid });
    expect(fs.existsSync(sb.socketPath)).toBe(false);
    expect((await first.exited).code).toBe(0);
    const down = await daemonStatus(sb);
    expect(down.code).toBe(3);
    expect(down.data).toMatchObject({ running: false, pid: null, socket: sb.socketPath });
  });

  it('after kill -9, --no-autostart gives exit 3, `daemon start` replaces the stale socket and the cached model is still a hit', async ({ sb }) => {
    const miss = await getJson(sb, 'whisper-tiny');
    expect(miss.hit).toBe(false);
    const pid = daemonPid(sb.cacheDir)!;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => processGone(pid), 10_000, 'the killed daemon to be gone');
    // kill -9 leaves the socket file behind: nobody answers on it.
    expect(fs.statSync(sb.socketPath).isSocket()).toBe(true);

    const refused = await sb.cli(['--no-autostart', 'get', 'whisper-tiny']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/E_UNREACHABLE/);
    expect(refused.stdout).toBe('');

    const start = await sb.cli(['--json', 'daemon', 'start']);
    expect(start.code, start.stderr).toBe(0);
    const started = start.json<{ started: boolean; running: boolean; pid: number }>();
    expect(started).toMatchObject({ started: true, running: true });
    expect(started.pid).not.toBe(pid);
    expect(daemonPid(sb.cacheDir)).toBe(started.pid);
    if (process.platform === 'linux') {
      // The started daemon runs with the same command line launchd/systemd would use (src/daemon/launch.ts).
      const argv = fs.readFileSync(`/proc/${started.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      expect(argv.slice(1, 1 + DAEMON_NODE_FLAGS.length + 3)).toEqual([...DAEMON_NODE_FLAGS, CLI, 'daemon', 'run']);
    }

    const hit = await getJson(sb, 'whisper-tiny');
    expect(hit).toMatchObject({ hit: true, path: miss.path, commit: miss.commit });
  });

  it('the cache dir deleted behind a foreground daemon: it stops with exit 75 (restart me) instead of serving vanished paths; the next get starts afresh', async ({ sb }) => {
    const d = runForeground(sb);
    await waitFor(() => answers(sb.socketPath), 15_000, 'the foreground daemon to answer');
    const first = await getJson(sb, 'whisper-tiny');
    expect(first.hit).toBe(false);
    fs.rmSync(sb.cacheDir, { recursive: true, force: true });
    const { code } = await d.exited;
    expect(code).toBe(75);
    expect(logLines(sb, /cache directory removed/).length).toBeGreaterThan(0);
    expect(await answers(sb.socketPath)).toBe(false);

    const again = await getJson(sb, 'whisper-tiny'); // autostart on a fresh layout
    expect(again).toMatchObject({ hit: false, path: first.path });
    expect(fs.existsSync(again.path)).toBe(true);
  });
});

describe('config reload', () => {
  it('a maxSize edit changes status limitBytes without a restart; an invalid edit is ignored and the old value stays', async ({ sb }) => {
    expect((await sb.cli(['daemon', 'start'])).code).toBe(0);
    const pid = daemonPid(sb.cacheDir);
    // Asked over the socket: the CLI itself refuses to run with the invalid config this test writes.
    const limit = async () => ((await rawCall(sb.socketPath, 'status')).result as { limitBytes: number }).limitBytes;
    expect(await limit()).toBe(1_000_000_000);

    sb.writeConfig({ maxSize: '300MB' });
    await waitFor(async () => (await limit()) === 300_000_000, 15_000, 'limitBytes to follow the edited maxSize');

    const rejectedBefore = logLines(sb, /config edit rejected/).length;
    sb.writeConfig({ maxSize: 'a lot' });
    await waitFor(() => logLines(sb, /config edit rejected/).length > rejectedBefore, 15_000, 'the daemon to reject the invalid edit');
    expect(await limit()).toBe(300_000_000);
    const cli = await sb.cli(['status']);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('maxSize');
    expect(daemonPid(sb.cacheDir)).toBe(pid);
    sb.writeConfig(); // valid again, so cleanup could stop the daemon through the CLI

    // SIGTERM (what launchd and systemd send): a clean stop that removes the socket and frees the lock.
    process.kill(pid!, 'SIGTERM');
    await waitFor(() => processGone(pid!), 15_000, 'the daemon to exit on SIGTERM');
    expect(fs.existsSync(sb.socketPath)).toBe(false);
    expect(fs.existsSync(path.join(sb.cacheDir, 'cache.lock.json'))).toBe(false);
  });
});
