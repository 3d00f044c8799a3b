import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../../dev/fixtures/fakeHub.js';
import { filesUnder, sha256Hex, whisperKitRepo } from '../../dev/fixtures/generate.js';
import { parseConfigText } from '../../src/config/load.js';
import { createLogger } from '../../src/logger.js';
import { openCore, type Core } from '../../src/service/openService.js';
import { ALIASES, wkFileGets } from '../e2e/daemon-helpers.js';
import { walk } from './helpers.js';

/**
 * What verify finds is never served as a hit: a byte flipped in place (size, inode and mtime kept, as
 * when the write lands in the same mtime tick as the fingerprint) or a file removed, once reported by
 * verify (no --repair), marks the model damaged in the index and in memory, and the next get re-fetches
 * the distrusted file and returns the published bytes. The real core (cache, service, handlers) in process.
 */

const ROUNDS = 30;
const VARIANT = 'openai_whisper-tiny';
const EXPECTED = new Map(filesUnder(whisperKitRepo(), VARIANT).map((f) => [f.path, sha256Hex(f.bytes)]));
const VICTIM = 'MelSpectrogram.mlmodelc/weights/weight.bin';
const ctx = { connId: 1, progress: () => undefined };
let hub: FakeHub;
let root: string;
let core: Core;

beforeAll(async () => {
  hub = await startFakeHub({ repos: [whisperKitRepo()], treePageSize: 1000 });
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-verify-findings-'));
  const cfgPath = path.join(root, 'cache-config.json');
  const text = JSON.stringify({
    cacheDir: path.join(root, 'cache'),
    socketPath: path.join(root, 'run', 'd.sock'),
    maxSize: '1GB',
    origins: [{ type: 'huggingface', endpoint: hub.endpoint }],
    models: { ...ALIASES },
    download: { retries: 0, stallTimeout: '5s' },
  });
  fs.writeFileSync(cfgPath, text);
  core = openCore(parseConfigText(text, cfgPath, { env: {}, home: root }), {
    logger: createLogger({ level: 'silent', file: null }),
    role: 'cli',
  });
});

afterAll(async () => {
  core?.close();
  fs.rmSync(root, { recursive: true, force: true });
  await hub?.close();
});

const get = () => core.handlers.handle('get', { model: 'whisper-tiny', lease: false }, ctx);

/** Flips one byte of `file` in place and puts its mtime back: lstat sees the same size, inode and mtime. */
function flipByteKeepingMtime(file: string): void {
  const st = fs.lstatSync(file);
  fs.chmodSync(file, 0o644);
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, 1000);
  b[0] = b[0]! ^ 0xff;
  fs.writeSync(fd, b, 0, 1, 1000);
  fs.closeSync(fd);
  fs.chmodSync(file, st.mode & 0o777);
  fs.utimesSync(file, st.atimeMs / 1000, st.mtimeMs / 1000);
  const after = fs.lstatSync(file);
  expect([after.size, after.ino, Math.trunc(after.mtimeMs)]).toEqual([st.size, st.ino, Math.trunc(st.mtimeMs)]);
}

function assertIntact(dir: string): void {
  const files = walk(dir);
  expect(files.length).toBe(EXPECTED.size);
  for (const f of files) {
    const rel = path.relative(dir, f).split(path.sep).join('/');
    expect(fs.lstatSync(f).isFile(), rel).toBe(true);
    expect(sha256Hex(fs.readFileSync(f)), rel).toBe(EXPECTED.get(rel));
  }
}

const indexedState = (key: string): string =>
  (core.state.cache.db.prepare('SELECT state FROM models WHERE key = ?').get(key) as { state: string }).state;

describe('verify findings', () => {
  it(`a corrupted or missing file reported by verify is re-fetched by the next get, never a hit (${ROUNDS} rounds)`, async () => {
    const first = await get();
    expect(first.hit).toBe(false);
    let servedBad = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const file = path.join(first.path, ...VICTIM.split('/'));
      if (round % 2 === 0) flipByteKeepingMtime(file);
      else fs.rmSync(file);
      const v = await core.handlers.handle('verify', {}, ctx);
      expect(v.ok).toBe(false);
      expect(v.models.find((m) => m.model === first.model)?.[round % 2 === 0 ? 'corrupted' : 'missing']).toContain(VICTIM);
      expect(indexedState(first.model)).toBe('damaged');
      expect(core.state.cache.getModel(first.model)?.state).toBe('damaged');
      const gets = wkFileGets(hub);
      const again = await get();
      if (again.hit) servedBad++;
      expect(wkFileGets(hub)).toBeGreaterThan(gets);
      assertIntact(again.path);
      expect(indexedState(first.model)).toBe('ready');
    }
    expect(servedBad).toBe(0);
    expect((await core.handlers.handle('verify', {}, ctx)).ok).toBe(true);
  }, 300_000);
});
