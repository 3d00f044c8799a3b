import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeHub } from '../../dev/fixtures/fakeHub.js';
import { filesUnder, sha256Hex, whisperKitRepo } from '../../dev/fixtures/generate.js';
import { ALIASES, getJson, startHub, wkFileGets } from '../e2e/daemon-helpers.js';
import { makeSandbox, type Sandbox } from '../e2e/harness.js';
import { walk } from './helpers.js';

/**
 * A snapshot file changed while no daemon runs is never served as a hit: the first hit of a model after
 * a daemon start lstats its files against their fingerprints, so a replaced, re-linked, removed or
 * truncated file makes the model damaged and the get re-fetches only what no longer matches. An untouched
 * model is a hit after a restart. The real daemon and CLI as child processes.
 */

const VARIANT = 'openai_whisper-tiny';
const EXPECTED = new Map(filesUnder(whisperKitRepo(), VARIANT).map((f) => [f.path, sha256Hex(f.bytes)]));
let hub: FakeHub;
let sb: Sandbox;

beforeAll(async () => {
  hub = await startHub();
  sb = makeSandbox({ endpoint: hub.endpoint, models: { ...ALIASES } });
});

afterAll(async () => {
  await sb?.cleanup();
  await hub?.close();
});

function assertIntact(dir: string): void {
  const files = walk(dir);
  expect(files.length).toBe(EXPECTED.size);
  for (const f of files) {
    const rel = path.relative(dir, f).split(path.sep).join('/');
    expect(fs.lstatSync(f).isFile(), rel).toBe(true);
    expect(sha256Hex(fs.readFileSync(f)), rel).toBe(EXPECTED.get(rel));
  }
}

async function stopDaemon(): Promise<void> {
  const r = await sb.cli(['daemon', 'stop'], { timeoutMs: 30_000 });
  expect(r.code, r.stderr).toBe(0);
}

const TAMPER: Record<string, (file: string) => void> = {
  'replaced by a new file': (file) => {
    fs.rmSync(file);
    fs.writeFileSync(file, 'x\n');
  },
  'replaced by a symlink to /etc/passwd': (file) => {
    fs.rmSync(file);
    fs.symlinkSync('/etc/passwd', file);
  },
  removed: (file) => fs.rmSync(file),
  'truncated in place': (file) => {
    fs.chmodSync(file, 0o644);
    fs.truncateSync(file, 1);
  },
};

describe('a snapshot changed while no daemon runs', () => {
  it('is re-fetched by the first get after the start, never a hit; an untouched model stays a hit', async () => {
    const first = await getJson(sb, 'whisper-tiny');
    expect(first.hit).toBe(false);
    await stopDaemon();
    const untouched = await getJson(sb, 'whisper-tiny');
    expect(untouched.hit).toBe(true);
    assertIntact(untouched.path);

    const passwd = fs.readFileSync('/etc/passwd');
    for (const [what, tamper] of Object.entries(TAMPER)) {
      await stopDaemon();
      tamper(path.join(first.path, 'config.json'));
      const gets = wkFileGets(hub);
      const got = await getJson(sb, 'whisper-tiny');
      expect(got.hit, what).toBe(false);
      const fetched = wkFileGets(hub) - gets;
      // Only what no longer matches its fingerprint is fetched again; the other files are reused.
      expect(fetched, what).toBeGreaterThanOrEqual(1);
      expect(fetched, what).toBeLessThan(EXPECTED.size);
      assertIntact(got.path);
      expect((await getJson(sb, 'whisper-tiny')).hit, what).toBe(true);
    }
    expect(fs.readFileSync('/etc/passwd').equals(passwd)).toBe(true);
  }, 300_000);
});
