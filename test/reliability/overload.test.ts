import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../../dev/fixtures/fakeHub.js';
import { whisperKitRepo } from '../../dev/fixtures/generate.js';
import { ALIASES, getJson, rawCall } from '../e2e/daemon-helpers.js';
import { makeSandbox, waitFor, type Sandbox } from '../e2e/harness.js';

/**
 * Hostile load on the real daemon's socket: a thousand idle connections do not lock anyone out, and a
 * client pipelining thousands of requests without reading its replies is paused (backpressure) while
 * other clients' cheap requests (hello, status, a cached get) keep being answered.
 */

const IDLE_CONNECTIONS = 1100;
const PIPELINED = 20_000;
let hub: FakeHub;
let sb: Sandbox;

beforeAll(async () => {
  hub = await startFakeHub({ repos: [whisperKitRepo({ weightScale: 0.05 })] });
  sb = makeSandbox({ endpoint: hub.endpoint, models: { 'whisper-tiny': ALIASES['whisper-tiny'] } });
  expect((await getJson(sb, 'whisper-tiny')).hit).toBe(false);
});

afterAll(async () => {
  await sb?.cleanup();
  await hub?.close();
  // eslint-disable-next-line no-console
  console.log(`reliability/overload: ${IDLE_CONNECTIONS} idle connections, ${PIPELINED} pipelined requests`);
});

function connectIdle(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

interface Stats {
  hits: number;
  breakdown?: Array<{ client: string | null; hits: number }>;
}

async function clientHits(client: string): Promise<number> {
  const r = await sb.cli(['--json', 'stats', '--by', 'client'], { timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(0);
  return r.json<Stats>().breakdown?.find((b) => b.client === client)?.hits ?? 0;
}

describe('idle connections', () => {
  it(`${IDLE_CONNECTIONS} idle connections leave the daemon reachable: daemon status, hello and a cached get answer`, async () => {
    const idle: net.Socket[] = [];
    try {
      for (let i = 0; i < IDLE_CONNECTIONS; i++) {
        const s = await connectIdle(sb.socketPath);
        s.on('error', () => undefined);
        idle.push(s);
      }
      const st = await sb.cli(['--json', 'daemon', 'status']);
      expect(st.code, st.stderr).toBe(0);
      expect(st.json<{ running: boolean }>().running).toBe(true);
      expect(await rawCall(sb.socketPath, 'hello')).toHaveProperty('result');
      expect((await getJson(sb, 'whisper-tiny')).hit).toBe(true);
      // The idle connections were not needed for that: none was closed.
      expect(idle.filter((s) => s.destroyed || s.readableEnded)).toHaveLength(0);
    } finally {
      for (const s of idle) s.destroy();
    }
  });
});

describe('a client that pipelines without reading', () => {
  it('is paused by backpressure while others are answered, then gets every reply exactly once when it reads', async () => {
    const attacker = await connectIdle(sb.socketPath);
    attacker.on('error', () => undefined);
    attacker.pause();
    let text = '';
    for (let i = 0; i < PIPELINED; i++) {
      text += `${JSON.stringify({ type: 'request', data: { id: i, method: 'get', params: { model: 'whisper-tiny', lease: false, client: 'attacker' } } })}\f`;
    }
    attacker.write(text);
    await waitFor(async () => (await clientHits('attacker')) > 0, 60_000, 'the attacker to be served');

    // Cheap requests of other clients are answered while the attacker is not reading.
    for (let round = 0; round < 5; round++) {
      expect(await rawCall(sb.socketPath, 'hello')).toHaveProperty('result');
      expect(await rawCall(sb.socketPath, 'status')).toHaveProperty('result');
      const got = await rawCall(sb.socketPath, 'get', { model: 'whisper-tiny', lease: false, client: 'victim' });
      expect((got.result as { hit: boolean }).hit).toBe(true);
    }
    expect(await clientHits('victim')).toBe(5);

    // The daemon stopped reading the attacker: its hits stop growing well short of what it sent.
    let last = -1;
    let now = await clientHits('attacker');
    while (now !== last) {
      last = now;
      await new Promise((r) => setTimeout(r, 300));
      now = await clientHits('attacker');
    }
    expect(now).toBeLessThan(PIPELINED);

    // Reading again: every request is answered, once.
    const ids = new Set<number>();
    let responses = 0;
    let buf = '';
    attacker.setEncoding('utf8');
    attacker.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\f')) >= 0) {
        const m = JSON.parse(buf.slice(0, i)) as { type: string; data: { id: number; result?: { hit: boolean } } };
        buf = buf.slice(i + 1);
        if (m.type === 'response') {
          responses++;
          ids.add(m.data.id);
          expect(m.data.result?.hit).toBe(true);
        }
      }
    });
    attacker.resume();
    await waitFor(() => responses >= PIPELINED, 120_000, 'every reply');
    await new Promise((r) => setTimeout(r, 200));
    expect(responses).toBe(PIPELINED);
    expect(ids.size).toBe(PIPELINED);
    attacker.destroy();
    expect(await clientHits('attacker')).toBe(PIPELINED);
  }, 240_000);
});
