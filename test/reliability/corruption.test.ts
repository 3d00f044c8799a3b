import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import type { FakeHub } from '../../dev/fixtures/fakeHub.js';
import { filesUnder, sha256Hex, whisperKitRepo } from '../../dev/fixtures/generate.js';
import { getJson, wkFileGets, type GetJson } from '../e2e/daemon-helpers.js';
import { waitFor, type Sandbox } from '../e2e/harness.js';
import { hubTest as it } from '../e2e/hubTest.js';
import { killDaemon, readIndex, v1, walk } from './helpers.js';

/**
 * Corruption behind the daemon's back: each is detected (verify exits 1 naming it, or the
 * watcher marks the model damaged) and none is served as a hit: the next get after detection returns
 * files whose bytes match the origin.
 */

const EXPECTED = new Map(filesUnder(whisperKitRepo(), 'openai_whisper-tiny').map((f) => [f.path, sha256Hex(f.bytes)]));
const VICTIM = 'MelSpectrogram.mlmodelc/weights/weight.bin';

function assertIntact(got: GetJson): void {
  const files = walk(got.path);
  expect(files.length).toBe(EXPECTED.size);
  for (const f of files) {
    const rel = path.relative(got.path, f).split(path.sep).join('/');
    expect(fs.lstatSync(f).isFile(), rel).toBe(true);
    expect(sha256Hex(fs.readFileSync(f)), rel).toBe(EXPECTED.get(rel));
  }
}

function blobOf(sb: Sandbox, got: GetJson, rel: string): string {
  const digest = EXPECTED.get(rel)!;
  expect(fs.existsSync(path.join(got.path, rel))).toBe(true);
  return path.join(v1(sb), 'blobs', 'sha256', digest.slice(0, 2), digest);
}

async function verifyJson(sb: Sandbox, args: string[] = []) {
  const r = await sb.cli(['--json', 'verify', ...args]);
  return { code: r.code, text: r.stdout, data: r.json<{ ok: boolean; problems: number }>() };
}

/** Detected by verify, repaired by verify --repair, and the next get is intact (re-fetched). */
async function detectRepairServe(sb: Sandbox, hub: FakeHub, what: string): Promise<void> {
  const found = await verifyJson(sb);
  expect(found.code, `verify must fail after: ${what}`).toBe(1);
  expect(found.data.ok).toBe(false);
  const gets = wkFileGets(hub);
  const repair = await verifyJson(sb, ['--repair']);
  expect(repair.code, repair.text).toBe(0);
  expect(wkFileGets(hub)).toBeGreaterThan(gets);
  assertIntact(await getJson(sb, 'whisper-tiny'));
  expect((await verifyJson(sb)).code).toBe(0);
}

describe('corrupted content', () => {
  it('a flipped byte in a blob is found by verify and never served after detection', async ({ hub, sb }) => {
    const got = await getJson(sb, 'whisper-tiny');
    const blob = blobOf(sb, got, VICTIM);
    fs.chmodSync(blob, 0o644);
    const fd = fs.openSync(blob, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, 1000);
    b[0] = b[0]! ^ 0xff;
    fs.writeSync(fd, b, 0, 1, 1000);
    fs.closeSync(fd);
    fs.chmodSync(blob, 0o444);
    const v = await verifyJson(sb);
    expect(v.text).toContain(VICTIM);
    await detectRepairServe(sb, hub, 'flipped byte');
  });

  it('a truncated file is found and re-fetched', async ({ hub, sb }) => {
    const got = await getJson(sb, 'whisper-tiny');
    const file = path.join(got.path, VICTIM);
    fs.chmodSync(file, 0o644);
    fs.truncateSync(file, 100);
    await detectRepairServe(sb, hub, 'truncated file');
  });

  it('a blob replaced by a symlink is reported and the snapshot is served intact', async ({ sb }) => {
    const got = await getJson(sb, 'whisper-tiny');
    const blob = blobOf(sb, got, 'config.json');
    const outside = path.join(sb.root, 'outside.json');
    fs.writeFileSync(outside, '{"evil":true}');
    fs.rmSync(blob);
    fs.symlinkSync(outside, blob);
    const found = await verifyJson(sb);
    expect(found.code).toBe(1);
    expect(found.text).toContain(EXPECTED.get('config.json')!);
    // The snapshot's own hard link still holds the verified bytes: what is served stays intact.
    assertIntact(await getJson(sb, 'whisper-tiny'));
    // Repair converges (the first pass removes the planted link, the second relinks the blob).
    let code: number | null = 1;
    for (let i = 0; i < 2 && code !== 0; i++) code = (await verifyJson(sb, ['--repair'])).code;
    expect(code).toBe(0);
    expect((await verifyJson(sb)).code).toBe(0);
    assertIntact(await getJson(sb, 'whisper-tiny'));
    expect(fs.readFileSync(outside, 'utf8')).toBe('{"evil":true}');
    expect(fs.lstatSync(blob).isSymbolicLink()).toBe(false);
  });

  it('a snapshot file made writable and edited: the watcher marks it damaged and the next get re-fetches', async ({ hub, sb }) => {
    const got = await getJson(sb, 'whisper-tiny');
    const file = path.join(got.path, 'config.json');
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(file, '{"edited":true}');
    const gets = wkFileGets(hub);
    // The watcher attaches to a new snapshot folder asynchronously (an event is a hint, never a promise):
    // an edit made before it attached is not seen, so a later edit of the same file stands for it.
    let edits = 1;
    let lastEdit = Date.now();
    await waitFor(async () => {
      const r = await sb.cli(['--json', 'list']);
      if (r.json<{ models: Array<{ state: string }> }>().models.some((m) => m.state === 'damaged')) return true;
      if (Date.now() - lastEdit > 5_000) {
        fs.writeFileSync(file, `{"edited":${++edits}}`);
        lastEdit = Date.now();
      }
      return false;
    }, 60_000, 'the watcher to mark the model damaged');
    const again = await getJson(sb, 'whisper-tiny');
    expect(again.hit).toBe(false);
    expect(wkFileGets(hub)).toBeGreaterThan(gets);
    assertIntact(again);
    expect((await verifyJson(sb)).code).toBe(0);
  });
});

describe('a damaged index', () => {
  it('index deleted: the next start rebuilds it from the store, verify passes, the model is a hit with no download', async ({ hub, sb }) => {
    const got = await getJson(sb, 'whisper-tiny');
    expect(got.hit).toBe(false);
    expect((await sb.cli(['daemon', 'stop'])).code).toBe(0);
    for (const f of ['index.db', 'index.db-wal', 'index.db-shm']) fs.rmSync(path.join(v1(sb), f), { force: true });
    const v = await verifyJson(sb);
    expect(v.code, v.text).toBe(0);
    const gets = wkFileGets(hub);
    const again = await getJson(sb, 'whisper-tiny');
    expect(again.hit).toBe(true);
    expect(again.commit).toBe(got.commit);
    expect(wkFileGets(hub)).toBe(gets);
    assertIntact(again);
  });

  it('WAL removed after kill -9: the index opens at its last checkpoint, verify + optimize reconcile, gets are intact', async ({ sb }) => {
    await getJson(sb, 'whisper-tiny');
    await getJson(sb, 'whisper-base');
    await killDaemon(sb);
    fs.rmSync(path.join(v1(sb), 'index.db-wal'), { force: true });
    fs.rmSync(path.join(v1(sb), 'index.db-shm'), { force: true });
    const first = await verifyJson(sb);
    expect([0, 1]).toContain(first.code);
    const opt = await sb.cli(['--json', 'optimize']);
    expect(opt.code, opt.stderr).toBe(0);
    const repaired = await verifyJson(sb, ['--repair']);
    expect(repaired.code, repaired.text).toBe(0);
    assertIntact(await getJson(sb, 'whisper-tiny'));
    // Every indexed file is on disk, and every blob file is indexed.
    const rows = readIndex(sb, (db) => (db.prepare('SELECT digest FROM blobs').all() as Array<{ digest: string }>).map((r) => r.digest));
    expect(walk(path.join(v1(sb), 'blobs')).map((p) => path.basename(p)).sort()).toEqual([...rows].sort());
  });
});
