import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { filesUnder, whisperKitRepo } from '../../dev/fixtures/generate.js';
import { CLI, type Sandbox } from './harness.js';
import { hubTest } from './hubTest.js';

/**
 * The benchmarker through the real CLI and daemon: a suite that gets a model with the CLI runs
 * inside a run scope (it inherits VOCORIZE_CACHE_RUN and `get` reads it), so the report's cache section
 * shows that suite's miss and hits only — not the gets other clients make at the same time.
 */

const TINY_BYTES = filesUnder(whisperKitRepo(), 'openai_whisper-tiny').reduce((n, f) => n + f.bytes.byteLength, 0);

const it = hubTest.extend('fileSandboxOptions', { scope: 'file' }, {
  models: { 'whisper-tiny': 'argmaxinc/whisperkit-coreml:openai_whisper-tiny', 'mlx-tiny': 'mlx-community/whisper-tiny' },
});

interface CacheStats {
  hits: number;
  misses: number;
  errors: number;
  hitRate: number | null;
  bytesDownloaded: number;
  bytesAvoided: number;
  missedModels: string[];
}
interface BenchJson {
  exitCode: number;
  paths: Record<string, string>;
  report: {
    suites: Array<{ name: string; ok: boolean; measurements: unknown[]; cache: { runId: string | null; reachable: boolean; stats: CacheStats | null } }>;
    cache: { reachable: boolean; totals: { hits: number; misses: number; bytesDownloaded: number } };
  };
}

async function bench(sb: Sandbox, args: string[]): Promise<BenchJson> {
  const r = await sb.cli(['--json', 'bench', '--out-dir', path.join(sb.root, 'perf'), ...args], { timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(0);
  return r.json<BenchJson>();
}

describe('cache-manager bench', () => {
  it('a suite that gets a model: the cache section shows the first run miss, then hits, of that run only', async ({ fileSb: sb }) => {
    const outside = await sb.cli(['get', 'mlx-tiny', '--json']); // a miss outside any run (also starts the daemon)
    expect(outside.code, outside.stderr).toBe(0);
    expect(outside.json<{ hit: boolean }>().hit).toBe(false);

    // Another client keeps getting a model while the suite runs; none of it may count for the suite's run.
    let stop = false;
    const noise = (async () => {
      let n = 0;
      while (!stop) {
        expect((await sb.cli(['get', 'mlx-tiny'])).code).toBe(0);
        n++;
      }
      return n;
    })();
    const res = await bench(sb, [`--suite`, `get=node ${CLI} get whisper-tiny`]).finally(() => (stop = true));
    expect(await noise).toBeGreaterThan(0);

    const suite = res.report.suites.find((s) => s.name === 'get');
    expect(suite?.ok).toBe(true);
    expect(suite?.measurements).toHaveLength(3);
    expect(suite?.cache.reachable).toBe(true);
    expect(suite?.cache.runId).toMatch(/\S/);
    expect(suite?.cache.stats).toMatchObject({
      hits: 2,
      misses: 1,
      errors: 0,
      bytesDownloaded: TINY_BYTES,
      bytesAvoided: 2 * TINY_BYTES,
      missedModels: [expect.stringMatching(/^argmaxinc\/whisperkit-coreml:openai_whisper-tiny@[0-9a-f]{40}$/)],
    });
    expect(suite?.cache.stats?.hitRate).toBeCloseTo(2 / 3, 12);
    expect(res.report.cache.totals).toMatchObject({ hits: 2, misses: 1, bytesDownloaded: TINY_BYTES });

    // The daemon's own view of that run agrees, and everything else was accounted outside it.
    const run = (await sb.cli(['stats', '--run', suite!.cache.runId!, '--json'])).json<{ hits: number; misses: number }>();
    expect(run).toMatchObject({ hits: 2, misses: 1 });
    const all = (await sb.cli(['stats', '--json'])).json<{ hits: number; misses: number }>();
    expect(all.misses).toBe(2);
    expect(all.hits).toBeGreaterThan(2);

    // The written reports carry the same cache numbers.
    const jsonReport = Object.values(res.paths).find((p) => p.endsWith('.json') && path.basename(p).startsWith('performance_report_'));
    expect(jsonReport, JSON.stringify(res.paths)).toBeDefined();
    const written = JSON.parse(fs.readFileSync(jsonReport!, 'utf8')) as BenchJson['report'];
    expect(written.suites[0]!.cache.stats).toMatchObject({ hits: 2, misses: 1 });

    // --quick: one run, now a hit, in a new run scope of its own.
    const quick = await bench(sb, ['--quick', '--suite', `get=node ${CLI} get whisper-tiny`]);
    const q = quick.report.suites[0]!;
    expect(q.measurements).toHaveLength(1);
    expect(q.cache.runId).not.toBe(suite!.cache.runId);
    expect(q.cache.stats).toMatchObject({ hits: 1, misses: 0, bytesDownloaded: 0, missedModels: [] });
  });

  it('scripts/performance-measurement.sh --help exits 0 and documents the bench flags', ({ fileSb: sb }) => {
    const r = spawnSync('bash', [path.resolve(import.meta.dirname, '../../scripts/performance-measurement.sh'), '--help'], {
      env: sb.env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status, r.stderr).toBe(0);
    for (const flag of ['--suite', '--quick', '--ci', '--update-baseline', '--report-only', '--memory-focus', '--compare-baseline', '--baseline-check', '--status']) {
      expect(r.stdout).toContain(flag);
    }
  });

  it("in a Vocorize checkout with no suites configured: runs its scripts, --json has overall_score on top; the read-only flags", async ({ fileSb: sb }) => {
    const checkout = path.join(sb.root, 'vocorize-checkout');
    fs.mkdirSync(path.join(checkout, 'scripts'), { recursive: true });
    fs.writeFileSync(path.join(checkout, 'test-unit.sh'), '#!/usr/bin/env bash\nsleep 0.1\n', { mode: 0o755 });
    fs.writeFileSync(path.join(checkout, 'scripts', 'test-integration.sh'), '#!/usr/bin/env bash\ntrue\n', { mode: 0o755 });
    const cli = (args: string[]): { code: number | null; stdout: string; stderr: string } => {
      const r = spawnSync(process.execPath, [CLI, '--json', 'bench', ...args], { cwd: checkout, env: sb.env, encoding: 'utf8', timeout: 60_000 });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };

    // Nothing to compare with yet: --baseline-check exits 1 naming the missing file.
    const noBase = cli(['--baseline-check']);
    expect(noBase.code, noBase.stderr).toBe(1);
    expect(JSON.parse(noBase.stdout)).toMatchObject({ ok: false, problems: [expect.stringMatching(/performance_baseline\.json does not exist/)] });

    const run = cli(['--quick', '--update-baseline']);
    expect(run.code, run.stderr).toBe(0);
    const res = JSON.parse(run.stdout) as { overall_score: number | null; grade: string | null; report: { suites: Array<{ name: string; targetMs: number | null }> } };
    expect(res.report.suites.map((s) => [s.name, s.targetMs])).toEqual([['unit', 10_000], ['integration', 30_000]]);
    expect(typeof res.overall_score).toBe('number');
    expect(res.grade).toMatch(/^[A-F]$/);
    const perf = path.join(checkout, 'performance-reports');
    expect(JSON.parse(fs.readFileSync(path.join(perf, 'latest.json'), 'utf8'))).toMatchObject({ overall_score: res.overall_score });
    expect(fs.existsSync(path.join(perf, 'latest.md'))).toBe(true);

    const check = cli(['--baseline-check']);
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ ok: true, format: 'current' });

    const cmp = cli(['--compare-baseline']);
    expect(cmp.code, cmp.stderr).toBe(0);
    expect(JSON.parse(cmp.stdout)).toMatchObject({ overall_score: expect.any(Number), suites: [{ name: 'unit' }, { name: 'integration' }] });

    const status = cli(['--status']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ baseline: { present: true }, lastRun: { grade: res.grade }, runs: [expect.anything()] });

    expect(cli(['--status', '--compare-baseline']).code).toBe(2);
  });
});
