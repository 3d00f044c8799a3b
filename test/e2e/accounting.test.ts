import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { parsePrometheus, type ParsedFamily } from '../accounting/parsePrometheus.js';
import { filesUnder, mlxRepo, whisperKitRepo, type RepoSpec } from '../../dev/fixtures/generate.js';
import { noDaemon } from './daemon-helpers.js';
import { daemonPid, waitFor, type Sandbox } from './harness.js';
import { hubTest } from './hubTest.js';

/**
 * Accounting through the real daemon and CLI: a scripted workload of 40 gets over 3 models with
 * known outcomes; stats exact (and the same after a daemon restart); two overlapping runs accounted
 * apart; Prometheus text that parses and agrees with stats; reports; `stats --zero` keeps history.
 * The tests of this file share one sandbox and run in order.
 */

const WK = whisperKitRepo();
const MLX = mlxRepo();
const MODELS = {
  'whisper-tiny': 'argmaxinc/whisperkit-coreml:openai_whisper-tiny',
  'whisper-base': 'argmaxinc/whisperkit-coreml:openai_whisper-base',
  'mlx-tiny': 'mlx-community/whisper-tiny',
};
type Alias = keyof typeof MODELS;
const bytesOf = (repo: RepoSpec, sub: string | null) => filesUnder(repo, sub).reduce((n, f) => n + f.bytes.byteLength, 0);
const SIZE: Record<Alias, number> = {
  'whisper-tiny': bytesOf(WK, 'openai_whisper-tiny'),
  'whisper-base': bytesOf(WK, 'openai_whisper-base'),
  'mlx-tiny': bytesOf(MLX, null),
};

interface StatsJson {
  hits: number;
  misses: number;
  errors: number;
  hitRate: number | null;
  bytesServed: number;
  bytesDownloaded: number;
  bytesAvoided: number;
  timeSavedMs: number;
  modelsTouched: number;
  breakdown?: Array<Record<string, unknown>>;
}

/** One scripted get: which model, in which run (`--run` flag or the env var), with which client label, and what it must be. */
interface Step {
  model: Alias | 'nobody/missing';
  run?: 'A' | 'B';
  via?: 'flag' | 'env';
  client?: string;
  expect: 'hit' | 'miss' | 'error';
}

const it = hubTest.extend('fileSandboxOptions', { scope: 'file' }, { models: MODELS });
const runs: Record<'A' | 'B', string> = { A: '', B: '' };
const done: Step[] = [];

async function get(sb: Sandbox, step: Step): Promise<void> {
  const args = ['get', step.model, '--json'];
  const env: NodeJS.ProcessEnv = {};
  if (step.run && step.via === 'env') env.VOCORIZE_CACHE_RUN = runs[step.run];
  else if (step.run) args.push('--run', runs[step.run]);
  if (step.client) env.VOCORIZE_CACHE_CLIENT = step.client;
  const r = await sb.cli(args, { env });
  if (step.expect === 'error') {
    expect(r.code, r.stdout).toBe(1);
  } else {
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ hit: boolean }>().hit, `${step.model} ${step.expect}`).toBe(step.expect === 'hit');
  }
  done.push(step);
}

/** Runs steps a few at a time (hits only: concurrent misses of one model would share one download). */
async function inBatches(sb: Sandbox, steps: Step[], width = 8): Promise<void> {
  for (let i = 0; i < steps.length; i += width) await Promise.all(steps.slice(i, i + width).map((step) => get(sb, step)));
}

/** The expected stats of the gets done so far that `pick` selects. */
function expected(pick: (s: Step) => boolean) {
  const steps = done.filter(pick);
  const ok = steps.filter((s) => s.expect !== 'error');
  const hits = steps.filter((s) => s.expect === 'hit');
  const misses = steps.filter((s) => s.expect === 'miss');
  const size = (s: Step) => SIZE[s.model as Alias];
  return {
    hits: hits.length,
    misses: misses.length,
    errors: steps.length - ok.length,
    hitRate: hits.length / (hits.length + misses.length),
    bytesServed: ok.reduce((n, s) => n + size(s), 0),
    bytesDownloaded: misses.reduce((n, s) => n + size(s), 0),
    bytesAvoided: hits.reduce((n, s) => n + size(s), 0),
  };
}

async function stats(sb: Sandbox, args: string[] = [], pre: string[] = []): Promise<StatsJson> {
  const r = await sb.cli([...pre, 'stats', ...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return r.json<StatsJson>();
}

const pickNumbers = (s: StatsJson) => ({
  hits: s.hits,
  misses: s.misses,
  errors: s.errors,
  hitRate: s.hitRate,
  bytesServed: s.bytesServed,
  bytesDownloaded: s.bytesDownloaded,
  bytesAvoided: s.bytesAvoided,
});

const inRun = (run: 'A' | 'B') => (s: Step) => s.run === run;

describe('accounting through the daemon', () => {
  it('a scripted workload of 40 gets over 3 models: stats --json gives exactly the expected hits, misses, hit rate and bytes', async ({ fileSb: sb }) => {
    const start = async (label: string) => {
      const r = await sb.cli(['run', 'start', '--label', label, '--json']);
      expect(r.code, r.stderr).toBe(0);
      return r.json<{ id: string }>().id;
    };
    runs.A = await start('suite-a');
    await get(sb, { model: 'whisper-tiny', run: 'A', via: 'flag', expect: 'miss' });
    await get(sb, { model: 'mlx-tiny', expect: 'miss' });
    runs.B = await start('suite-b'); // overlaps A
    expect(runs.B).not.toBe(runs.A);
    await get(sb, { model: 'whisper-base', run: 'B', via: 'env', expect: 'miss' });
    expect((await sb.cli(['evict', 'mlx-tiny'])).code).toBe(0);
    await get(sb, { model: 'mlx-tiny', run: 'A', via: 'env', expect: 'miss' });
    await get(sb, { model: 'nobody/missing', run: 'B', via: 'flag', expect: 'error' });

    const interleaved: Step[] = [];
    for (let i = 0; i < 8; i++) interleaved.push({ model: 'whisper-tiny', run: 'A', via: i % 2 ? 'env' : 'flag', expect: 'hit' });
    for (let i = 0; i < 4; i++) interleaved.push({ model: 'mlx-tiny', run: 'A', via: 'flag', expect: 'hit' });
    for (let i = 0; i < 6; i++) interleaved.push({ model: 'whisper-base', run: 'B', via: 'env', expect: 'hit' });
    for (let i = 0; i < 2; i++) interleaved.push({ model: 'whisper-tiny', run: 'B', via: 'flag', expect: 'hit' });
    for (const m of ['whisper-tiny', 'whisper-base', 'mlx-tiny'] as const) {
      for (let i = 0; i < 4; i++) interleaved.push({ model: m, client: 'ci-unit', expect: 'hit' });
    }
    // Shuffle deterministically so A, B and unscoped gets overlap in time.
    expect(interleaved).toHaveLength(32);
    await inBatches(sb, interleaved.map((_, i) => interleaved[(i * 7) % 32]!)); // 7 is coprime with 32: a permutation
    const ended = await sb.cli(['run', 'end', runs.A]);
    expect(ended.code, ended.stderr).toBe(0);
    await inBatches(sb, [1, 2, 3].map(() => ({ model: 'whisper-tiny', run: 'B', via: 'env', expect: 'hit' }) as Step));
    expect(done).toHaveLength(40);

    const want = expected(() => true);
    expect(want).toMatchObject({ hits: 35, misses: 4, errors: 1 });
    const s = await stats(sb);
    expect(pickNumbers(s)).toEqual(want);
    expect(s.hitRate).toBeCloseTo(35 / 39, 12);
    expect(s.modelsTouched).toBeGreaterThanOrEqual(3);
    expect(s.timeSavedMs).toBeGreaterThan(0);

    const byClient = await stats(sb, ['--by', 'client']);
    expect(byClient.breakdown?.find((b) => b.client === 'ci-unit')).toMatchObject({ hits: 12, misses: 0, errors: 0 });
    const byModel = await stats(sb, ['--by', 'model']);
    const tiny = byModel.breakdown?.find((b) => String(b.model).startsWith(`${MODELS['whisper-tiny']}@`));
    expect(tiny).toMatchObject({ hits: 17, misses: 1, bytesDownloaded: SIZE['whisper-tiny'] });
  }); // 40 CLI processes, 8 at a time, and the file's Hub and sandbox set up on first use

  it('two overlapping runs are accounted separately: stats --run of each matches its own requests', async ({ fileSb: sb }) => {
    const a = await stats(sb, ['--run', runs.A]);
    const b = await stats(sb, ['--run', runs.B]);
    expect(pickNumbers(a)).toEqual(expected(inRun('A')));
    expect(pickNumbers(b)).toEqual(expected(inRun('B')));
    expect(a).toMatchObject({ hits: 12, misses: 2, errors: 0 });
    expect(b).toMatchObject({ hits: 11, misses: 1, errors: 1 });
    expect(a.modelsTouched).toBe(2);
  });

  it('metrics --format prometheus parses as exposition format and agrees with stats', async ({ fileSb: sb }) => {
    const r = await sb.cli(['metrics', '--format', 'prometheus']);
    expect(r.code, r.stderr).toBe(0);
    const fams = parsePrometheus(r.stdout);
    const value = (name: string, labels: Record<string, string> = {}) => {
      const all = [...fams.values()].flatMap((f: ParsedFamily) => f.samples);
      const sample = all.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
      if (!sample) throw new Error(`no sample ${name} ${JSON.stringify(labels)} in:\n${r.stdout}`);
      return sample.value;
    };
    const want = expected(() => true);
    expect(fams.get('vocorize_cache_requests_total')?.type).toBe('counter');
    expect(value('vocorize_cache_requests_total', { outcome: 'hit' })).toBe(want.hits);
    expect(value('vocorize_cache_requests_total', { outcome: 'miss' })).toBe(want.misses);
    expect(value('vocorize_cache_requests_total', { outcome: 'error' })).toBe(want.errors);
    expect(value('vocorize_cache_bytes_served_total')).toBe(want.bytesServed);
    expect(value('vocorize_cache_bytes_downloaded_total')).toBe(want.bytesDownloaded);
    expect(value('vocorize_cache_bytes_avoided_total')).toBe(want.bytesAvoided);
    expect(value('vocorize_cache_download_duration_seconds_count')).toBe(want.misses);
    expect(value('vocorize_cache_models')).toBe(3);
    expect(value('vocorize_cache_size_bytes')).toBe(SIZE['whisper-tiny'] + SIZE['whisper-base'] + SIZE['mlx-tiny']);
    expect(value('vocorize_cache_evictions_total')).toBe(1);

    const json = (await sb.cli(['metrics', '--json'])).json<Record<string, unknown>>();
    expect(JSON.stringify(json)).toContain(String(want.bytesServed));
  });

  it('report --format html --out writes a self-contained page; --format md has the summary and per-model table', async ({ fileSb: sb }) => {
    const out = path.join(sb.root, 'reports', 'cache.html');
    const r = await sb.cli(['report', '--format', 'html', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('<svg');
    expect(html).toContain('89.7%'); // 35 / 39
    // Self-contained: no external script, stylesheet, image or font.
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=(?!["']?data:)/i);
    expect(html).not.toMatch(/(?:src|href)=["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*['"]?(?:https?:)?\/\//i);

    const md = await sb.cli(['report', '--format', 'md']);
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toMatch(/^## Executive summary$/m);
    expect(md.stdout).toMatch(/^\| Hit rate \| 89\.7% \| >= 80\.0% \| PASS \|$/m);
    expect(md.stdout).toMatch(/^\| Requests \| 40 \(35 hits, 4 misses, 1 errors\)/m);
    expect(md.stdout).toMatch(/^## Models$/m);
    // Rows show the display name (the config alias), not the snapshot key.
    for (const alias of Object.keys(MODELS)) expect(md.stdout).toMatch(new RegExp(`^\\| ${alias} \\|`, 'm'));
    expect(md.stdout).not.toMatch(/@[0-9a-f]{40}/);
    expect(md.stdout).toMatch(/^\| whisper-tiny \| 18 \| 17 \| 1 \| 0 \|/m);
    // The run's report covers only that run.
    const runMd = await sb.cli(['report', '--run', runs.B, '--format', 'md']);
    const b = expected(inRun('B'));
    expect(runMd.stdout).toContain(`| Requests | ${b.hits + b.misses + b.errors} (${b.hits} hits, ${b.misses} misses, ${b.errors} errors)`);
    expect(b).toMatchObject({ hits: 11, misses: 1, errors: 1 });
  });

  it('the same numbers after daemon stop: directly (--no-autostart) and from a restarted daemon', async ({ fileSb: sb }) => {
    const before = await stats(sb);
    const pid = daemonPid(sb.cacheDir);
    expect(pid).not.toBeNull();
    expect((await sb.cli(['daemon', 'stop'])).code).toBe(0);
    await waitFor(() => noDaemon(sb.cacheDir), 10_000, 'the daemon to stop');

    expect(pickNumbers(await stats(sb, [], ['--no-autostart']))).toEqual(pickNumbers(before));
    expect(noDaemon(sb.cacheDir)).toBe(true);

    const after = await stats(sb); // autostarts a new daemon
    const pid2 = daemonPid(sb.cacheDir);
    expect(pid2).not.toBeNull();
    expect(pid2).not.toBe(pid);
    expect(pickNumbers(after)).toEqual(expected(() => true));
    expect(pickNumbers(await stats(sb, ['--run', runs.A]))).toEqual(expected(inRun('A')));
    expect(pickNumbers(await stats(sb, ['--run', runs.B]))).toEqual(expected(inRun('B')));
  });

  it('stats --zero: later stats count from zero while history (and run stats) stay', async ({ fileSb: sb }) => {
    const z = await sb.cli(['stats', '--zero', '--json']);
    expect(z.code, z.stderr).toBe(0);
    expect(pickNumbers(await stats(sb))).toEqual({ hits: 0, misses: 0, errors: 0, hitRate: null, bytesServed: 0, bytesDownloaded: 0, bytesAvoided: 0 });

    await get(sb, { model: 'whisper-base', expect: 'hit' });
    const s = await stats(sb);
    expect(s).toMatchObject({ hits: 1, misses: 0, errors: 0, hitRate: 1, bytesServed: SIZE['whisper-base'], bytesDownloaded: 0 });

    // History stays: an explicit --since reaches back past the reset point, and runs keep their numbers.
    expect(pickNumbers(await stats(sb, ['--since', '1d']))).toEqual(expected(() => true));
    expect(pickNumbers(await stats(sb, ['--run', runs.A]))).toEqual(expected(inRun('A')));
  });
});
