import { describe, expect } from 'vitest';
import { ALIASES, getJson, rawConnect, type RawConn } from './daemon-helpers.js';
import { daemonPid } from './harness.js';
import { hubTest } from './hubTest.js';

/**
 * Hostile input on the daemon's socket, spoken raw over node:net: every bad frame or request gets an
 * error reply and the daemon keeps serving (the same connection where the frame was readable, and
 * always new connections and the CLI).
 */

const it = hubTest.extend('fileSandboxOptions', { scope: 'file' }, { models: { 'whisper-tiny': ALIASES['whisper-tiny'] } });
/** The daemon every test of this file talks to, started once. */
let pid: number;

it.beforeAll(async ({ fileSb: sb }) => {
  const start = await sb.cli(['daemon', 'start']);
  expect(start.code, start.stderr).toBe(0);
  pid = daemonPid(sb.cacheDir)!;
});

const frame = (data: unknown) => `${JSON.stringify({ type: 'request', data })}\f`;

async function response(c: RawConn): Promise<Record<string, unknown>> {
  for (;;) {
    const m = await c.next();
    if (m.type === 'response') return m.data;
  }
}

async function expectServing(c: RawConn, id: number): Promise<void> {
  c.send(frame({ id, method: 'hello', params: {} }));
  const r = await response(c);
  expect(r.id).toBe(id);
  expect(r.result).toMatchObject({ protocol: 1, pid });
}

const errorOf = (r: Record<string, unknown>) => r.error as { code: string; message: string; retryable: boolean };

describe('raw socket input', () => {
  it('invalid JSON: an E_BAD_FRAME reply, and the connection keeps serving', async ({ fileSb: sb }) => {
    const c = await rawConnect(sb.socketPath);
    try {
      c.send('{"type":"request","data":{"id":1,\f');
      const r = await response(c);
      expect(r.id).toBeNull();
      expect(errorOf(r).code).toBe('E_BAD_FRAME');
      expect(errorOf(r).message).toMatch(/not valid JSON/);
      c.send('"just a string"\f');
      expect(errorOf(await response(c)).code).toBe('E_BAD_FRAME');
      await expectServing(c, 2);
    } finally {
      c.close();
    }
  });

  it('unknown method: E_UNKNOWN_METHOD with the request id', async ({ fileSb: sb }) => {
    const c = await rawConnect(sb.socketPath);
    try {
      c.send(frame({ id: 'x1', method: 'rm -rf /', params: {} }));
      const r = await response(c);
      expect(r.id).toBe('x1');
      expect(errorOf(r).code).toBe('E_UNKNOWN_METHOD');
      await expectServing(c, 2);
    } finally {
      c.close();
    }
  });

  it('wrong param types: E_BAD_REQUEST naming the field', async ({ fileSb: sb }) => {
    const c = await rawConnect(sb.socketPath);
    try {
      c.send(frame({ id: 3, method: 'get', params: { model: 42 } }));
      let r = await response(c);
      expect(r.id).toBe(3);
      expect(errorOf(r).code).toBe('E_BAD_REQUEST');
      expect(errorOf(r).message).toContain('params.model');

      c.send(frame({ id: 4, method: 'get', params: { model: 'whisper-tiny', lease: 'yes please' } }));
      r = await response(c);
      expect(errorOf(r).code).toBe('E_BAD_REQUEST');
      expect(errorOf(r).message).toContain('params.lease');

      c.send(frame({ id: 5, method: 'evict', params: ['whisper-tiny'] }));
      expect(errorOf(await response(c)).code).toBe('E_BAD_REQUEST');
      await expectServing(c, 6);
    } finally {
      c.close();
    }
  });

  it('model ../../etc/passwd: refused as a bad reference, nothing fetched', async ({ hub, fileSb: sb }) => {
    const before = hub.counters.requests();
    const c = await rawConnect(sb.socketPath);
    try {
      c.send(frame({ id: 7, method: 'get', params: { model: '../../etc/passwd' } }));
      const r = await response(c);
      expect(r.id).toBe(7);
      expect(r.result).toBeUndefined();
      expect(errorOf(r).code).toBe('E_BAD_REF');
      c.send(frame({ id: 8, method: 'get', params: { model: 'argmaxinc/whisperkit-coreml:../../../etc' } }));
      expect(errorOf(await response(c)).code).toBe('E_BAD_REF');
      await expectServing(c, 9);
    } finally {
      c.close();
    }
    expect(hub.counters.requests()).toBe(before);
  });

  it('a 10 MB frame: E_BAD_FRAME, that connection is closed cleanly, the daemon serves the next one', async ({ fileSb: sb }) => {
    const c = await rawConnect(sb.socketPath);
    c.send(frame({ id: 10, method: 'get', params: { model: 'x'.repeat(10 * 1024 * 1024) } }));
    const r = await response(c);
    expect(errorOf(r).code).toBe('E_BAD_FRAME');
    expect(errorOf(r).message).toMatch(/exceeds the limit/);
    await c.ended;
    c.close();

    const d = await rawConnect(sb.socketPath);
    try {
      await expectServing(d, 11);
    } finally {
      d.close();
    }
  });

  it('after all of it the same daemon still answers the CLI: get works', async ({ fileSb: sb }) => {
    const got = await getJson(sb, 'whisper-tiny');
    expect(got.hit).toBe(false);
    expect(got.files).toBeGreaterThan(0);
    expect(daemonPid(sb.cacheDir)).toBe(pid);
    const st = await sb.cli(['--json', 'daemon', 'status']);
    expect(st.json<{ running: boolean; pid: number }>()).toMatchObject({ running: true, pid });
  });
});
