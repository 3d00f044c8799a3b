import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCacheError } from '../../src/errors.js';
import { connect, type CacheClient } from '../../src/ipc/client.js';
import { createServer, type TransportServer } from '../../src/ipc/transport.js';
import { frame, RawPeer, startEchoServer } from './helpers.js';

let dir: string;
let sock: string;
const cleanups: Array<() => unknown> = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-'));
  sock = path.join(dir, 'run', 'd.sock');
});

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function serve(opts: Parameters<typeof startEchoServer>[1] = {}): Promise<TransportServer> {
  const s = await startEchoServer(sock, opts);
  cleanups.push(() => s.close());
  return s;
}

async function client(): Promise<CacheClient> {
  const c = await connect({ socketPath: sock, timeoutMs: 5_000 });
  cleanups.push(() => c.close());
  return c;
}

async function raw(): Promise<RawPeer> {
  const p = await RawPeer.connect(sock);
  cleanups.push(() => p.close());
  return p;
}

describe('transport + client', () => {
  it('round-trips hello, creates the socket dir 0700 and the socket 0600', async () => {
    await serve();
    expect(fs.statSync(path.dirname(sock)).mode & 0o777).toBe(0o700);
    const st = fs.lstatSync(sock);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    const c = await client();
    const hello = await c.call('hello', { client: 'test' });
    expect(hello).toEqual({ protocol: 1, version: 'test', pid: process.pid, socket: sock });
  });

  it('matches many concurrent calls by id on one connection, whatever the reply order', async () => {
    await serve();
    const c = await client();
    const calls = Array.from({ length: 200 }, (_, i) =>
      i % 2 === 0 ? c.call('status', {}) : c.call('pin', { model: `model-${i}` }),
    );
    const results = await Promise.all(calls);
    results.forEach((r, i) => {
      if (i % 2 === 0) expect(r).toMatchObject({ method: 'status' });
      else expect(r).toMatchObject({ method: 'pin', params: { model: `model-${i}` } });
    });
  });

  it('delivers progress events before the response', async () => {
    await serve();
    const c = await client();
    const seen: string[] = [];
    const r = await c.call('get', { model: 'tiny', progress: true }, {
      onProgress: (d) => seen.push(`progress ${String(d.doneBytes)} id=${typeof d.id}`),
    });
    seen.push('result');
    expect(seen).toEqual(['progress 10 id=number', 'progress 20 id=number', 'progress 30 id=number', 'result']);
    expect(r).toMatchObject({ params: { model: 'tiny', progress: true } });
  });

  it('rejects error replies as CacheError with the wire code', async () => {
    await serve();
    const c = await client();
    const err = await c.call('get', { model: 5 } as unknown as { model: string }).catch((e: unknown) => e);
    expect(isCacheError(err) && err.code).toBe('E_BAD_REQUEST');
    expect((err as Error).message).toMatch(/params\.model/);
    // The connection still serves.
    await expect(c.call('hello', {})).resolves.toMatchObject({ protocol: 1 });
  });

  it('reports E_UNREACHABLE when nobody listens, and when the daemon goes away mid-call', async () => {
    const err = await connect({ socketPath: sock, timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(isCacheError(err) && err.code).toBe('E_UNREACHABLE');
    expect(isCacheError(err) && err.retryable).toBe(true);
    expect((err as Error).message).toContain(sock);

    const server = await createServer({ socketPath: sock, frameLimitBytes: 1024, onRequest: () => undefined });
    const c = await client();
    const pending = c.call('status', {});
    await server.close();
    const e2 = await pending.catch((e: unknown) => e);
    expect(isCacheError(e2) && e2.code).toBe('E_UNREACHABLE');
    expect(fs.existsSync(sock)).toBe(false);
  });

  it('rejects a call that times out, and keeps serving others', async () => {
    await createServer({
      socketPath: sock,
      frameLimitBytes: 1024,
      onRequest: (r, conn) => {
        const { id, method } = r as { id: number; method: string };
        if (method !== 'status') conn.send('response', { id, result: { ok: true } });
      },
    }).then((s) => cleanups.push(() => s.close()));
    const c = await client();
    const err = await c.call('status', {}, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(isCacheError(err) && err.code).toBe('E_UNREACHABLE');
    await expect(c.call('list', {})).resolves.toEqual({ ok: true });
  });

  it('answers a peer that half-closes after writing (printf | socat), then closes', async () => {
    await serve();
    const p = await raw();
    // 'status' answers after a timer: the reply comes well after the peer's FIN.
    p.write(frame('request', { id: 10, method: 'status', params: {} }));
    p.write(frame('request', { id: 11, method: 'hello', params: {} }));
    p.socket.end();
    await p.waitClosed();
    expect(p.messages.map((m) => m.data.id).sort()).toEqual([10, 11]);
  });

  it('turns a reply that cannot be serialised into an E_INTERNAL error reply', async () => {
    await createServer({
      socketPath: sock,
      frameLimitBytes: 1024,
      onRequest: (r, conn) => conn.send('response', { id: (r as { id: number }).id, result: { n: 10n } }),
    }).then((s) => cleanups.push(() => s.close()));
    const c = await client();
    const err = await c.call('status', {}).catch((e: unknown) => e);
    expect(isCacheError(err) && err.code).toBe('E_INTERNAL');
    expect((err as Error).message).toMatch(/serialis/);
  });

  it('tells the handler when a connection ends', async () => {
    const gone: number[] = [];
    const server = await serve({ onDisconnect: (conn) => gone.push(conn.id) });
    const c = await connect({ socketPath: sock });
    await c.call('hello', {});
    expect(server.connections()).toBe(1);
    await c.close();
    for (let i = 0; i < 100 && gone.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(gone).toHaveLength(1);
    expect(server.connections()).toBe(0);
  });
});

describe('hostile input over a raw socket', () => {
  async function stillServes(): Promise<void> {
    const c = await client();
    await expect(c.call('hello', {})).resolves.toMatchObject({ protocol: 1 });
  }

  it('answers invalid JSON with E_BAD_FRAME and keeps the connection', async () => {
    await serve();
    const p = await raw();
    p.write('{not json\f');
    p.write(frame('request', { id: 2, method: 'hello', params: {} }));
    const [bad, good] = await p.waitFor(2);
    expect(bad).toMatchObject({ type: 'response', data: { id: null, error: { code: 'E_BAD_FRAME' } } });
    expect(good).toMatchObject({ type: 'response', data: { id: 2, result: { protocol: 1 } } });
    expect(p.ended).toBe(false);
  });

  it('survives non-string types, non-objects and non-request types (node-ipc alone crashes on `5\\f`)', async () => {
    await serve();
    const p = await raw();
    const inputs = [
      '5\f',
      'null\f',
      '"str"\f',
      '[1,2]\f',
      '{"type":5,"data":{}}\f',
      '{"data":{"id":1}}\f',
      frame('connect', {}),
      frame('close', {}),
      frame('error', {}),
      frame('response', { id: 9, result: 1 }),
      frame('request', 5),
      frame('request', null),
    ];
    for (const i of inputs) p.write(i);
    const msgs = await p.waitFor(inputs.length);
    for (const m of msgs) {
      expect(m.type).toBe('response');
      expect(m.data.error).toMatchObject({ code: expect.stringMatching(/^E_BAD_(FRAME|REQUEST)$/) as unknown });
    }
    expect(msgs[9]?.data.id).toBe(9);
    await stillServes();
  });

  it('answers unknown methods, wrong param types, deep nesting and a path-like model', async () => {
    await serve();
    const p = await raw();
    const deep = `{"type":"request","data":{"id":5,"method":"get","params":{"model":${'['.repeat(50_000)}${']'.repeat(50_000)}}}}\f`;
    p.write(frame('request', { id: 1, method: 'launchMissiles', params: {} }));
    p.write(frame('request', { id: 2, method: 'get', params: { model: ['x'] } }));
    p.write(frame('request', { id: 3, method: 'get', params: { model: 'x', lease: 'yes' } }));
    p.write(frame('request', { id: 4, method: 'get', params: { model: '../../etc/passwd' } }));
    p.write(deep);
    const msgs = await p.waitFor(5);
    const byId = new Map(msgs.map((m) => [m.data.id, m.data]));
    expect(byId.get(1)?.error).toMatchObject({ code: 'E_UNKNOWN_METHOD' });
    expect(byId.get(2)?.error).toMatchObject({ code: 'E_BAD_REQUEST', message: expect.stringContaining('params.model') as unknown });
    expect(byId.get(3)?.error).toMatchObject({ code: 'E_BAD_REQUEST', message: expect.stringContaining('params.lease') as unknown });
    // Protocol validation lets it through; the daemon's reference parser refuses it (E_BAD_REF).
    expect(byId.get(4)?.result).toMatchObject({ method: 'get', params: { model: '../../etc/passwd' } });
    expect(byId.get(5)?.error).toMatchObject({ code: 'E_BAD_REQUEST' });
    await stillServes();
  });

  it('refuses a 10 MB frame with E_BAD_FRAME, closes that connection, keeps serving others', async () => {
    const server = await serve({ frameLimitBytes: 64 * 1024 });
    const p = await raw();
    const big = Buffer.alloc(10 * 1024 * 1024, 'a');
    p.write(`{"type":"request","data":{"id":1,"method":"get","params":{"model":"`);
    p.write(big);
    p.write('"}}}\f');
    const [reply] = await p.waitFor(1);
    expect(reply).toMatchObject({ type: 'response', data: { id: null, error: { code: 'E_BAD_FRAME' } } });
    expect(String((reply?.data.error as { message: string }).message)).toMatch(/65536/);
    await p.waitClosed();
    expect(p.messages).toHaveLength(1);
    await stillServes();
    expect(server.connections()).toBe(1);
  });

  it('counts the limit in UTF-8 bytes, and a frame just under it is served', async () => {
    await serve({ frameLimitBytes: 1000 });
    const p = await raw();
    const body = (model: string) => frame('request', { id: 1, method: 'get', params: { model } }).slice(0, -1);
    const overhead = Buffer.byteLength(body(''));
    p.write(`${body('a'.repeat(1000 - overhead))}\f`);
    const [ok] = await p.waitFor(1);
    expect(ok?.data.result).toBeDefined();
    // Same character count, but 3-byte characters: over the limit.
    p.write(`${body('€'.repeat(Math.ceil((1000 - overhead) / 3) + 1))}\f`);
    const msgs = await p.waitFor(2);
    expect(msgs[1]?.data.error).toMatchObject({ code: 'E_BAD_FRAME' });
  });

  it('a client whose request is too large gets E_BAD_FRAME from call()', async () => {
    await serve({ frameLimitBytes: 4096 });
    const c = await client();
    const err = await c.call('warm', { models: Array.from({ length: 500 }, (_, i) => `model-${i}`) }).catch((e: unknown) => e);
    expect(isCacheError(err) && err.code).toBe('E_BAD_FRAME');
    await stillServes();
  });
});

describe('socket ownership', () => {
  it('never steals a live socket: a second server gets E_LOCKED and the first keeps serving', async () => {
    await serve();
    const second = await createServer({ socketPath: sock, frameLimitBytes: 1024, onRequest: () => undefined }).catch((e: unknown) => e);
    expect(isCacheError(second) && second.code).toBe('E_LOCKED');
    expect((second as Error).message).toContain(sock);
    // The first server is untouched.
    const c = await client();
    await expect(c.call('hello', {})).resolves.toMatchObject({ protocol: 1 });
  });

  it('replaces a socket file nobody listens on', async () => {
    fs.mkdirSync(path.dirname(sock), { mode: 0o700 });
    // A socket file with no listener, as a SIGKILLed daemon leaves it. A clean close unlinks the
    // file, so keep a hard link to it and put it back afterwards.
    const stale = net.createServer();
    await new Promise<void>((r) => stale.listen(sock, r));
    const fd = fs.lstatSync(sock).ino;
    const keep = path.join(dir, 'keep.sock');
    fs.linkSync(sock, keep);
    await new Promise<void>((r) => stale.close(() => r()));
    if (!fs.existsSync(sock)) fs.linkSync(keep, sock);
    expect(fs.lstatSync(sock).isSocket()).toBe(true);
    expect(fs.lstatSync(sock).ino).toBe(fd);

    await serve();
    expect(fs.lstatSync(sock).ino).not.toBe(fd);
    const c = await client();
    await expect(c.call('hello', {})).resolves.toMatchObject({ protocol: 1 });
  });

  it('refuses a socket dir writable by others, and a path that is not a socket', async () => {
    const open = path.join(dir, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    const e1 = await startEchoServer(path.join(open, 'd.sock')).catch((e: unknown) => e);
    expect(isCacheError(e1) && e1.code).toBe('E_UNSAFE_PERMISSIONS');
    expect((e1 as Error).message).toContain(open);

    const file = path.join(dir, 'plain');
    fs.writeFileSync(file, 'keep me');
    const e2 = await startEchoServer(file).catch((e: unknown) => e);
    expect(isCacheError(e2) && e2.code).toBe('E_UNSAFE_PERMISSIONS');
    expect(fs.readFileSync(file, 'utf8')).toBe('keep me');
  });

  it.skipIf(process.getuid?.() !== 0)('refuses a socket dir owned by another user (root only: needs chown)', async () => {
    const theirs = path.join(dir, 'theirs');
    fs.mkdirSync(theirs, { mode: 0o700 });
    fs.chownSync(theirs, 12345, 12345);
    const err = await startEchoServer(path.join(theirs, 'd.sock')).catch((e: unknown) => e);
    expect(isCacheError(err) && err.code).toBe('E_UNSAFE_PERMISSIONS');
    expect((err as Error).message).toMatch(/owned by uid 12345/);
  });
});
