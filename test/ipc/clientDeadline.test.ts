import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CacheError } from '../../src/errors.js';
import { connect, DEADLINE_EXPIRED } from '../../src/ipc/client.js';
import { parseRequest } from '../../src/ipc/protocol.js';
import { createServer, type TransportServer } from '../../src/ipc/transport.js';

/**
 * Client call deadlines against a server that never answers: `get` streams progress events (25, then
 * stops), everything else gets silence. A total deadline ends a call however much progress flows; an
 * idle deadline is restarted by each progress event and ends the call only once progress stops.
 */

let dir: string;
let server: TransportServer;
const timers: NodeJS.Timeout[] = [];

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-'));
  const socketPath = path.join(dir, 's.sock');
  server = await createServer({
    socketPath,
    frameLimitBytes: 1024 * 1024,
    onRequest(raw, conn) {
      const req = parseRequest(raw);
      if (!req.ok || req.method !== 'get') return;
      let n = 0;
      const t = setInterval(() => {
        if (n === 25) return clearInterval(t);
        conn.send('progress', { id: req.id, doneBytes: ++n, totalBytes: 25 });
      }, 60);
      timers.push(t);
    },
  });
});
afterEach(async () => {
  for (const t of timers.splice(0)) clearInterval(t);
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<CacheError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CacheError);
  return err as CacheError;
}

describe('call deadlines', () => {
  it('a silent call ends at its total deadline: E_UNREACHABLE, retryable, details name the method, socket and reason', async () => {
    const c = await connect({ socketPath: path.join(dir, 's.sock') });
    const err = await rejection(c.call('status', {}, { timeoutMs: 200 }));
    expect(err.code).toBe('E_UNREACHABLE');
    expect(err.retryable).toBe(true);
    expect(err.details).toMatchObject({ method: 'status', socket: path.join(dir, 's.sock'), reason: DEADLINE_EXPIRED, idle: false, timeoutMs: 200 });
    // The connection stays usable for other calls.
    expect(c.closed).toBe(false);
    await c.close();
  });

  it('an idle deadline is restarted by each progress event: the call outlives it while progress flows and ends once progress stops', async () => {
    const c = await connect({ socketPath: path.join(dir, 's.sock') });
    let events = 0;
    const err = await rejection(c.call('get', { model: 'm', progress: true }, { idleTimeoutMs: 1000, onProgress: () => events++ }));
    // 25 events 60 ms apart span 1.5 s, longer than the 1 s idle deadline.
    expect(events).toBe(25);
    expect(err.details).toMatchObject({ method: 'get', reason: DEADLINE_EXPIRED, idle: true, timeoutMs: 1000 });
    expect(err.message).toContain('of the last progress');
    await c.close();
  });

  it('a silent call with an idle deadline ends at it', async () => {
    const c = await connect({ socketPath: path.join(dir, 's.sock') });
    const err = await rejection(c.call('verify', {}, { idleTimeoutMs: 200 }));
    expect(err.details).toMatchObject({ method: 'verify', idle: true });
    await c.close();
  });
});
