import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { rawCall } from '../e2e/daemon-helpers.js';
import { CLI, daemonPid, makeSandbox, waitFor, type Sandbox } from '../e2e/harness.js';

/**
 * A daemon under a low open-file limit (hard limit 300, so Node cannot raise it): it serves as many
 * connections as the limit leaves room for, answers the rest E_BUSY (retryable) and keeps running.
 */

const HARD_LIMIT = 300;
const CONNECTIONS = 150;
let sb: Sandbox;

beforeAll(async () => {
  sb = makeSandbox({ config: {} });
  const r = spawnSync('/bin/sh', ['-c', `ulimit -n ${HARD_LIMIT} && exec "$0" "$1" daemon start`, process.execPath, CLI], {
    env: sb.env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(r.status, r.stderr).toBe(0);
});

afterAll(async () => {
  await sb?.cleanup();
});

interface Outcome {
  socket: net.Socket;
  frames: string[];
  closed: boolean;
}

function open(socketPath: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const o: Outcome = { socket: net.connect(socketPath), frames: [], closed: false };
    let buf = '';
    o.socket.setEncoding('utf8');
    o.socket.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\f')) >= 0) {
        o.frames.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    o.socket.on('error', () => undefined);
    o.socket.on('close', () => (o.closed = true));
    o.socket.once('connect', () => resolve(o));
    o.socket.once('error', () => resolve(o));
  });
}

describe('a low open-file limit', () => {
  it(`${CONNECTIONS} connections against a hard limit of ${HARD_LIMIT}: the excess gets E_BUSY, the daemon keeps serving`, async () => {
    const pid = daemonPid(sb.cacheDir);
    expect(pid).not.toBeNull();
    const limits = (await import('node:fs')).readFileSync(`/proc/${pid}/limits`, 'utf8').match(/^Max open files\s+(\d+)/m);
    if (limits) expect(Number(limits[1])).toBe(HARD_LIMIT);
    const conns: Outcome[] = [];
    try {
      for (let i = 0; i < CONNECTIONS; i++) conns.push(await open(sb.socketPath));
      await waitFor(() => conns.filter((c) => c.closed).length >= CONNECTIONS - 100, 30_000, 'the excess connections to be refused');
      const refused = conns.filter((c) => c.closed);
      for (const c of refused) {
        expect(c.frames).toHaveLength(1);
        const msg = JSON.parse(c.frames[0]!) as { type: string; data: { id: null; error: { code: string; retryable: boolean } } };
        expect(msg.data.id).toBeNull();
        expect(msg.data.error).toMatchObject({ code: ErrorCodes.BUSY, retryable: true });
      }
      // Those accepted are served.
      const open0 = conns.find((c) => !c.closed)!;
      open0.socket.write(`${JSON.stringify({ type: 'request', data: { id: 1, method: 'hello', params: {} } })}\f`);
      await waitFor(() => open0.frames.length === 1, 10_000, 'hello on an accepted connection');
    } finally {
      for (const c of conns) c.socket.destroy();
    }
    expect(daemonPid(sb.cacheDir)).toBe(pid);
    await waitFor(async () => 'result' in (await rawCall(sb.socketPath, 'hello').catch(() => ({}))), 10_000, 'hello on a new connection');
    const st = await sb.cli(['--json', 'daemon', 'status']);
    expect(st.json<{ running: boolean; pid: number }>()).toMatchObject({ running: true, pid });
  });
});
