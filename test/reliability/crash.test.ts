import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FakeHub } from '../../dev/fixtures/fakeHub.js';
import { ALIASES, getJson, listModels, startHub, wkFileGets } from '../e2e/daemon-helpers.js';
import { makeSandbox, waitFor, type Sandbox } from '../e2e/harness.js';
import { assertRecovered, killDaemon, totals, v1, waitForPause, walk, type Totals } from './helpers.js';

/**
 * kill -9 at named points: the daemon is started with VOCORIZE_FAULT_PAUSE=<point>, driven to
 * that point, SIGKILLed there, restarted (autostart), and must recover: verify exits 0, no snapshot misses
 * a file, no unreferenced blob after optimize, the interrupted work is redone on the next get, and
 * accounting totals never go down.
 */

let hub: FakeHub;
const sandboxes: Sandbox[] = [];
const children: ChildProcess[] = [];
/** Crash points this file drove a daemon to and killed it at (docs/reliability.md quotes the count). */
const exercised: string[] = [];

beforeAll(async () => {
  hub = await startHub();
});
afterAll(async () => {
  await hub.close();
  // eslint-disable-next-line no-console
  console.log(`reliability/crash: ${exercised.length} crash points exercised: ${exercised.join(', ')}`);
});
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const sb of sandboxes.splice(0)) await sb.cleanup();
  hub.faults.clear();
});

function sandbox(config: Record<string, unknown> = {}): Sandbox {
  const sb = makeSandbox({ endpoint: hub.endpoint, models: { ...ALIASES }, config });
  sandboxes.push(sb);
  return sb;
}

/** Restarts the sandbox's daemon with the fault point armed. */
async function armedDaemon(sb: Sandbox, point: string): Promise<string> {
  const marker = path.join(sb.root, 'fault.marker');
  const stop = await sb.cli(['daemon', 'stop']);
  expect([0, 1, 3]).toContain(stop.code);
  const start = await sb.cli(['daemon', 'start'], { env: { VOCORIZE_FAULT_PAUSE: point, VOCORIZE_FAULT_MARKER: marker } });
  expect(start.code, start.stderr).toBe(0);
  return marker;
}

/** Runs a CLI command in the background (it will hang on the paused daemon and die with it). */
function background(sb: Sandbox, args: string[]): ChildProcess {
  const c = sb.spawnCli(args);
  c.stdout?.resume();
  c.stderr?.resume();
  children.push(c);
  return c;
}

async function warmWithEvents(sb: Sandbox): Promise<Totals> {
  await getJson(sb, 'whisper-base');
  await getJson(sb, 'whisper-base');
  await getJson(sb, 'mlx-tiny');
  return totals(sb);
}

function expectNotLower(after: Totals, before: Totals): void {
  expect(after.hits).toBeGreaterThanOrEqual(before.hits);
  expect(after.misses).toBeGreaterThanOrEqual(before.misses);
  expect(after.bytesDownloaded).toBeGreaterThanOrEqual(before.bytesDownloaded);
}

/** A `get` of whisper-tiny interrupted at `point`: after restart the next get fetches it again. */
async function crashDuringMiss(point: string, drive: (sb: Sandbox) => Promise<void>, config: Record<string, unknown> = {}) {
  const sb = sandbox(config);
  const before = await warmWithEvents(sb);
  const marker = await armedDaemon(sb, point);
  const getsBefore = wkFileGets(hub);
  background(sb, ['--json', 'get', 'whisper-tiny']);
  await drive(sb);
  if (point !== 'download') await waitForPause(marker, point);
  await killDaemon(sb);
  exercised.push(point === 'download' ? 'download mid-file' : point);

  await assertRecovered(sb);
  expectNotLower(await totals(sb), before);
  const again = await getJson(sb, 'whisper-tiny');
  expect(again.hit).toBe(false);
  expect(wkFileGets(hub)).toBeGreaterThan(getsBefore);
  for (const f of walk(again.path)) expect(fs.statSync(f).size).toBeGreaterThanOrEqual(0);
  expect(walk(again.path).length).toBe(again.files);
  expect((await listModels(sb)).map((m) => m.model)).toEqual(expect.arrayContaining([expect.stringContaining('openai_whisper-tiny')]));
  expect((await sb.cli(['verify'])).code).toBe(0);
}

describe('kill -9 during a download', () => {
  it('mid-file: the origin stalls half way through a weight file', async () => {
    const file = 'openai_whisper-tiny/MelSpectrogram.mlmodelc/weights/weight.bin';
    hub.faults.add(file, { kind: 'stall', afterBytes: 150_000 });
    await crashDuringMiss('download', async (sb) => {
      // The transfer is under way (the CDN got the GET and stalls after 150 kB) and its temp file exists.
      // The writer stages up to 1 MiB in memory, so the temp file's size on disk may still be 0.
      await waitFor(
        () =>
          hub.counters.log.some((r) => r.server === 'cdn' && r.method === 'GET' && r.query.includes(encodeURIComponent(file))) &&
          walk(path.join(v1(sb), 'tmp')).length > 0,
        20_000,
        'the stalled transfer and its temp file',
      );
    });
    hub.faults.clear();
  });

  it('after every blob is committed, before admission', async () => {
    await crashDuringMiss('before-admit', async () => undefined);
  });

  it('after the snapshot tree is linked under tmp/, before the rename', async () => {
    await crashDuringMiss('linked', async () => undefined);
  });

  it('after the rename into snapshots/, before the index transaction', async () => {
    await crashDuringMiss('published', async () => undefined);
  });

  it('during the LRU eviction a miss triggers (index written, files not yet removed)', async () => {
    // Room for base + mlx but not tiny as well: the miss evicts.
    await crashDuringMiss('evict-indexed', async () => undefined, { maxSize: '3MB', lowWatermark: 0.95 });
  });
});

describe('kill -9 during maintenance and accounting', () => {
  it('during `evict` (index written, snapshot not yet removed)', async () => {
    const sb = sandbox();
    const before = await warmWithEvents(sb);
    const marker = await armedDaemon(sb, 'evict-indexed');
    background(sb, ['evict', 'whisper-base']);
    await waitForPause(marker, 'evict-indexed');
    await killDaemon(sb);
    exercised.push('evict');
    await assertRecovered(sb);
    expectNotLower(await totals(sb), before);
    const models = (await listModels(sb)).map((m) => m.model);
    expect(models.some((m) => m.includes('openai_whisper-base'))).toBe(false);
    const again = await getJson(sb, 'whisper-base');
    expect(again.hit).toBe(false);
    expect(walk(again.path).length).toBe(again.files);
  });

  it('during `clean --all` (one model removed, one to go)', async () => {
    const sb = sandbox();
    const before = await warmWithEvents(sb);
    const marker = await armedDaemon(sb, 'clean-step');
    background(sb, ['clean', '--all']);
    await waitForPause(marker, 'clean-step');
    await killDaemon(sb);
    exercised.push('clean');
    await assertRecovered(sb);
    expectNotLower(await totals(sb), before);
    // Whatever survived is whole; whatever went is fetched again.
    for (const m of await listModels(sb)) expect(m.state).toBe('ready');
    const base = await getJson(sb, 'whisper-base');
    const mlx = await getJson(sb, 'mlx-tiny');
    expect([base.hit, mlx.hit]).toContain(false);
    expect(walk(base.path).length).toBe(base.files);
    expect(walk(mlx.path).length).toBe(mlx.files);
  });

  it('during an accounting flush (rows written, transaction not committed)', async () => {
    const sb = sandbox();
    const before = await warmWithEvents(sb);
    const marker = await armedDaemon(sb, 'accounting-flush');
    // A hit is recorded in memory and flushed by the timer: the flush pauses mid-transaction.
    const hit = await getJson(sb, 'whisper-base');
    expect(hit.hit).toBe(true);
    await waitForPause(marker, 'accounting-flush');
    await killDaemon(sb);
    exercised.push('accounting-flush');
    await assertRecovered(sb);
    const after = await totals(sb);
    // Events flushed before the crash persist; the uncommitted batch is lost whole, never half-written.
    expectNotLower(after, before);
    expect(after.hits === before.hits || after.hits === before.hits + 1).toBe(true);
  });
});
