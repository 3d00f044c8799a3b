import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { ALIASES, getJson } from './daemon-helpers.js';
import { makeSandbox } from './harness.js';
import { hubTest } from './hubTest.js';

/** The CLI contract existing Vocorize scripts depend on. */

const SHIM = path.resolve(import.meta.dirname, '../../scripts/cache-manager.sh');

const it = hubTest.extend('fileSandboxOptions', { scope: 'file' }, { models: { 'whisper-tiny': ALIASES['whisper-tiny'] } });

it.beforeAll(async ({ fileSb: sb }) => {
  // One miss and one hit: a 50% hit rate and a non-empty cache.
  expect((await getJson(sb, 'whisper-tiny')).hit).toBe(false);
  expect((await getJson(sb, 'whisper-tiny')).hit).toBe(true);
});

function sh(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('status page', () => {
  it('prints `Total Cache Size: <N>MB` (4th field, first <N>MB on the page) and `Hit Rate: <N>%`, exit 0', async ({ fileSb: sb }) => {
    const r = await sb.cli(['status']);
    expect(r.code, r.stderr).toBe(0);
    const total = r.stdout.split('\n').find((l) => l.startsWith('Total Cache Size:'));
    expect(total).toMatch(/^Total Cache Size: \d+MB$/);
    const fourth = total!.split(/\s+/)[3]!;
    expect(fourth).toMatch(/^\d+MB$/);
    expect(r.stdout.match(/\d+MB/)?.[0]).toBe(fourth);
    expect(r.stdout).toMatch(/^Hit Rate: 50%$/m);
    for (const word of ['Size', 'Issues', 'Integrity']) expect(r.stdout).toContain(word);

    const json = await sb.cli(['--json', 'status']);
    const d = json.json<{ usedBytes: number; hits: number; misses: number; hitRate: number }>();
    expect(d).toMatchObject({ hits: 1, misses: 1, hitRate: 0.5 });
    expect(fourth).toBe(`${Math.round(d.usedBytes / 1e6)}MB`);
  });

  it('the shell pipelines the old scripts used read the same numbers through scripts/cache-manager.sh', async ({ fileSb: sb }) => {
    const r = await sh(
      [
        'set -eo pipefail',
        `page="$("${SHIM}" status)"`,
        `echo "$page" | grep 'Total Cache Size' | awk '{print $4}'`,
        `echo "$page" | grep -oE '[0-9]+MB' | head -1`,
        `echo "$page" | grep 'Hit Rate' | grep -oE '[0-9]+%'`,
      ].join('\n'),
      sb.env,
    );
    expect(r.code, r.stderr).toBe(0);
    const [total, first, rate] = r.stdout.trim().split('\n');
    expect(total).toMatch(/^\d+MB$/);
    expect(first).toBe(total);
    expect(rate).toBe('50%');
  });
});

describe('exit codes and the shim', () => {
  it('`help`, `--help` and the shim\'s `help` exit 0 and list the commands', async ({ fileSb: sb }) => {
    for (const args of [['help'], ['--help']]) {
      const r = await sb.cli(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/get/);
    }
    const shim = await sh(`"${SHIM}" help`, sb.env);
    expect(shim.code).toBe(0);
    expect(shim.stdout).toMatch(/status/);
  });

  it('the old `clean` contract through the shim: `--clean` and `clean` leave a cold cache but for what is pinned, which is named', async ({ fileSb: sb }) => {
    expect((await sb.cli(['get', 'whisper-tiny'])).code).toBe(0);
    const base = await sb.cli(['get', 'mlx-community/whisper-tiny']);
    expect(base.code, base.stderr).toBe(0);
    expect((await sb.cli(['pin', 'mlx-community/whisper-tiny'])).code).toBe(0);
    const legacy = await sh(`"${SHIM}" --clean`, sb.env);
    expect(legacy.code, legacy.stderr).toBe(0);
    expect(legacy.stdout).toMatch(/^Freed \S+/m);
    expect(legacy.stdout).toMatch(/^skipped mlx-community\/whisper-tiny@\S+: pinned/m);
    const models = (await sb.cli(['--json', 'list'])).json<{ models: Array<{ model: string; pinned: boolean }> }>().models;
    expect(models).toEqual([expect.objectContaining({ pinned: true })]);

    expect((await sb.cli(['unpin', 'mlx-community/whisper-tiny'])).code).toBe(0);
    const plain = await sh(`"${SHIM}" clean && "${SHIM}" status | grep 'Total Cache Size' | awk '{print $4}'`, sb.env);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout.trim().split('\n').at(-1)).toBe('0MB');
    expect((await getJson(sb, 'whisper-tiny')).hit).toBe(false);
  });

  it('an unknown command exits 2', async ({ fileSb: sb }) => {
    const r = await sb.cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/frobnicate/);
    expect((await sh(`"${SHIM}" --frobnicate`, sb.env)).code).toBe(2);
    const badOpt = await sb.cli(['get', 'whisper-tiny', '--no-such-flag']);
    expect(badOpt.code).toBe(2);
  });

  it('a malformed config exits 2 naming the field and the file', async () => {
    const bad = makeSandbox({ config: { maxSize: 'enormous' } });
    try {
      for (const args of [['status'], ['config', 'validate']]) {
        const r = await bad.cli(args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toContain('maxSize');
        expect(r.stderr).toContain(bad.configPath);
      }
      const json = await bad.cli(['--json', 'status']);
      expect(json.json<{ error: { code: string } }>().error.code).toBe('E_CONFIG');

      fs.writeFileSync(bad.configPath, '{\n  "maxSize": "1GB",\n  "models": {\n}');
      const syntax = await bad.cli(['status']);
      expect(syntax.code).toBe(2);
      expect(syntax.stderr).toContain(bad.configPath);
      expect(fs.existsSync(bad.cacheDir)).toBe(false);

      // A socket path over the OS limit (108 bytes on Linux, 104 on macOS) is a config error, not a bind failure.
      bad.writeConfig({ maxSize: '1GB', socketPath: path.join(bad.root, 'x'.repeat(110), 'd.sock') });
      const long = await bad.cli(['daemon', 'run']);
      expect(long.code).toBe(2);
      expect(long.stderr).toContain('socketPath');
      expect(long.stderr).toMatch(/10[48] bytes/);
    } finally {
      await bad.cleanup();
    }
  });
});
