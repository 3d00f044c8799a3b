import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../../dev/fixtures/fakeHub.js';
import { generateBytes, mlxRepo, sha256Hex } from '../../dev/fixtures/generate.js';
import { makeDirs } from '../../src/config/makeDirs.js';
import { ErrorCodes } from '../../src/errors.js';
import { assertListingStorable } from '../../src/origin/listingRules.js';
import { ALIASES, getJson } from '../e2e/daemon-helpers.js';
import { makeSandbox, type Sandbox } from '../e2e/harness.js';
import { readIndex, v1, walk } from './helpers.js';

/**
 * Bad filesystem and listing input gets its own error code and a message naming the path (never
 * E_INTERNAL, never a spin): listings that cannot be laid out on disk are refused when resolved, before
 * any file is downloaded; an unwritable blob folder or index WAL is E_CACHE_READ_ONLY and hits keep being
 * served; a cacheDir under a dangling link or on /proc or /sys is a config error (exit 2) for every command.
 * Immutable-flag cases need root and chattr: they skip with a message otherwise.
 */

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
let hub: FakeHub;
let sb: Sandbox;
/** Paths made immutable by a test; cleared in afterAll whatever happens. */
const immutable: string[] = [];

interface ErrorJson {
  error?: { code: string; message: string; retryable: boolean };
}

function chattr(flag: '+i' | '-i', p: string): void {
  execFileSync('chattr', [flag, p], { stdio: 'pipe' });
}

/** Why chattr +i cannot be used on `dir`'s filesystem here, or '' when it can. */
function chattrUnavailable(dir: string): string {
  if (!isRoot) return 'not running as root: cannot set immutable flags';
  const probe = path.join(dir, '.chattr-probe');
  fs.writeFileSync(probe, '');
  try {
    chattr('+i', probe);
    chattr('-i', probe);
    return '';
  } catch (err) {
    return `chattr is unavailable here (${(err as Error).message.split('\n')[0]})`;
  } finally {
    fs.rmSync(probe, { force: true });
  }
}

/** A failed `--json get`: exit 1, the error object from stdout (or stderr). */
async function failedGet(model: string): Promise<{ code: string; message: string; retryable: boolean }> {
  const r = await sb.cli(['--json', 'get', model], { timeoutMs: 60_000 });
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
  const text = `${r.stdout}\n${r.stderr}`;
  let parsed: ErrorJson | null = null;
  try {
    parsed = JSON.parse(r.stdout) as ErrorJson;
  } catch {
    parsed = null;
  }
  if (parsed?.error) return parsed.error;
  const m = /\[(E_[A-Z_]+)\]/.exec(text);
  return { code: m?.[1] ?? 'none', message: text, retryable: false };
}

const fileGets = (repo: string): number => hub.counters.requests(`/${repo}/resolve`, 'GET');

beforeAll(async () => {
  hub = await startFakeHub({ repos: [mlxRepo('mlx-community/whisper-tiny')], treePageSize: 1000 });
  sb = makeSandbox({ endpoint: hub.endpoint, models: { ...ALIASES }, config: {} });
  sb.writeConfig({ download: { concurrency: 4, retries: 1, stallTimeout: '5s', retryBase: '10ms', retryMax: '50ms' } });
});

afterAll(async () => {
  for (const p of immutable) {
    try {
      chattr('-i', p);
    } catch {
      // already cleared
    }
  }
  await sb?.cleanup();
  await hub?.close();
});

describe('listings that cannot be stored are refused when resolved', () => {
  it('a file and a folder of the same name (a, a/b): E_BAD_LISTING naming both, nothing downloaded', async () => {
    const repo = 'fs-errors/file-and-folder';
    hub.publish({
      id: repo,
      files: [
        { path: 'config.json', bytes: generateBytes('c', 100), lfs: false },
        { path: 'a', bytes: generateBytes('a', 100), lfs: false },
        { path: 'a/b', bytes: generateBytes('ab', 100), lfs: false },
      ],
    });
    const err = await failedGet(repo);
    expect(err.code, err.message).toBe(ErrorCodes.BAD_LISTING);
    expect(err.message).toContain('"a"');
    expect(err.message).toContain('"a/b"');
    expect(err.message).toContain('retrying will not help');
    expect(err.retryable).toBe(false);
    expect(fileGets(repo)).toBe(0);
    expect(readIndex(sb, (db) => db.prepare('SELECT key FROM models WHERE repo = ?').all(repo))).toEqual([]);
  });

  it('a 300-character path segment: E_PATH_TOO_LONG naming the path, nothing downloaded', async () => {
    const repo = 'fs-errors/long-name';
    const long = `${'n'.repeat(300)}.bin`;
    hub.publish({
      id: repo,
      files: [
        { path: 'config.json', bytes: generateBytes('c', 100), lfs: false },
        { path: `sub/${long}`, bytes: generateBytes('long', 100), lfs: false },
      ],
    });
    const err = await failedGet(repo);
    expect(err.code, err.message).toBe(ErrorCodes.PATH_TOO_LONG);
    expect(err.message).toContain('sub/nnnn');
    expect(err.message).toContain('255');
    expect(err.retryable).toBe(false);
    expect(fileGets(repo)).toBe(0);
  });

  it('the rules on their own: segment and path bounds in bytes, prefix conflicts at any depth', () => {
    expect(() => assertListingStorable(['a/b/c', 'a/b/d', 'a/e'], 'x')).not.toThrow();
    expect(() => assertListingStorable([`${'é'.repeat(128)}`], 'x')).toThrow(/256-byte name/);
    expect(() => assertListingStorable([`${'d/'.repeat(520)}x`], 'x')).toThrow(/longer than the 1024/);
    expect(() => assertListingStorable(['a/b/c', 'a/b'], 'x')).toThrow(/"a\/b" is a file and also the folder of "a\/b\/c"/);
    expect(() => assertListingStorable(['ab', 'a/b'], 'x')).not.toThrow();
  });
});

describe('an unwritable cache: E_CACHE_READ_ONLY naming the path, hits keep being served', () => {
  it('an immutable blob folder (chattr +i blobs/sha256/<xx>)', async (ctx) => {
    const hit = await getJson(sb, 'mlx-tiny');
    const why = chattrUnavailable(sb.cacheDir);
    if (why) {
      // eslint-disable-next-line no-console
      console.log(`reliability/fsErrors: immutable blob folder SKIPPED — ${why}`);
      return ctx.skip();
    }
    const spec = mlxRepo('fs-errors/immutable-blob');
    hub.publish(spec);
    const weights = sha256Hex(spec.files.find((f) => f.path === 'weights.npz')!.bytes);
    const folder = path.join(v1(sb), 'blobs', 'sha256', weights.slice(0, 2));
    fs.mkdirSync(folder, { recursive: true });
    chattr('+i', folder);
    immutable.push(folder);
    try {
      const err = await failedGet(spec.id);
      expect(err.code, err.message).toBe(ErrorCodes.CACHE_READ_ONLY);
      expect(err.message).toContain(folder);
      expect(err.message).toContain('lsattr');
      expect(err.retryable).toBe(false);
      const again = await getJson(sb, 'mlx-tiny');
      expect(again.hit).toBe(true);
      expect(again.path).toBe(hit.path);
    } finally {
      chattr('-i', folder);
    }
    expect(walk(path.join(v1(sb), 'tmp')).filter((p) => !/partial-/.test(path.basename(p)))).toEqual([]);
    // Once the flag is cleared the same get succeeds.
    expect((await getJson(sb, spec.id)).hit).toBe(false);
  });

  it('an immutable index WAL (chattr +i index.db-wal)', async (ctx) => {
    await getJson(sb, 'mlx-tiny');
    const why = chattrUnavailable(sb.cacheDir);
    if (why) {
      // eslint-disable-next-line no-console
      console.log(`reliability/fsErrors: immutable WAL SKIPPED — ${why}`);
      return ctx.skip();
    }
    const wal = path.join(v1(sb), 'index.db-wal');
    expect(fs.existsSync(wal)).toBe(true);
    const spec = mlxRepo('fs-errors/immutable-wal');
    hub.publish(spec);
    chattr('+i', wal);
    immutable.push(wal);
    try {
      const err = await failedGet(spec.id);
      expect(err.code, err.message).toBe(ErrorCodes.CACHE_READ_ONLY);
      expect(err.message).toContain(path.join(v1(sb), 'index.db'));
      expect(err.message).toContain('lsattr');
      const again = await getJson(sb, 'mlx-tiny');
      expect(again.hit).toBe(true);
    } finally {
      chattr('-i', wal);
    }
    expect((await getJson(sb, spec.id)).hit).toBe(false);
  });
});

describe('an unusable cacheDir is a config error (exit 2) for every command', () => {
  const COMMANDS = [['stats'], ['list'], ['get', 'mlx-tiny'], ['daemon', 'run']];

  it('a cacheDir under a dangling symbolic link names the cacheDir, the link and the fix', async () => {
    const link = path.join(sb.root, 'gone-link');
    const target = path.join(sb.root, 'missing-target');
    fs.symlinkSync(target, link);
    const cacheDir = path.join(link, 'cache');
    const socketPath = path.join(sb.root, 'run-dangling', 'd.sock');
    const cfg = path.join(sb.root, 'dangling.json');
    fs.writeFileSync(cfg, JSON.stringify({ cacheDir, socketPath, origins: [] }));
    for (const args of COMMANDS) {
      const r = await sb.cli(args, { env: { VOCORIZE_CACHE_CONFIG: cfg }, timeoutMs: 20_000 });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('E_CONFIG');
      expect(r.stderr).toContain(cacheDir);
      expect(r.stderr).toContain(link);
      expect(r.stderr).toContain('dangling');
      expect(r.stderr).toContain(`create ${target}`);
    }
    expect(fs.existsSync(target)).toBe(false);
  });

  it.each([['/proc'], ['/sys']])('a cacheDir under %s is refused up front, never spinning', async (base) => {
    if (!fs.existsSync(base)) return;
    const cacheDir = path.join(base, 'vocorize-cache-test');
    const cfg = path.join(sb.root, `pseudo-${path.basename(base)}.json`);
    fs.writeFileSync(cfg, JSON.stringify({ cacheDir, socketPath: path.join(sb.root, 'run-pseudo', 'd.sock'), origins: [] }));
    for (const args of COMMANDS) {
      const r = await sb.cli(args, { env: { VOCORIZE_CACHE_CONFIG: cfg }, timeoutMs: 20_000 });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('E_CONFIG');
      expect(r.stderr).toContain(cacheDir);
      expect(r.stderr).toContain('not a regular writable filesystem');
    }
  }, 120_000);

  it('a socketPath or log file under /proc is refused the same way', async () => {
    if (!fs.existsSync('/proc/self')) return;
    const cacheDir = path.join(sb.root, 'cache-ok');
    const cases = [
      { field: 'socketPath', cfg: { cacheDir, socketPath: '/proc/vocorize-run/d.sock', origins: [] } },
      { field: 'log.file', cfg: { cacheDir, socketPath: path.join(sb.root, 'run-ok', 'd.sock'), origins: [], log: { file: '/proc/vocorize-log/d.log' } } },
    ];
    for (const c of cases) {
      const cfg = path.join(sb.root, `pseudo-${c.field}.json`);
      fs.writeFileSync(cfg, JSON.stringify(c.cfg));
      const r = await sb.cli(['stats'], { env: { VOCORIZE_CACHE_CONFIG: cfg }, timeoutMs: 20_000 });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('E_CONFIG');
      expect(r.stderr).toContain(c.field);
      expect(r.stderr).toContain('/proc/vocorize-');
    }
  });

  it('the bounded mkdir fails where recursive mkdir would loop (a folder under /proc)', () => {
    if (!fs.existsSync('/proc/self')) return;
    let code: string | undefined;
    try {
      makeDirs('/proc/vocorize-cache-test/a/b');
    } catch (err) {
      code = (err as NodeJS.ErrnoException).code;
    }
    expect(code).toBeDefined();
    expect(code).not.toBe('EEXIST');
  });
});
