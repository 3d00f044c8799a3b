import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSearchPath, loadConfig, type LoadOptions } from '../../src/config/load.js';
import { findProjectConfig } from '../../src/config/paths.js';

/**
 * Callers that carry no environment (cron, Xcode, CI steps) find the repository's own cache-config.json
 * from wherever they run inside it, before the per-user file; --config and VOCORIZE_CACHE_CONFIG still win.
 */
let root: string;
let home: string;
let repo: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-disc-'));
  home = path.join(root, 'home');
  repo = path.join(root, 'work', 'Vocorize');
  fs.mkdirSync(path.join(repo, 'Tests', 'Unit'), { recursive: true });
  fs.mkdirSync(home);
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function write(file: string, value: unknown): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

const opts = (extra: LoadOptions = {}): LoadOptions => ({ env: {}, home, platform: 'linux', ...extra });

describe('config discovery', () => {
  it('finds the repository config from a subdirectory, before the per-user file', () => {
    const projectFile = write(path.join(repo, 'cache-config.json'), { maxSize: '2GB', cacheDir: './.model-cache' });
    write(path.join(home, '.config', 'vocorize', 'cache-config.json'), { maxSize: '9GB' });
    const c = loadConfig(opts({ cwd: path.join(repo, 'Tests', 'Unit') }));
    expect(c.source).toEqual({ kind: 'project', path: projectFile });
    expect(c.maxSize).toBe(2e9);
    // Relative paths in it resolve against the file's folder, not the caller's cwd.
    expect(c.cacheDir).toBe(path.join(repo, '.model-cache'));
  });

  it('the nearest file wins, and the search path says why each candidate is there', () => {
    write(path.join(root, 'work', 'cache-config.json'), { maxSize: '1GB' });
    const nearest = write(path.join(repo, 'cache-config.json'), { maxSize: '3GB' });
    const search = configSearchPath(opts({ cwd: repo }));
    expect(search.map((s) => s.kind)).toEqual(['project', 'user']);
    expect(search[0]!.path).toBe(nearest);
    expect(search[0]!.why).toContain(repo);
    expect(loadConfig(opts({ cwd: repo })).maxSize).toBe(3e9);
  });

  it('--config and VOCORIZE_CACHE_CONFIG still come first', () => {
    write(path.join(repo, 'cache-config.json'), { maxSize: '3GB' });
    const envFile = write(path.join(root, 'env.json'), { maxSize: '4GB' });
    const flagFile = write(path.join(root, 'flag.json'), { maxSize: '5GB' });
    expect(loadConfig(opts({ cwd: repo, env: { VOCORIZE_CACHE_CONFIG: envFile } })).source.kind).toBe('env');
    expect(loadConfig(opts({ cwd: repo, env: { VOCORIZE_CACHE_CONFIG: envFile }, configPath: flagFile })).maxSize).toBe(5e9);
  });

  it('with no file anywhere up the tree the per-user file, then the defaults, apply', () => {
    expect(findProjectConfig(path.join(repo, 'Tests'), () => false)).toBeNull();
    const isFile = (p: string) => p === path.join(root, 'cache-config.json');
    expect(findProjectConfig(path.join(repo, 'Tests'), isFile)).toBe(path.join(root, 'cache-config.json'));
    const c = loadConfig(opts({ cwd: path.join(repo, 'Tests') }));
    // Unless the temp dir itself sits below a cache-config.json, nothing is found.
    if (findProjectConfig(repo, (p) => fs.existsSync(p)) === null) expect(c.source.kind).toBe('defaults');
  });

  it('a directory named cache-config.json is not a config', () => {
    fs.mkdirSync(path.join(repo, 'cache-config.json'));
    expect(configSearchPath(opts({ cwd: repo })).some((s) => s.kind === 'project' && s.path.startsWith(repo))).toBe(false);
  });
});
