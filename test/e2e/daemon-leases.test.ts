import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect } from 'vitest';
import { filesUnder, whisperKitRepo } from '../../dev/fixtures/generate.js';
import { ALIASES, getJson, holdLease, listModels, mlxBytes, variantFiles, type LeaseHolder } from './daemon-helpers.js';
import { waitFor } from './harness.js';
import { hubTest as it } from './hubTest.js';

/** Leases against eviction, and the snapshot watcher, with a real client process holding a connection. */

let holder: LeaseHolder | null = null;

// Runs before the test's sandboxes are cleaned up: the lease holder disconnects from a live daemon.
afterEach(async () => {
  await holder?.release();
  holder = null;
});

const tiny = variantFiles('openai_whisper-tiny');
const base = variantFiles('openai_whisper-base');

describe('leases', () => {
  it('a leased model survives an eviction that would take it; after the client disconnects it can go', async ({ sandbox }) => {
    // Room for tiny plus one of the others, never all three.
    const limit = tiny.bytes + Math.max(base.bytes, mlxBytes()) + 10_000;
    expect(limit).toBeLessThan(tiny.bytes + base.bytes + mlxBytes());
    const s = sandbox({ models: { ...ALIASES }, config: { maxSize: limit, lowWatermark: 1 } });
    expect((await s.cli(['daemon', 'start'])).code).toBe(0);

    holder = holdLease(s.socketPath, 'whisper-tiny');
    const held = await holder.result;
    expect(held.hit).toBe(false);
    expect(held.lease?.id).toBeTruthy();
    expect((await listModels(s)).find((m) => m.path === held.path)?.leased).toBe(true);

    // `evict` refuses while the client holds it.
    const refused = await s.cli(['--json', 'evict', 'whisper-tiny']);
    expect(refused.code).toBe(1);
    expect(refused.json<{ error: { code: string } }>().error.code).toBe('E_IN_USE');

    // tiny is the least recently used model, so admitting mlx would evict it, but it is leased: base goes.
    const b = await getJson(s, 'whisper-base');
    const m = await getJson(s, 'mlx-tiny');
    expect(b.hit || m.hit).toBe(false);
    let models = await listModels(s);
    expect(models.map((x) => x.path).sort()).toEqual([held.path, m.path].sort());
    expect(fs.existsSync(b.path)).toBe(false);
    expect(fs.statSync(path.join(held.path, 'TextDecoder.mlmodelc', 'weights', 'weight.bin')).isFile()).toBe(true);

    // The client disconnects: its lease ends with the connection.
    await holder.release();
    await waitFor(async () => (await listModels(s)).every((x) => !x.leased), 10_000, 'the lease to end with the connection');

    // Now the same pressure takes tiny (least recently used), keeping mlx.
    const b2 = await getJson(s, 'whisper-base');
    expect(b2.hit).toBe(false);
    models = await listModels(s);
    expect(models.map((x) => x.path).sort()).toEqual([b2.path, m.path].sort());
    expect(fs.existsSync(held.path)).toBe(false);

    // And an explicit evict of an unleased model succeeds.
    const ev = await s.cli(['--json', 'evict', 'mlx-tiny']);
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.json<{ freedBytes: number }>().freedBytes).toBeGreaterThan(0);
  });
});

describe('snapshot watcher', () => {
  it('a file deleted inside a snapshot marks the model damaged; the next get is a miss that restores it', async ({ hub, sandbox }) => {
    const s = sandbox({ models: { 'whisper-tiny': ALIASES['whisper-tiny'] } });
    const first = await getJson(s, 'whisper-tiny');
    expect(first.hit).toBe(false);
    const rel = 'TextDecoder.mlmodelc/weights/weight.bin';
    const victim = path.join(first.path, ...rel.split('/'));
    const expected = filesUnder(whisperKitRepo(), 'openai_whisper-tiny').find((f) => f.path === rel)!.bytes;
    expect(fs.readFileSync(victim).equals(expected)).toBe(true);
    const resolvePath = `GET /argmaxinc/whisperkit-coreml/resolve/${first.commit}/openai_whisper-tiny/${rel}`;
    expect(hub.counters.byPath.get(resolvePath)).toBe(1);

    fs.rmSync(victim);
    await waitFor(
      async () => (await listModels(s)).find((m) => m.path === first.path)?.state === 'damaged',
      10_000,
      'the watcher to mark the model damaged',
    );

    const again = await getJson(s, 'whisper-tiny');
    expect(again).toMatchObject({ hit: false, path: first.path, commit: first.commit, files: tiny.count, bytes: tiny.bytes });
    expect(fs.readFileSync(victim).equals(expected)).toBe(true);
    expect(hub.counters.byPath.get(resolvePath)).toBe(2);
    expect((await listModels(s)).find((m) => m.path === first.path)?.state).toBe('ready');
    expect((await getJson(s, 'whisper-tiny')).hit).toBe(true);
  });
});
