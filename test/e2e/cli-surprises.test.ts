import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { hubTest } from './hubTest.js';

/** The CLI as Vocorize's scripts use it: no hidden lease ids, the caller's offline honoured, readable model names. */
const it = hubTest;

type ErrorDoc = { error: { code: string; message: string } };
interface LeaseRow {
  id: string;
  model: string;
  name: string;
  holder: { client: string | null; connection: number | null; scope: string };
  takenAt: number;
  ageMs: number;
  expiresAt: number;
}

describe('leases', () => {
  it('get --hold prints the lease on stderr (stdout stays the path); leases lists it; release ends it', async ({ sb }) => {
    const r = await sb.cli(['get', 'whisper-tiny', '--hold', '--client', 'script']);
    expect(r.code, r.stderr).toBe(0);
    const pathLine = r.stdout.trim();
    expect(r.stdout).toBe(`${pathLine}\n`);
    expect(fs.existsSync(pathLine)).toBe(true);
    const m = /lease: (l-[0-9a-f]+) \(expires in [^;]+; cache-manager release (l-[0-9a-f]+)\)/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(m![2]).toBe(m![1]);
    const id = m![1]!;

    const listed = (await sb.cli(['--json', 'leases'])).json<{ leases: LeaseRow[] }>().leases;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id, name: 'whisper-tiny', holder: { client: 'script', connection: null, scope: 'ttl' } });
    expect(listed[0]!.model).toMatch(/^argmaxinc\/whisperkit-coreml:openai_whisper-tiny@[0-9a-f]{40}$/);
    expect(listed[0]!.expiresAt).toBeGreaterThan(listed[0]!.takenAt);
    expect(listed[0]!.ageMs).toBeGreaterThanOrEqual(0);

    const human = await sb.cli(['leases']);
    expect(human.stdout).toMatch(/^LEASE +MODEL +HOLDER +AGE +EXPIRES$/m);
    expect(human.stdout).toContain(id);
    expect(human.stdout).toMatch(/whisper-tiny +script \(ttl\)/);

    expect((await sb.cli(['release', id])).code).toBe(0);
    expect((await sb.cli(['--json', 'leases'])).json<{ leases: unknown[] }>().leases).toEqual([]);
    expect((await sb.cli(['leases'])).stdout.trim()).toBe('no leases held');
  });
});

describe('offline from the caller', () => {
  it('HF_HUB_OFFLINE=1 and VOCORIZE_CACHE_OFFLINE=1 reach a daemon that was started online', async ({ hub, sb }) => {
    expect((await sb.cli(['get', 'whisper-tiny'])).code).toBe(0);
    hub.counters.reset();
    for (const env of [{ HF_HUB_OFFLINE: '1' }, { VOCORIZE_CACHE_OFFLINE: '1' }]) {
      const shown = (await sb.cli(['--json', 'config', 'show'], { env })).json<{ offline: boolean }>();
      expect(shown.offline).toBe(true);
      const miss = await sb.cli(['--json', 'get', 'mlx-tiny'], { env });
      expect(miss.code).toBe(1);
      expect(miss.json<ErrorDoc>().error.code).toBe('E_OFFLINE');
      const warm = await sb.cli(['--json', 'warm', 'mlx-tiny'], { env });
      expect(warm.code).toBe(1);
      expect(warm.json<{ results: Array<{ ok: boolean; error?: { code: string } }> }>().results[0]!.error?.code).toBe('E_OFFLINE');
      const restore = await sb.cli(['--json', 'restore', 'mlx-tiny', '--to', path.join(sb.root, 'r')], { env });
      expect(restore.json<ErrorDoc>().error.code).toBe('E_OFFLINE');
      const hit = await sb.cli(['--json', 'get', 'whisper-tiny'], { env });
      expect(hit.code, hit.stderr).toBe(0);
      expect(hit.json<{ hit: boolean }>().hit).toBe(true);
    }
    expect(hub.counters.requests()).toBe(0);
    // VOCORIZE_CACHE_OFFLINE=0 overrides HF_HUB_OFFLINE=1, as in the config loader.
    const online = await sb.cli(['--json', 'get', 'mlx-tiny'], { env: { HF_HUB_OFFLINE: '1', VOCORIZE_CACHE_OFFLINE: '0' } });
    expect(online.code, online.stderr).toBe(0);
    expect(online.json<{ hit: boolean }>().hit).toBe(false);
  });
});

describe('model names', () => {
  it('list, stats, report and metrics show the alias (or a short commit); --json keeps the key; unresolved errors are one bucket', async ({ sb }) => {
    expect((await sb.cli(['get', 'whisper-tiny'])).code).toBe(0);
    expect((await sb.cli(['get', 'whisper-tiny'])).code).toBe(0);
    for (const bad of ['nobody/zzq1', 'zzq2-alias', 'other/zzq3@main']) expect((await sb.cli(['get', bad])).code).toBe(1);

    const list = (await sb.cli(['--json', 'list'])).json<{ models: Array<{ model: string; name: string }> }>().models;
    expect(list).toHaveLength(1);
    const key = list[0]!.model;
    expect(key).toMatch(/@[0-9a-f]{40}$/);
    expect(list[0]!.name).toBe('whisper-tiny');
    const human = await sb.cli(['list']);
    expect(human.stdout).toMatch(/^whisper-tiny /m);
    expect(human.stdout).not.toContain(key);

    const stats = (await sb.cli(['--json', 'stats', '--by', 'model'])).json<{ breakdown: Array<{ model: string; name: string; errors: number }> }>();
    expect(stats.breakdown.map((b) => [b.model, b.name]).sort()).toEqual([[key, 'whisper-tiny'], ['(unresolved)', '(unresolved)']].sort());
    expect(stats.breakdown.find((b) => b.model === '(unresolved)')!.errors).toBe(3);
    const statsText = (await sb.cli(['stats', '--by', 'model'])).stdout;
    expect(statsText).toMatch(/^Model +Requests +Hits .*Bytes served/m);
    expect(statsText).not.toContain(key);
    expect(statsText).not.toMatch(/zzq/);

    const report = (await sb.cli(['report'])).stdout;
    expect(report).toContain('| whisper-tiny |');
    expect(report).not.toContain(key);
    expect(report).not.toMatch(/zzq/);
    const reportJson = (await sb.cli(['--json', 'report'])).json<{ data: { models: Array<{ model: string; name: string }> } }>();
    expect(reportJson.data.models).toContainEqual(expect.objectContaining({ model: key, name: 'whisper-tiny' }));

    const prom = (await sb.cli(['metrics', '--format', 'prometheus'])).stdout;
    expect(prom).toContain('model="whisper-tiny"');
    expect(prom).toContain('model="(unresolved)"');
    expect(prom).not.toContain(key);
    expect(prom).not.toMatch(/zzq/);
  });
});

describe('import', () => {
  it('says "already cached" for a model the cache had, "imported" for a new one', async ({ sb }) => {
    expect((await sb.cli(['get', 'mlx-tiny'])).code).toBe(0);
    const hf = path.join(sb.root, 'hf');
    expect((await sb.cli(['restore', 'mlx-tiny', '--to', hf, '--layout', 'hf'])).code).toBe(0);
    const r = await sb.cli(['import', '--from-hf-cache', hf]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^already cached mlx-community\/whisper-tiny@/m);
    expect(r.stdout).not.toMatch(/^imported /m);
    expect(r.stdout).toMatch(/0 imported, 1 already cached, 0 refused/);
    const j = (await sb.cli(['--json', 'import', '--from-hf-cache', hf])).json<{ imported: Array<{ alreadyCached: boolean }> }>();
    expect(j.imported).toEqual([expect.objectContaining({ alreadyCached: true })]);

    expect((await sb.cli(['evict', 'mlx-tiny'])).code).toBe(0);
    const again = await sb.cli(['import', '--from-hf-cache', hf]);
    expect(again.stdout).toMatch(/^imported mlx-community\/whisper-tiny@/m);
    expect(again.stdout).toMatch(/1 imported, 0 already cached, 0 refused/);
  });
});
