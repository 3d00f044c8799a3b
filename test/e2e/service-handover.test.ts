import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT_NO_RESTART } from '../../src/daemon/launch.js';
import { processGone } from './daemon-helpers.js';
import { CLI, daemonPid, makeSandbox, waitFor, type Sandbox } from './harness.js';

/**
 * A launchd/systemd daemon whose cache an autostarted daemon holds takes it over; one whose cache
 * another service (or a daemon run by hand) holds exits with a code its manager does not restart.
 * `--managed-by` is what the units pass (serviceUnits.ts); the lock json records it.
 */

let sb: Sandbox;
beforeEach(() => {
  sb = makeSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

interface LockJson {
  pid: number;
  role: string;
  managedBy?: string | null;
}
const lockJson = (): LockJson => JSON.parse(fs.readFileSync(path.join(sb.cacheDir, 'cache.lock.json'), 'utf8')) as LockJson;

/** `daemon run --managed-by <m>` as the service manager runs it, stderr collected. */
function serviceDaemon(managedBy: string): { pid: number; exited: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, 'daemon', 'run', '--managed-by', managedBy], { env: sb.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
  return { pid: child.pid!, exited };
}

describe('hand-over between an autostarted daemon and the service', () => {
  it('the service daemon asks the autostarted one to shut down and takes the cache; a second service daemon exits without a restart loop', async () => {
    const started = await sb.cli(['--json', 'daemon', 'start']);
    expect(started.code, started.stderr).toBe(0);
    const first = lockJson();
    expect(first).toMatchObject({ role: 'daemon', managedBy: 'autostart' });

    const svc = serviceDaemon('systemd');
    await waitFor(() => daemonPid(sb.cacheDir) === svc.pid, 30_000, 'the service daemon to hold the cache');
    await waitFor(() => processGone(first.pid), 15_000, 'the autostarted daemon to exit');
    expect(lockJson()).toMatchObject({ pid: svc.pid, role: 'daemon', managedBy: 'systemd' });
    const st = await sb.cli(['--json', 'daemon', 'status']);
    expect(st.json()).toMatchObject({ running: true, answering: true, pid: svc.pid });
    const log = fs.readFileSync(path.join(sb.root, 'daemon.log'), 'utf8');
    expect(log).toContain('took the cache over from the autostarted daemon');

    // Held by a service: never stopped. systemd gets the code listed in RestartPreventExitStatus, launchd 0.
    const second = await serviceDaemon('systemd').exited;
    expect(second.code).toBe(EXIT_NO_RESTART);
    expect(second.stderr).toContain(`pid ${svc.pid}`);
    expect(second.stderr).toContain('managed by systemd');
    const third = await serviceDaemon('launchd').exited;
    expect(third.code).toBe(0);
    expect(third.stderr).toContain('[E_LOCKED]');
    expect(fs.readFileSync(path.join(sb.root, 'daemon.log'), 'utf8')).toMatch(/not starting: .*exiting so that launchd does not restart this daemon/);

    // A daemon the CLI starts still just loses to the holder (exit 1), and the service keeps serving.
    const lost = await serviceDaemon('autostart').exited;
    expect(lost.code).toBe(1);
    expect(lost.stderr).toContain('[E_LOCKED]');
    expect(daemonPid(sb.cacheDir)).toBe(svc.pid);

    const stop = await sb.cli(['daemon', 'stop']);
    expect(stop.code, stop.stderr).toBe(0);
    expect((await svc.exited).code).toBe(0);
  });

  it('a service daemon does not stop a daemon run by hand: it exits, naming it', async () => {
    const byHand = spawn(process.execPath, [CLI, 'daemon', 'run'], { env: sb.env, stdio: 'ignore' });
    try {
      await waitFor(() => daemonPid(sb.cacheDir) === byHand.pid, 20_000, 'the daemon run by hand to hold the cache');
      expect(lockJson().managedBy).toBeNull();
      const svc = await serviceDaemon('systemd').exited;
      expect(svc.code).toBe(EXIT_NO_RESTART);
      expect(svc.stderr).toContain(`pid ${byHand.pid}`);
      expect(svc.stderr).toContain('started by hand');
      expect(daemonPid(sb.cacheDir)).toBe(byHand.pid);
    } finally {
      byHand.kill('SIGTERM');
    }
  });
});
