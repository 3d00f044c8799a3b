import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../../dev/fixtures/fakeHub.js';
import { whisperKitRepo } from '../../dev/fixtures/generate.js';
import { ErrorCodes } from '../../src/errors.js';
import { ALIASES, getJson, processGone, rawConnect, type RawConn } from '../e2e/daemon-helpers.js';
import { daemonPid, makeSandbox, waitFor, type Sandbox } from '../e2e/harness.js';

/**
 * SIGTERM while clients wait on a miss: every request in flight gets exactly one reply, E_SHUTTING_DOWN
 * with retryable: true, before the daemon closes the connection, and each such `get` is in `stats`.
 */

const FILE = 'openai_whisper-tiny/TextDecoder.mlmodelc/weights/weight.bin';
const ROUNDS = 3;
/** Connections per round, and gets pipelined on each. */
const CONNECTIONS = 4;
const GETS_PER_CONNECTION = 2;
let hub: FakeHub;
let sb: Sandbox;

beforeAll(async () => {
  hub = await startFakeHub({ repos: [whisperKitRepo({ weightScale: 0.1 })] });
  sb = makeSandbox({
    endpoint: hub.endpoint,
    models: { 'whisper-tiny': ALIASES['whisper-tiny'] },
    config: { download: { concurrency: 4, retries: 0, stallTimeout: '120s' } },
  });
});

afterAll(async () => {
  await sb?.cleanup();
  await hub?.close();
  // eslint-disable-next-line no-console
  console.log(`reliability/shutdown: ${ROUNDS} SIGTERMs during a miss, ${ROUNDS * CONNECTIONS * GETS_PER_CONNECTION} requests in flight`);
});

const fileGets = (): number =>
  hub.counters.log.filter((r) => r.method === 'GET' && (r.path.includes(FILE) || r.query.includes(encodeURIComponent(FILE)))).length;

/** Everything the daemon sends on `c` until it closes the connection. */
async function drain(c: RawConn): Promise<Array<{ type: string; data: Record<string, unknown> }>> {
  const out: Array<{ type: string; data: Record<string, unknown> }> = [];
  for (;;) {
    // Frames reach a waiting next() as they arrive, so once the connection has closed none is left.
    const f = await Promise.race([c.next(60_000), c.ended.then(() => null)]);
    if (f === null) return out;
    out.push(f);
  }
}

describe('SIGTERM during a miss', () => {
  it('answers every waiting request once with a retryable E_SHUTTING_DOWN before closing, and accounts it', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      expect((await sb.cli(['daemon', 'start'])).code).toBe(0);
      const pid = daemonPid(sb.cacheDir)!;
      expect(pid).not.toBeNull();
      hub.faults.add(FILE, { kind: 'stall', afterBytes: 100_000 });
      const before = fileGets();
      const conns: RawConn[] = [];
      for (let i = 0; i < CONNECTIONS; i++) {
        const c = await rawConnect(sb.socketPath);
        for (let k = 0; k < GETS_PER_CONNECTION; k++) {
          c.send(`${JSON.stringify({ type: 'request', data: { id: `r${round}-c${i}-g${k}`, method: 'get', params: { model: 'whisper-tiny', client: 'waiter', progress: k === 0 } } })}\f`);
        }
        conns.push(c);
      }
      await waitFor(() => fileGets() > before, 30_000, 'the stalled download to start');
      process.kill(pid, 'SIGTERM');
      const received = await Promise.all(conns.map(drain));
      received.forEach((frames, i) => {
        const responses = frames.filter((f) => f.type === 'response');
        expect(responses.map((r) => r.data.id).sort(), `round ${round} connection ${i}`).toEqual(
          Array.from({ length: GETS_PER_CONNECTION }, (_, k) => `r${round}-c${i}-g${k}`),
        );
        for (const r of responses) {
          expect(r.data.error).toMatchObject({ code: ErrorCodes.SHUTTING_DOWN, retryable: true });
        }
        // Nothing after the response of a request (progress comes before it, never after).
        const lastResponse = frames.map((f) => f.type).lastIndexOf('response');
        expect(frames.slice(lastResponse + 1)).toEqual([]);
      });
      await waitFor(() => processGone(pid), 20_000, 'the daemon to exit');
      hub.faults.clear();
    }

    const r = await sb.cli(['--json', 'stats', '--by', 'client']);
    expect(r.code, r.stderr).toBe(0);
    const waiter = r.json<{ breakdown?: Array<{ client: string | null; errors: number; hits: number; misses: number }> }>().breakdown?.find((b) => b.client === 'waiter');
    expect(waiter).toMatchObject({ errors: ROUNDS * CONNECTIONS * GETS_PER_CONNECTION, hits: 0, misses: 0 });

    // The interrupted model is fetched by the next daemon.
    const got = await getJson(sb, 'whisper-tiny');
    expect(got.hit).toBe(false);
  }, 180_000);
});
