import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../../dev/fixtures/fakeHub.js';
import { mlxRepo, whisperKitRepo } from '../../dev/fixtures/generate.js';
import { ALIASES, CLIENT_JS } from '../e2e/daemon-helpers.js';
import { makeSandbox, type Sandbox } from '../e2e/harness.js';
import { readIndex } from './helpers.js';

/**
 * Load with eviction pressure: 64 client connections (8 processes × 8 connections of the built
 * client, dist/ipc/client.js) make mixed gets of 5 models (~5.3 MB) against a 3 MB limit. Every request is
 * answered, no client sees a path with missing files while it holds the lease, and each model is
 * downloaded exactly once more than it was evicted.
 */

const PROCS = 8;
const CONNS = 8;
const GETS = 6;
const MLX = ['mlx-community/whisper-tiny', 'mlx-community/whisper-small', 'mlx-community/whisper-medium'];
const MODELS = ['whisper-tiny', 'whisper-base', ...MLX];
let hub: FakeHub;
let sb: Sandbox;

beforeAll(async () => {
  hub = await startFakeHub({ repos: [whisperKitRepo(), ...MLX.map((id) => mlxRepo(id))], treePageSize: 1000 });
  sb = makeSandbox({ endpoint: hub.endpoint, models: { ...ALIASES }, config: { maxSize: '3MB', lowWatermark: 0.9 } });
  const start = await sb.cli(['daemon', 'start']);
  expect(start.code, start.stderr).toBe(0);
});
afterAll(async () => {
  await sb.cleanup();
  await hub.close();
});

interface ClientOut {
  ok: number;
  answered: number;
  missingWhileLeased: number;
  errors: Record<string, number>;
}

function runClient(seed: number): Promise<ClientOut> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(import.meta.dirname, 'loadClient.mjs'), CLIENT_JS, sb.socketPath, String(CONNS), String(GETS), JSON.stringify(MODELS), String(seed)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as ClientOut) : reject(new Error(`client exited ${code}: ${err}`))));
  });
}

/** The repo/subfolder part of a model key `<repo>[:<subfolder>]@<commit>`. */
const nameOf = (key: string): string => key.slice(0, key.lastIndexOf('@'));

describe('64 clients, 5 models, a limit smaller than the set', () => {
  it('answers every request, never hands out a path with missing files, downloads = evictions + 1 per model', async () => {
    const results = await Promise.all(Array.from({ length: PROCS }, (_, i) => runClient(i + 1)));
    const total = PROCS * CONNS * GETS;
    const answered = results.reduce((n, r) => n + r.answered, 0);
    const ok = results.reduce((n, r) => n + r.ok, 0);
    const errors: Record<string, number> = {};
    for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    expect(answered).toBe(total);
    expect(results.reduce((n, r) => n + r.missingWhileLeased, 0)).toBe(0);
    // Under pressure a miss may be refused before any byte moves while every byte is leased (E_NO_SPACE).
    // Nothing else may fail: a blob shared with an admission in flight is held by its blob scope.
    for (const code of Object.keys(errors)) expect(['E_NO_SPACE'], JSON.stringify(errors)).toContain(code);
    expect(ok).toBeGreaterThan(total / 4);

    const { evictions, models } = readIndex(sb, (db) => ({
      evictions: db.prepare('SELECT model FROM evictions').all() as Array<{ model: string }>,
      models: db.prepare('SELECT key FROM models').all() as Array<{ key: string }>,
    }));
    expect(evictions.length).toBeGreaterThan(0);
    // Downloads of a model = GETs of its largest file (each fetch of the model fetches it once).
    const largest = (files: Array<{ path: string; bytes: Buffer }>) => files.reduce((a, b) => (b.bytes.length > a.bytes.length ? b : a));
    const wk = whisperKitRepo().files;
    const probes: Record<string, string> = {
      [`${ALIASES['whisper-tiny'].replace('@main', '')}`]: largest(wk.filter((f) => f.path.startsWith('openai_whisper-tiny/'))).path,
      [`${ALIASES['whisper-base'].replace('@main', '')}`]: largest(wk.filter((f) => f.path.startsWith('openai_whisper-base/'))).path,
    };
    for (const id of MLX) probes[id] = largest(mlxRepo(id).files).path;
    const report: string[] = [];
    for (const [name, probe] of Object.entries(probes)) {
      const repo = name.split(':')[0]!;
      const downloads = hub.counters.log.filter((r) => r.method === 'GET' && r.path.startsWith(`/${repo}/resolve/`) && r.path.endsWith(`/${probe}`)).length;
      const evicted = evictions.filter((e) => nameOf(e.model) === name).length;
      const cached = models.some((m) => nameOf(m.key) === name) ? 1 : 0;
      report.push(`${name}: downloads ${downloads}, evictions ${evicted}, cached ${cached}`);
      // Each download ends in the cache; each eviction removes one: the model is cached now iff they differ.
      expect(downloads, report.join('\n')).toBe(evicted + cached);
    }
    // eslint-disable-next-line no-console
    console.log(`reliability/load: ${total} gets, ${ok} served, errors ${JSON.stringify(errors)}\n${report.join('\n')}`);
  });
});
