import crypto from 'node:crypto';
import { expect } from 'vitest';
import type { FakeHub, HubFile } from '../../dev/fixtures/fakeHub.js';
import { generateBytes } from '../../dev/fixtures/generate.js';
import type { Sandbox } from './harness.js';
import { WK } from './daemon-helpers.js';
import { hubTest } from './hubTest.js';

/**
 * Misses through the Hub-compatible endpoint: bytes stream to the client while the upstream download
 * runs; a corrupted upstream byte never reaches a client as a complete file; concurrent readers of one
 * cold file share one upstream download. Real daemon child process, fake Hub upstream.
 */
const it = hubTest.extend('sandboxOptions', { models: {} });

const VARIANT = 'openai_whisper-base';

async function endpoint(sb: Sandbox): Promise<string> {
  sb.writeConfig({ hubMirror: { port: 0 } });
  expect((await sb.cli(['daemon', 'start'])).code).toBe(0);
  return (await sb.cli(['--json', 'status'])).json<{ hubUrl: string }>().hubUrl;
}

function fileOf(hub: FakeHub, path: string): { commit: string; file: HubFile } {
  const repo = hub.repos.get(WK)!;
  const commit = repo.refs.get('main')!;
  return { commit, file: repo.commits.get(commit)!.get(path)! };
}

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

it('streams a miss: the first bytes reach the client while the upstream download is still in flight', async ({ sb, hub }) => {
  sb.writeConfig({ hubMirror: { port: 0 }, download: { concurrency: 4, retries: 2, stallTimeout: '10s', retryBase: '10ms', retryMax: '100ms' } });
  expect((await sb.cli(['daemon', 'start'])).code).toBe(0);
  const url = (await sb.cli(['--json', 'status'])).json<{ hubUrl: string }>().hubUrl;
  const { commit, file } = fileOf(hub, `${VARIANT}/TextDecoder.mlmodelc/weights/weight.bin`);
  expect(file.bytes.byteLength).toBeGreaterThan(100_000);
  // Upstream sends 64 KiB and then nothing: the download stays in flight until the stall timeout
  // aborts it and the retry resumes from where it stopped.
  hub.faults.add(file.path, { kind: 'stall', afterBytes: 64 * 1024 });
  const res = await fetch(`${url}/${WK}/resolve/${commit}/${file.path}`);
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const first = await reader.read();
  expect(first.done).toBe(false);
  // The download has not finished: the client got bytes before the file was complete upstream.
  const st = (await sb.cli(['--json', 'status'])).json<{ downloadsInFlight: number }>();
  expect(st.downloadsInFlight).toBeGreaterThanOrEqual(1);
  const parts: Buffer[] = [Buffer.from(first.value!)];
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    parts.push(Buffer.from(r.value));
  }
  expect(sha256(Buffer.concat(parts))).toBe(file.sha256);
});

it('a corrupted upstream byte cuts the client connection instead of ending it; the retry fills the cache with the right bytes', async ({ sb, hub }) => {
  const url = await endpoint(sb);
  const { commit, file } = fileOf(hub, `${VARIANT}/AudioEncoder.mlmodelc/weights/weight.bin`);
  hub.faults.add(file.path, { kind: 'corrupt', times: 1 });
  const res = await fetch(`${url}/${WK}/resolve/${commit}/${file.path}`);
  expect(res.status).toBe(200);
  // The body never completes: the client sees a transfer error, not a clean end with bad bytes.
  await expect(res.arrayBuffer()).rejects.toThrow();

  const again = await fetch(`${url}/${WK}/resolve/${commit}/${file.path}`);
  expect(again.status).toBe(200);
  expect(sha256(Buffer.from(await again.arrayBuffer()))).toBe(file.sha256);
});

it('a corrupted upstream byte with no retry left never completes for any of several readers, and nothing enters the cache', async ({ sb, hub }) => {
  sb.writeConfig({ hubMirror: { port: 0 }, download: { concurrency: 4, retries: 0, stallTimeout: '5s', retryBase: '10ms', retryMax: '100ms' } });
  expect((await sb.cli(['daemon', 'start'])).code).toBe(0);
  const url = (await sb.cli(['--json', 'status'])).json<{ hubUrl: string }>().hubUrl;
  const { commit, file } = fileOf(hub, `${VARIANT}/MelSpectrogram.mlmodelc/weights/weight.bin`);
  hub.faults.add(file.path, { kind: 'corrupt', times: 1 });
  const outcomes = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const res = await fetch(`${url}/${WK}/resolve/${commit}/${file.path}`);
      if (res.status !== 200) return `status ${res.status}`;
      try {
        const b = Buffer.from(await res.arrayBuffer());
        return sha256(b) === file.sha256 ? 'good' : 'BAD BYTES COMPLETED';
      } catch {
        return 'cut';
      }
    }),
  );
  for (const o of outcomes) expect(o === 'cut' || o.startsWith('status 5')).toBe(true);
  const models = (await sb.cli(['--json', 'list'])).json<{ models: unknown[] }>().models;
  expect(models).toEqual([]);
});

it('8 concurrent readers of one cold file share one upstream download and all get the verified bytes (repeated)', async ({ sb, hub }) => {
  const url = await endpoint(sb);
  const paths = [
    `${VARIANT}/TextDecoder.mlmodelc/weights/weight.bin`,
    `${VARIANT}/AudioEncoder.mlmodelc/weights/weight.bin`,
    `${VARIANT}/TextDecoder.mlmodelc/model.mil`,
  ];
  for (const p of paths) {
    const { commit, file } = fileOf(hub, p);
    const results = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const res = await fetch(`${url}/${i % 2 === 0 ? `run/r${i}/` : ''}${WK}/resolve/${i % 3 === 0 ? 'main' : commit}/${file.path}`);
        expect(res.status).toBe(200);
        return sha256(Buffer.from(await res.arrayBuffer()));
      }),
    );
    expect(results).toEqual(Array(8).fill(file.sha256));
    expect(hub.counters.requests(`/${WK}/resolve/${commit}/${file.path}`, 'GET')).toBe(1);
  }
  const stats = (await sb.cli(['--json', 'stats'])).json<{ hits: number; misses: number; errors: number }>();
  expect(stats.errors).toBe(0);
  expect(stats.hits + stats.misses).toBe(24);
});

it('a reader that joins a download after the in-memory window moved on gets the whole verified file from the cache', async ({ sb, hub }) => {
  const id = 'acme/big-window';
  const bytes = generateBytes(`${id}/big`, 20 * 1024 * 1024);
  hub.publish({ id, files: [{ path: 'big.bin', bytes, lfs: true }] });
  const url = await endpoint(sb);
  hub.faults.add('big.bin', { kind: 'stall', afterBytes: 18 * 1024 * 1024, ms: 3_000 });
  const a = await fetch(`${url}/${id}/resolve/main/big.bin`);
  const reader = a.body!.getReader();
  const partsA: Buffer[] = [];
  let got = 0;
  while (got < 17 * 1024 * 1024) {
    const r = await reader.read();
    if (r.done) break;
    partsA.push(Buffer.from(r.value));
    got += r.value.byteLength;
  }
  const b = fetch(`${url}/${id}/resolve/main/big.bin`).then(async (res) => Buffer.from(await res.arrayBuffer()));
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    partsA.push(Buffer.from(r.value));
  }
  expect(sha256(Buffer.concat(partsA))).toBe(sha256(bytes));
  expect(sha256(await b)).toBe(sha256(bytes));
  const commit = hub.repos.get(id)!.refs.get('main')!;
  expect(hub.counters.requests(`/${id}/resolve/${commit}/big.bin`, 'GET')).toBe(1);
});
