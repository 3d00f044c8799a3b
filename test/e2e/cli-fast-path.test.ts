import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, makeSandbox, type Sandbox } from './harness.js';

/**
 * The shipped CLI (dist/cli/main.js, bundled) takes its fast path for get, release, status and daemon
 * status. Here each of those lines runs twice, through the shipped entry and through the full CLI alone
 * (program.ts of the per-module build, commander for every line), against the same daemon: stdout,
 * stderr and the exit code must be the same. And the fast path must load only its own two files.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const PROGRAM = path.join(ROOT, 'dist/cli/program.js');

let sb: Sandbox;
let mirror: string;

function run(args: string[], opts: { full?: boolean; env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const argv = opts.full ? [path.join(sb.root, 'full-cli.mjs'), ...args] : [...(opts.nodeArgs ?? []), CLI, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { env: { ...sb.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** What legitimately differs between two runs a moment apart: uptimes and lease ids. */
const steady = (s: string) =>
  s
    .replace(/up [0-9][0-9.]* (ms|s|min|h)( [0-9]+ (s|min))?/g, 'up <t>')
    .replace(/"uptimeMs": [0-9]+/g, '"uptimeMs": <t>')
    .replace(/l-[0-9a-f]{8,}/g, 'l-<id>')
    .replace(/"expiresAt": [0-9]+/g, '"expiresAt": <t>')
    .replace(/expires in [0-9][^;]*;/g, 'expires in <t>;');

async function same(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const fast = await run(args, { env });
  const full = await run(args, { full: true, env });
  expect({ code: fast.code, stdout: steady(fast.stdout), stderr: steady(fast.stderr) }, args.join(' ')).toEqual({
    code: full.code,
    stdout: steady(full.stdout),
    stderr: steady(full.stderr),
  });
  return fast;
}

beforeAll(async () => {
  sb = makeSandbox();
  fs.writeFileSync(path.join(sb.root, 'full-cli.mjs'), `const { runProgram } = await import(${JSON.stringify(PROGRAM)});\nawait runProgram(process.argv.slice(2));\n`);
  mirror = path.join(sb.root, 'mirror');
  fs.mkdirSync(path.join(mirror, 'org', 'tiny'), { recursive: true });
  fs.writeFileSync(path.join(mirror, 'org', 'tiny', 'config.json'), '{"a":1}\n');
  fs.writeFileSync(path.join(mirror, 'org', 'tiny', 'model.bin'), 'weights\n');
  sb.writeConfig({ origins: [{ type: 'directory', path: mirror }], models: { tiny: 'org/tiny' } });
  const start = await sb.cli(['daemon', 'start']);
  expect(start.code, start.stderr).toBe(0);
  const first = await sb.cli(['get', 'tiny']);
  expect(first.code, first.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await sb?.cleanup();
});

describe('the fast path prints what the full CLI prints', () => {
  it('get (hit), with and without --json, --hold, --client and --run; release of a held and of an unknown lease', async () => {
    expect((await same(['get', 'tiny'])).stdout).toMatch(/snapshots\/org--tiny\/[0-9a-f]{40}\n$/);
    await same(['get', 'org/tiny', '--json']);
    await same(['--json', 'get', 'tiny', '--client', 'swift', '--run=r1']);
    await same(['get', 'tiny', '--include', '*.json'], { VOCORIZE_CACHE_CLIENT: 'env-client' });
    const held = await same(['get', 'tiny', '--hold']);
    expect(held.stderr).toMatch(/^lease: l-/);
    const lease = /lease: (l-[0-9a-f]+)/.exec(held.stderr)![1]!;
    // The first release ends it; the second run of the pair finds it already ended, so compare each with its own kind.
    const fastRelease = await run(['release', lease]);
    expect(fastRelease).toMatchObject({ code: 0, stdout: `released ${lease}\n`, stderr: '' });
    await same(['release', lease]);
    await same(['release', 'l-unknown', '--json']);
  });

  it('errors from the daemon: the same message, code and exit status', async () => {
    const r = await same(['get', 'org/absent']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[E_/);
    await same(['get', 'org/absent', '--json']);
  });

  it('status and daemon status', async () => {
    await same(['status']);
    await same(['status', '--json']);
    await same(['daemon', 'status']);
    await same(['daemon', 'status', '--json']);
  });

  it('lines it hands over: no daemon on the socket, a config the quick reading refuses, usage errors', async () => {
    const elsewhere = path.join(sb.root, 'run', 'none.sock');
    const r = await same(['get', 'tiny', '--no-autostart', '--socket', elsewhere]);
    expect(r.code).toBe(3);
    expect((await same(['daemon', 'status', '--socket', elsewhere])).code).toBe(3);
    const bad = path.join(sb.root, 'bad-config.json');
    fs.writeFileSync(bad, JSON.stringify({ maxSize: 'lots' }));
    const c = await same(['--config', bad, 'get', 'tiny']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('maxSize');
    await same(['get', 'tiny', 'extra']);
    await same(['get', 'tiny', '--client']);
  });
});

describe('what the fast path loads', () => {
  /** Every module URL a run of the shipped CLI loads, recorded by a loader hook. */
  async function loaded(args: string[]): Promise<string[]> {
    const out = path.join(sb.root, `loaded-${process.hrtime.bigint()}.txt`);
    const hooks = path.join(sb.root, 'hooks.mjs');
    fs.writeFileSync(
      hooks,
      `import fs from 'node:fs';\nexport async function load(url, context, next) { fs.appendFileSync(${JSON.stringify(out)}, url + '\\n'); return next(url, context); }\n`,
    );
    const register = path.join(sb.root, 'register.mjs');
    fs.writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hooks}`)});\n`);
    const r = await run(args, { nodeArgs: ['--import', register] });
    expect(r.code, r.stderr).toBe(0);
    return fs.readFileSync(out, 'utf8').trim().split('\n').filter((u) => u.startsWith('file:') && !u.endsWith('/register.mjs'));
  }

  it('get and status load dist/cli/main.js and one chunk: no commander, zod, pino, node-ipc or SQLite', async () => {
    for (const args of [['get', 'tiny'], ['status'], ['daemon', 'status'], ['release', 'l-x']]) {
      const urls = await loaded(args);
      expect(urls.some((u) => u.endsWith('/dist/cli/main.js')), args.join(' ')).toBe(true);
      expect(urls.filter((u) => u.includes('node_modules')), args.join(' ')).toEqual([]);
      expect(urls.length, `${args.join(' ')}: ${urls.join(', ')}`).toBe(2);
    }
  });

  it('a command of the full CLI loads it on demand (and still works)', async () => {
    const urls = await loaded(['list']);
    expect(urls.length).toBeGreaterThan(2);
    expect(urls.some((u) => u.includes('node_modules/commander') || /\/chunks\/program-/.test(u))).toBe(true);
  });
});
