import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLines, rawCall } from '../e2e/daemon-helpers.js';
import { daemonPid, makeSandbox, waitFor, type Sandbox } from '../e2e/harness.js';

/**
 * The daemon's socket file removed or replaced behind it (a cleanup script, `rm -rf run/`): the daemon
 * notices on its periodic check and listens again on the same path; a connection open before keeps
 * working; a path taken by a file that is not a socket is never replaced.
 */

let sb: Sandbox;

beforeAll(async () => {
  sb = makeSandbox({ config: {} });
  const r = await sb.cli(['daemon', 'start']);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await sb?.cleanup();
});

async function helloAnswers(): Promise<boolean> {
  try {
    return 'result' in (await rawCall(sb.socketPath, 'hello'));
  } catch {
    return false;
  }
}

/** Leaves a stale socket at `p`: a process that listened there and was SIGKILLed (nothing unlinked it). */
async function plantStaleSocket(p: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(p)}, () => console.log('up'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  child.kill('SIGKILL');
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
}

describe('socket file removed or replaced', () => {
  it('the daemon listens again on the same path (repeated: removed, directory removed, stale socket)', async () => {
    const pid = daemonPid(sb.cacheDir);
    expect(pid).not.toBeNull();
    expect(await helloAnswers()).toBe(true);
    const cases: Array<[string, () => Promise<void>]> = [
      ['removed', async () => fs.unlinkSync(sb.socketPath)],
      ['directory removed', async () => fs.rmSync(path.dirname(sb.socketPath), { recursive: true, force: true })],
      [
        'stale socket',
        async () => {
          fs.unlinkSync(sb.socketPath);
          await plantStaleSocket(sb.socketPath);
        },
      ],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [what, damage] of cases) {
        const restoredBefore = logLines(sb, /listening on it again/).length;
        await damage();
        expect(await helloAnswers(), what).toBe(false);
        await waitFor(helloAnswers, 20_000, `the daemon to listen again after: ${what}`);
        expect(daemonPid(sb.cacheDir), what).toBe(pid);
        expect(fs.lstatSync(sb.socketPath).mode & 0o777).toBe(0o600);
        expect(fs.statSync(path.dirname(sb.socketPath)).mode & 0o777).toBe(0o700);
        await waitFor(() => logLines(sb, /listening on it again/).length > restoredBefore, 10_000, 'the log line');
      }
    }
    const st = await sb.cli(['--json', 'daemon', 'status']);
    expect(st.json<{ running: boolean; pid: number }>()).toMatchObject({ running: true, pid });
  });

  it('a path taken by a regular file is left alone and logged; removing the file lets the daemon listen again', async () => {
    fs.unlinkSync(sb.socketPath);
    fs.writeFileSync(sb.socketPath, 'not a socket');
    await waitFor(() => logLines(sb, /socket path taken by something else/).length > 0, 20_000, 'the daemon to notice');
    expect(fs.readFileSync(sb.socketPath, 'utf8')).toBe('not a socket');
    fs.unlinkSync(sb.socketPath);
    await waitFor(helloAnswers, 20_000, 'the daemon to listen again');
  });
});
