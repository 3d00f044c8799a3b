import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import type { FlowLimits } from '../../src/ipc/flowLimits.js';
import { createServer, type ServerConnection, type TransportServer } from '../../src/ipc/transport.js';
import { frame, RawPeer } from './helpers.js';

/**
 * The socket server under hostile or unlucky clients: requests in flight and unsent replies are bounded
 * per connection and in total (by not reading, never by refusing), one busy connection does not hold up
 * another, the connection cap answers E_BUSY, idle connections make room, whitespace frames are ignored.
 */

let dir: string;
let sock: string;
const cleanups: Array<() => unknown> = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-flow-'));
  sock = path.join(dir, 'run', 'd.sock');
});

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Seen {
  conn: ServerConnection;
  id: number | string;
  method: string;
  params: Record<string, unknown>;
}

/** A server that records every request and lets the test decide when and how to answer. */
async function serve(
  limits: Partial<FlowLimits>,
  answer: (req: Seen) => void,
  extra: { holds?(conn: ServerConnection): boolean; onDisconnect?(conn: ServerConnection): void } = {},
): Promise<{ server: TransportServer; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = await createServer({
    socketPath: sock,
    frameLimitBytes: 1024 * 1024,
    limits,
    holds: extra.holds,
    onDisconnect: extra.onDisconnect,
    onRequest(raw, conn) {
      const r = raw as { id: number | string; method: string; params?: Record<string, unknown> };
      const req = { conn, id: r.id, method: r.method, params: r.params ?? {} };
      seen.push(req);
      answer(req);
    },
  });
  cleanups.push(() => server.close());
  return { server, seen };
}

async function peer(): Promise<RawPeer> {
  const p = await RawPeer.connect(sock);
  cleanups.push(() => p.close());
  return p;
}

const request = (id: number | string, method = 'status', params: Record<string, unknown> = {}): string => frame('request', { id, method, params });
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await turn();
}
/** Waits (event-loop turns, bounded by a generous timeout) until `pred` holds. */
async function until(pred: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
/** Waits until `count()` has not changed across 50 ms of turns: the server stopped taking requests. */
async function settles(count: () => number): Promise<number> {
  let last = -1;
  while (count() !== last) {
    last = count();
    await new Promise((r) => setTimeout(r, 50));
    await turns(20);
  }
  return last;
}

describe('whitespace frames', () => {
  it('a frame of JSON whitespace between form feeds is ignored, not answered E_BAD_FRAME', async () => {
    await serve({}, (r) => r.conn.send('response', { id: r.id, result: { ok: true } }));
    const p = await peer();
    for (let round = 0; round < 20; round++) {
      p.write(` \f\n\f\t \r\n\f${request(round)}  \f`);
    }
    const msgs = await p.waitFor(20);
    await turns(50);
    expect(p.messages).toHaveLength(20);
    expect(msgs.every((m) => m.type === 'response' && (m.data.result as { ok: boolean }).ok)).toBe(true);
    expect(msgs.map((m) => m.data.id)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});

describe('requests in flight', () => {
  it('a connection gets at most inflightPerConnection requests handed over; the rest wait unread, then all are answered once', async () => {
    const held: Seen[] = [];
    const { seen } = await serve({ inflightPerConnection: 5 }, (r) => held.push(r));
    const p = await peer();
    let all = '';
    for (let i = 0; i < 200; i++) all += request(i);
    p.write(all);
    await until(() => seen.length >= 5, 'the first requests');
    expect(await settles(() => seen.length)).toBe(5);
    // Answer whatever is held, round after round: never more than 5 unanswered at once.
    while (p.messages.length < 200) {
      const batch = held.splice(0);
      for (const r of batch) r.conn.send('response', { id: r.id, result: { n: r.id } });
      await until(() => held.length > 0 || p.messages.length >= 200, 'more requests');
      expect(held.length).toBeLessThanOrEqual(5);
    }
    const ids = p.messages.map((m) => m.data.id as number);
    expect(new Set(ids).size).toBe(200);
    expect(seen).toHaveLength(200);
  });

  it('over all connections at most inflightTotal are handed over, but a connection with nothing in flight is still read', async () => {
    const held: Seen[] = [];
    const { seen } = await serve({ inflightPerConnection: 4, inflightTotal: 6 }, (r) => {
      if (r.method === 'hello') r.conn.send('response', { id: r.id, result: { hello: true } });
      else held.push(r);
    });
    const a = await peer();
    const b = await peer();
    for (let i = 0; i < 20; i++) a.write(request(`a${i}`));
    for (let i = 0; i < 20; i++) b.write(request(`b${i}`));
    await until(() => seen.length >= 6, 'six requests');
    expect(await settles(() => seen.length)).toBe(6);
    const c = await peer();
    c.write(request('c', 'hello'));
    await c.waitFor(1);
    expect(c.messages[0]!.data.result).toEqual({ hello: true });
    for (const r of held.splice(0)) r.conn.send('response', { id: r.id, result: {} });
    while (a.messages.length < 20 || b.messages.length < 20) {
      await until(() => held.length > 0 || (a.messages.length >= 20 && b.messages.length >= 20), 'more');
      expect(held.length).toBeLessThanOrEqual(6);
      for (const r of held.splice(0)) r.conn.send('response', { id: r.id, result: {} });
    }
  });

  it('a connection pipelining thousands of requests does not hold up another connection (repeated)', async () => {
    for (let round = 0; round < 5; round++) {
      const attackerHandled = { n: 0 };
      let attackerConn = -1;
      const { server } = await serve({}, (r) => {
        if (r.method === 'hello') return r.conn.send('response', { id: r.id, result: { hello: true } });
        attackerConn = r.conn.id;
        attackerHandled.n++;
        // Some synchronous work per request, answered on a later turn.
        JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ i, s: 'x'.repeat(20) })));
        setImmediate(() => r.conn.send('response', { id: r.id, result: { n: attackerHandled.n } }));
      });
      const attacker = await peer();
      let all = '';
      for (let i = 0; i < 5000; i++) all += request(i, 'stats');
      attacker.write(all);
      await until(() => attackerHandled.n > 0, 'the attacker to be served');
      const victim = await peer();
      victim.write(request('v', 'hello'));
      await victim.waitFor(1);
      const atReply = attackerHandled.n;
      expect(victim.messages[0]!.data.result).toEqual({ hello: true });
      expect(attackerConn).toBeGreaterThan(0);
      // Served in turns: the victim's hello is answered long before the attacker's 5000 are handled.
      expect(atReply, `round ${round}`).toBeLessThan(2500);
      await attacker.waitFor(5000, 60_000);
      expect(new Set(attacker.messages.map((m) => m.data.id)).size).toBe(5000);
      attacker.close();
      victim.close();
      await server.close();
      cleanups.length = 0;
    }
  });
});

describe('unsent replies', () => {
  const big = 'x'.repeat(16 * 1024);

  it('a client that does not read is no longer read once replyPauseBytes are queued, and gets every reply when it reads again', async () => {
    const { seen } = await serve({ replyPauseBytes: 64 * 1024 }, (r) => setImmediate(() => r.conn.send('response', { id: r.id, result: { big } })));
    const p = await peer();
    p.socket.pause();
    let all = '';
    for (let i = 0; i < 300; i++) all += request(i);
    p.write(all);
    await until(() => seen.length > 0, 'requests');
    const handled = await settles(() => seen.length);
    expect(handled).toBeLessThan(300);
    expect(p.ended).toBe(false);
    p.socket.resume();
    await p.waitFor(300, 60_000);
    expect(new Set(p.messages.map((m) => m.data.id)).size).toBe(300);
    expect(seen).toHaveLength(300);
  });

  it('past replyLimitBytes the connection is closed and onDisconnect runs (its leases end as on any disconnect)', async () => {
    const gone: number[] = [];
    const huge = 'y'.repeat(200 * 1024);
    await serve(
      { replyPauseBytes: 64 * 1024, replyLimitBytes: 256 * 1024 },
      (r) => setImmediate(() => r.conn.send('response', { id: r.id, result: { huge } })),
      { onDisconnect: (c) => gone.push(c.id) },
    );
    const p = await peer();
    p.socket.pause();
    let all = '';
    for (let i = 0; i < 16; i++) all += request(i);
    p.write(all);
    await until(() => gone.length === 1, 'the non-reading connection to be closed');
    p.socket.resume();
    await p.waitClosed();
    const q = await peer();
    q.write(request('after'));
    await q.waitFor(1);
  });

  it('past replyLimitTotalBytes over all connections, the one holding the most is closed and the others keep going', async () => {
    const gone: number[] = [];
    // One 1 MiB reply leaves at least 768 KiB queued whatever the kernel buffers, so each non-reading
    // connection holds one reply (paused after it): one is under the 1.5 MiB bound, two are over it.
    const huge = 'z'.repeat(1024 * 1024);
    const { seen } = await serve(
      { replyPauseBytes: 64 * 1024, replyLimitBytes: 64 * 1024 * 1024, replyLimitTotalBytes: 1.5 * 1024 * 1024, inflightPerConnection: 1 },
      (r) => setImmediate(() => r.conn.send('response', { id: r.id, result: { huge } })),
      { onDisconnect: (c) => gone.push(c.id) },
    );
    const a = await peer();
    const b = await peer();
    a.socket.pause();
    b.socket.pause();
    let all = '';
    for (let i = 0; i < 12; i++) all += request(i);
    a.write(all);
    await until(() => seen.length >= 1, 'a to be served');
    expect(await settles(() => seen.length)).toBe(1);
    expect(gone).toEqual([]);
    b.write(all);
    await until(() => gone.length >= 1, 'one connection to be closed');
    await settles(() => gone.length + seen.length);
    expect(gone).toHaveLength(1);
    const survivor = gone[0] === 1 ? b : a;
    survivor.socket.resume();
    await survivor.waitFor(12, 60_000);
  });
});

describe('the connection cap', () => {
  it('a connection over the cap gets E_BUSY (retryable) and is closed; the server keeps serving (repeated)', async () => {
    await serve({ maxConnections: 4, idleEvictMs: 3_600_000 }, (r) => r.conn.send('response', { id: r.id, result: { ok: true } }));
    const held = await Promise.all([peer(), peer(), peer(), peer()]);
    for (let round = 0; round < 10; round++) {
      const extra = await peer();
      await extra.waitClosed();
      expect(extra.messages).toHaveLength(1);
      const err = extra.messages[0]!.data.error as { code: string; retryable: boolean; message: string };
      expect(err.code).toBe(ErrorCodes.BUSY);
      expect(err.retryable).toBe(true);
      expect(err.message).toMatch(/4 connections/);
    }
    held[0]!.write(request('still'));
    await held[0]!.waitFor(1);
    held[1]!.close();
    await until(() => true, 'noop');
    await new Promise((r) => setTimeout(r, 50));
    const next = await peer();
    next.write(request('next'));
    await next.waitFor(1);
    expect(next.messages[0]!.data.result).toEqual({ ok: true });
  });

  it('at the cap, the longest-idle connection holding nothing makes room; one holding a lease or a request never does', async () => {
    const leased = new Set<number>();
    const { server } = await serve(
      { maxConnections: 3, idleEvictMs: 0 },
      (r) => {
        if (r.method === 'get') leased.add(r.conn.id);
        if (r.method !== 'slow') r.conn.send('response', { id: r.id, result: { conn: r.conn.id } });
      },
      { holds: (c) => leased.has(c.id) },
    );
    const withLease = await peer();
    withLease.write(request(1, 'get'));
    await withLease.waitFor(1);
    const busy = await peer();
    busy.write(request(2, 'slow'));
    const idle = await peer();
    await until(() => server.connections() === 3, 'three connections');
    const newcomer = await peer();
    newcomer.write(request(3, 'hello'));
    await newcomer.waitFor(1);
    await idle.waitClosed();
    expect(withLease.ended).toBe(false);
    expect(busy.ended).toBe(false);
    // Nothing idle is left: the next one is refused.
    newcomer.write(request(4, 'slow'));
    await turns(20);
    const refused = await peer();
    await refused.waitClosed();
    expect((refused.messages[0]!.data.error as { code: string }).code).toBe(ErrorCodes.BUSY);
  });

  it('with many connections open, idle ones holding nothing are closed after idleTimeoutMs; busy ones stay', async () => {
    const { server } = await serve({ maxConnections: 100, idleCloseAbove: 2, idleTimeoutMs: 100 }, (r) => {
      if (r.method !== 'slow') r.conn.send('response', { id: r.id, result: {} });
    });
    const busy = await peer();
    busy.write(request(1, 'slow'));
    const idle = await Promise.all([peer(), peer(), peer(), peer()]);
    await until(() => server.connections() === 5, 'five connections');
    for (const p of idle) await p.waitClosed();
    expect(busy.ended).toBe(false);
    expect(server.connections()).toBe(1);
  });
});

describe('half-closed peers', () => {
  it('a peer that half-closed still gets its replies when other connections close meanwhile (repeated)', async () => {
    const held: Seen[] = [];
    await serve({}, (r) => {
      if (r.method === 'slow') held.push(r);
      else r.conn.send('response', { id: r.id, result: {} });
    });
    for (let round = 0; round < 10; round++) {
      const a = await peer();
      a.write(request(`a${round}`, 'slow'));
      a.socket.end();
      await until(() => held.length === 1, 'the slow request');
      for (let i = 0; i < 3; i++) {
        const b = await peer();
        b.write(request(`b${i}`));
        await b.waitFor(1);
        b.close();
        await b.waitClosed();
      }
      await turns(20);
      const r = held.shift()!;
      r.conn.send('response', { id: r.id, result: { late: true } });
      await a.waitClosed();
      expect(a.messages.map((m) => m.data.id), `round ${round}`).toEqual([`a${round}`]);
    }
  });
});
