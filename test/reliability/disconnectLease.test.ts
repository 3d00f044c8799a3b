import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeHub } from '../../dev/fixtures/fakeHub.js';
import { ALIASES, listModels, rawConnect, startHub } from '../e2e/daemon-helpers.js';
import { makeSandbox, waitFor, type Sandbox } from '../e2e/harness.js';

/**
 * A client that disconnects while its `get` is a miss (asking for progress frames, whose writes find the
 * connection closed before the answer) leaves no lease behind: the download completes
 * and is cached, no lease names the model, and `evict` removes it. Repeated in one test, each round a
 * fresh miss (the previous round's model is evicted).
 */

const ROUNDS = 30;
const STALLED = 'openai_whisper-tiny/config.json';
let hub: FakeHub;
let sb: Sandbox;

beforeAll(async () => {
  hub = await startHub();
  sb = makeSandbox({ endpoint: hub.endpoint, models: { ...ALIASES } });
  const up = await sb.cli(['daemon', 'start']);
  expect(up.code, up.stderr).toBe(0);
});

afterAll(async () => {
  await sb?.cleanup();
  await hub?.close();
});

async function leasesHeld(): Promise<number> {
  const r = await sb.cli(['--json', 'status']);
  expect(r.code, r.stderr).toBe(0);
  return r.json<{ leases: number }>().leases;
}

describe('a client gone during a miss', () => {
  it(`leaves no lease: the model is cached and evictable (${ROUNDS} rounds)`, async () => {
    let leaked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // One file of the model is held back long enough for the client to be gone before the admission.
      hub.faults.add(STALLED, { kind: 'stall', afterBytes: 0, ms: 700, times: 1 });
      const conn = await rawConnect(sb.socketPath);
      conn.send(`${JSON.stringify({ type: 'request', data: { id: 1, method: 'get', params: { model: 'whisper-tiny', progress: true } } })}\f`);
      await new Promise((r) => setTimeout(r, 300));
      conn.close();
      await conn.ended;
      await waitFor(async () => (await listModels(sb)).some((m) => m.subfolder === 'openai_whisper-tiny'), 30_000, 'the download to be cached');
      const held = await leasesHeld();
      if (held !== 0) leaked++;
      const model = (await listModels(sb)).find((m) => m.subfolder === 'openai_whisper-tiny')!;
      expect(model.state).toBe('ready');
      const ev = await sb.cli(['--json', 'evict', model.model]);
      if (ev.code !== 0) {
        expect(ev.stderr + ev.stdout).toContain('E_IN_USE');
        leaked++;
        break; // the leaked lease keeps the model: later rounds would not be misses
      }
    }
    expect(leaked).toBe(0);
  }, 300_000);
});
