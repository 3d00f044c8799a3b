import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { ALIASES, getJson, listModels, logLines, variantFiles, wkFileGets, type GetJson } from './daemon-helpers.js';
import { daemonPid } from './harness.js';
import { hubTest } from './hubTest.js';

/** `get`, `warm` and offline mode through the real CLI and an autostarted daemon, against the fake Hub. */

const it = hubTest.extend('sandboxOptions', { models: { 'whisper-tiny': ALIASES['whisper-tiny'], 'mlx-tiny': ALIASES['mlx-tiny'] } });

describe('get', () => {
  it('is a miss, then a hit with the same path; --json has path, hit, model, commit, files, bytes; human output is the path alone', async ({ hub, sb }) => {
    const tiny = variantFiles('openai_whisper-tiny');
    const first = await getJson(sb, 'whisper-tiny');
    expect(first.hit).toBe(false);
    expect(first.files).toBe(tiny.count);
    expect(first.bytes).toBe(tiny.bytes);
    expect(first.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(first.model).toBe(`argmaxinc/whisperkit-coreml:openai_whisper-tiny@${first.commit}`);
    expect(path.isAbsolute(first.path)).toBe(true);
    expect(first.path.startsWith(sb.cacheDir + path.sep)).toBe(true);
    expect(fs.readFileSync(path.join(first.path, 'config.json')).byteLength).toBeGreaterThan(0);
    const requestsAfterMiss = hub.counters.requests();

    const second = await getJson(sb, 'whisper-tiny');
    expect(second).toMatchObject({ hit: true, path: first.path, model: first.model, commit: first.commit, files: first.files, bytes: first.bytes });
    expect(hub.counters.requests()).toBe(requestsAfterMiss);

    const human = await sb.cli(['get', 'whisper-tiny']);
    expect(human.code).toBe(0);
    expect(human.stdout).toBe(`${first.path}\n`);
  });

  it('32 concurrent CLI processes on a cold cache: one daemon, one download per file, 32 identical paths', async ({ hub, sb }) => {
    expect(daemonPid(sb.cacheDir)).toBeNull();
    const results = await Promise.all(
      Array.from({ length: 32 }, () => sb.cli(['--json', 'get', 'whisper-tiny'], { timeoutMs: 50_000 })),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const docs = results.map((r) => r.json<GetJson>());
    expect(new Set(docs.map((d) => d.path)).size).toBe(1);
    expect(docs.filter((d) => !d.hit).length).toBeGreaterThanOrEqual(1);
    expect(wkFileGets(hub)).toBe(variantFiles('openai_whisper-tiny').count);
    // Every duplicate request path was fetched exactly once.
    for (const [key, n] of hub.counters.byPath) if (key.startsWith(`GET /argmaxinc/`)) expect(n, key).toBe(1);
    // Many CLIs raced to autostart; the cache lock let exactly one daemon serve.
    expect(logLines(sb, /^daemon ready$/)).toHaveLength(1);
    expect(daemonPid(sb.cacheDir)).not.toBeNull();
  });
});

describe('warm', () => {
  it('fetches only what was asked for: one model, then (no arguments) exactly the configured aliases, never the base variant', async ({ hub, sb }) => {
    const one = await sb.cli(['warm', 'whisper-tiny']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/fetched\s+whisper-tiny/);
    expect(wkFileGets(hub)).toBe(variantFiles('openai_whisper-tiny').count);
    expect(hub.counters.log.filter((x) => x.path.includes('mlx-community'))).toEqual([]);
    expect((await listModels(sb)).map((m) => m.subfolder)).toEqual(['openai_whisper-tiny']);

    const all = await sb.cli(['--json', 'warm']);
    expect(all.code, all.stderr).toBe(0);
    const results = all.json<{ results: Array<{ model: string; ok: boolean; hit: boolean }> }>().results;
    expect(results.map((x) => [x.model, x.ok, x.hit]).sort()).toEqual([
      ['mlx-tiny', true, false],
      ['whisper-tiny', true, true],
    ]);
    const models = await listModels(sb);
    expect(models.map((m) => `${m.repo}:${m.subfolder ?? ''}`).sort()).toEqual([
      'argmaxinc/whisperkit-coreml:openai_whisper-tiny',
      'mlx-community/whisper-tiny:',
    ]);
    // The fixture also serves openai_whisper-base next to tiny: not one of its files was requested.
    expect(hub.counters.log.filter((x) => x.path.includes('openai_whisper-base'))).toEqual([]);
    expect(wkFileGets(hub)).toBe(variantFiles('openai_whisper-tiny').count);
  });
});

describe('offline (HF_HUB_OFFLINE=1)', () => {
  it('serves a cached model with zero Hub requests and fails fast with E_OFFLINE for an uncached one', async ({ hub, sb }) => {
    const online = await getJson(sb, 'whisper-tiny');
    expect(online.hit).toBe(false);
    expect((await sb.cli(['daemon', 'stop'])).code).toBe(0);
    hub.counters.reset();

    const offlineEnv = { HF_HUB_OFFLINE: '1' };
    // The CLI autostarts a daemon that inherits the offline environment.
    const cached = await getJson(sb, 'whisper-tiny', offlineEnv);
    expect(cached).toMatchObject({ hit: true, path: online.path });

    const missing = await sb.cli(['--json', 'get', 'mlx-tiny'], { env: offlineEnv, timeoutMs: 15_000 });
    expect(missing.code).not.toBe(0);
    expect(missing.json<{ error: { code: string } }>().error.code).toBe('E_OFFLINE');
    expect(missing.stderr).toMatch(/E_OFFLINE/);

    const status = await sb.cli(['--json', 'status'], { env: offlineEnv });
    expect(status.json<{ offline: boolean }>().offline).toBe(true);
    expect(hub.counters.requests()).toBe(0);
  });
});
