import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../../dev/fixtures/fakeHub.js';
import { whisperKitRepo } from '../../dev/fixtures/generate.js';
import { ALIASES, getJson } from '../e2e/daemon-helpers.js';
import { makeSandbox, waitFor, type Sandbox } from '../e2e/harness.js';
import { killDaemon, v1 } from './helpers.js';

/**
 * A download cut short by kill -9 is resumed by the next daemon (store/partials.ts): the bytes already
 * on disk are re-hashed from the file and only the rest is asked for, with `Range: bytes=N-`.
 */

const FILE = 'openai_whisper-tiny/TextDecoder.mlmodelc/weights/weight.bin';
const repo = whisperKitRepo({ weightScale: 0.1 });
const content = repo.files.find((f) => f.path === FILE)!.bytes;
let hub: FakeHub;
let sb: Sandbox;

beforeAll(async () => {
  hub = await startFakeHub({ repos: [repo] });
  sb = makeSandbox({ endpoint: hub.endpoint, models: { 'whisper-tiny': ALIASES['whisper-tiny'] } });
});
afterAll(async () => {
  await sb.cleanup();
  await hub.close();
});

const cdnGets = () =>
  hub.counters.log.filter((r) => r.server === 'cdn' && r.method === 'GET' && r.query.includes(encodeURIComponent(FILE)));

describe('kill -9 mid-download, then get again', () => {
  it('resumes the cut-short file from the bytes on disk and ends with the right content', async () => {
    expect(content.length).toBeGreaterThan(4_000_000);
    expect((await sb.cli(['daemon', 'start'])).code).toBe(0);
    hub.faults.add(FILE, { kind: 'stall', afterBytes: 3_500_000 });
    const bg = sb.spawnCli(['--json', 'get', 'whisper-tiny']);
    bg.stdout?.resume();
    bg.stderr?.resume();
    const tmp = path.join(v1(sb), 'tmp');
    const partialOnDisk = (): number => {
      const name = fs.readdirSync(tmp).find((n) => n.startsWith('partial-'));
      return name ? fs.statSync(path.join(tmp, name)).size : 0;
    };
    // Stage buffers are 1 MiB: by the stall at 3.5 MB at least 2 MiB have reached the file.
    await waitFor(() => partialOnDisk() >= 2 * 1024 * 1024, 20_000, 'the cut-short download to reach the disk');
    await killDaemon(sb);
    bg.kill('SIGKILL');
    hub.faults.clear();
    const kept = partialOnDisk();
    expect(kept).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    expect(cdnGets().every((r) => r.range === null)).toBe(true);

    const again = await getJson(sb, 'whisper-tiny'); // autostarts a new daemon
    expect(again.hit).toBe(false);
    const last = cdnGets().at(-1)!;
    expect(last.range).toBe(`bytes=${kept}-`);
    const got = fs.readFileSync(path.join(again.path, ...FILE.split('/').slice(1)));
    expect(got.equals(content)).toBe(true);
    expect(fs.readdirSync(tmp)).toEqual([]);
    const verify = await sb.cli(['verify']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });
});
