import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeHub } from '../../dev/fixtures/fakeHub.js';
import { startHub, WK } from './daemon-helpers.js';

/**
 * The product as another repository gets it: packed with `npm pack`, installed with `npm install -g` into
 * a temp prefix, and driven by Vocorize's old scripts' command lines through the shims copied into a temp
 * repository's scripts/, with no VOCORIZE_* variable set (the repository's cache-config.json is found by
 * searching up from the current directory, as cron, Xcode and CI steps need).
 *
 * The install reaches the npm registry for the dependencies' metadata (as any install does). The one
 * native dependency, better-sqlite3, is given this checkout's own compiled binary as a local prebuild
 * (prebuild-install's `npm_config_better_sqlite3_local_prebuilds`), so the test does not spend a minute
 * compiling SQLite; the same binary a user's install would build from source.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');

let tmp: string;
let prefix: string;
let repo: string;
let hub: FakeHub;
let env: NodeJS.ProcessEnv;

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** One line of an old caller's shell script, run from the repository's Tests/ folder. */
const sh = (script: string) => run('bash', ['-c', `set -euo pipefail\n${script}`], { cwd: path.join(repo, 'Tests') });

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-install-'));
  prefix = path.join(tmp, 'prefix');
  repo = path.join(tmp, 'Vocorize');
  hub = await startHub();

  // 1. Pack what ships (dist/ is built by `npm test`).
  const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: ROOT, env: process.env });
  expect(pack.code, pack.stderr).toBe(0);
  const packed = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const tarball = path.join(tmp, packed[0]!.filename);
  const files = packed[0]!.files.map((f) => f.path);
  expect(files).toContain('dist/cli/main.js');
  expect(files).toContain('scripts/cache-manager.sh');
  expect(files.filter((f) => /^(src|test|dev)\//.test(f))).toEqual([]);

  // 2. Install it globally into a temp prefix.
  const prebuilds = path.join(tmp, 'prebuilds');
  const stage = path.join(tmp, 'stage', 'build', 'Release');
  fs.mkdirSync(stage, { recursive: true });
  fs.mkdirSync(prebuilds);
  fs.copyFileSync(path.join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'), path.join(stage, 'better_sqlite3.node'));
  const bsVersion = (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string }).version;
  const name = `better-sqlite3-v${bsVersion}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  expect(spawnSync('tar', ['czf', path.join(prebuilds, name), '-C', path.join(tmp, 'stage'), 'build']).status).toBe(0);
  const install = await run(
    'npm',
    ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
    { cwd: tmp, env: { ...process.env, npm_config_better_sqlite3_local_prebuilds: prebuilds }, timeoutMs: 480_000 },
  );
  expect(install.code, install.stderr).toBe(0);
  expect(fs.existsSync(path.join(prefix, 'bin', 'cache-manager'))).toBe(true);

  // 3. Another repository: the shims copied into its scripts/, its own cache-config.json at the top.
  fs.mkdirSync(path.join(repo, 'scripts'), { recursive: true });
  fs.mkdirSync(path.join(repo, 'Tests'));
  for (const shim of ['cache-manager.sh', 'performance-measurement.sh']) {
    fs.copyFileSync(path.join(ROOT, 'scripts', shim), path.join(repo, 'scripts', shim));
    fs.chmodSync(path.join(repo, 'scripts', shim), 0o755);
  }
  fs.writeFileSync(
    path.join(repo, 'cache-config.json'),
    JSON.stringify({
      cacheDir: './.model-cache',
      socketPath: path.join(tmp, 'run', 'd.sock'),
      maxSize: '1GB',
      origins: [{ type: 'huggingface', endpoint: hub.endpoint }],
      models: { 'whisper-tiny': `${WK}@main:openai_whisper-tiny` },
    }),
  );
  const home = path.join(tmp, 'home');
  fs.mkdirSync(home);
  env = {
    PATH: [path.join(prefix, 'bin'), path.dirname(process.execPath), '/usr/bin', '/bin'].join(':'),
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    CI: 'true',
  };
}, 600_000);

afterAll(async () => {
  if (env) await sh('cache-manager daemon stop >/dev/null 2>&1 || true');
  await hub?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('installed from a packed tarball, used by the old scripts of another repository', () => {
  it('the shims find the installed CLI and the repository config, and each caller reads what it expects', async () => {
    // `help` and `status` must exit 0.
    expect((await sh('../scripts/cache-manager.sh help >/dev/null')).code).toBe(0);
    const where = await sh('cache-manager --json config path');
    expect(where.code, where.stderr).toBe(0);
    expect(JSON.parse(where.stdout).effective).toEqual({ kind: 'project', path: path.join(repo, 'cache-config.json') });

    // setup-cache.sh: warm the configured models when the cache is nearly empty.
    const warm = await sh('../scripts/cache-manager.sh warm');
    expect(warm.code, warm.stderr).toBe(0);
    // A bare WhisperKit variant name needs no alias.
    const got = await sh('cache-manager get openai_whisper-tiny');
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout.trim()).toBe(fs.realpathSync(got.stdout.trim()));
    expect(fs.existsSync(path.join(got.stdout.trim(), 'config.json'))).toBe(true);
    expect(got.stdout.trim().startsWith(path.join(repo, '.model-cache'))).toBe(true);

    // The status page as the old scripts grep it.
    const page = await sh(
      [
        'page="$(../scripts/cache-manager.sh status)"',
        `echo "$page" | grep 'Total Cache Size' | awk '{print $4}'`,
        `echo "$page" | grep 'Hit Rate' | grep -o '[0-9]*'`,
        `echo "$page" | grep -c 'Integrity'`,
      ].join('\n'),
    );
    expect(page.code, page.stderr).toBe(0);
    const [total, rate, integrityLines] = page.stdout.trim().split('\n');
    expect(total).toMatch(/^[1-9]\d*MB$/);
    expect(rate).toBe('50'); // the warm was a miss, the get of the same model a hit
    expect(integrityLines).toBe('1');

    // test-cache-validation.sh: verify's exit code is the integrity verdict.
    const verdict = await sh('if ../scripts/cache-manager.sh verify >/dev/null; then echo CACHE_INTEGRITY_OK=true; else echo CACHE_INTEGRITY_OK=false; fi');
    expect(verdict.stdout.trim()).toBe('CACHE_INTEGRITY_OK=true');

    // CI cleanup, then performance-measurement.sh's cold run: `--clean` leaves a cold cache.
    expect((await sh('../scripts/cache-manager.sh optimize >/dev/null')).code).toBe(0);
    const cold = await sh(`../scripts/cache-manager.sh --clean >/dev/null && ../scripts/cache-manager.sh status | grep 'Total Cache Size' | awk '{print $4}'`);
    expect(cold.code, cold.stderr).toBe(0);
    expect(cold.stdout.trim()).toBe('0MB');

    // The benchmarker shim reaches the same CLI.
    const bench = await sh('../scripts/performance-measurement.sh --help');
    expect(bench.code, bench.stderr).toBe(0);
    expect(bench.stdout).toMatch(/bench/);
  }, 300_000);
});
