import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSearchPath, loadConfig, parseConfigText, redactConfig, type LoadOptions } from '../../src/config/load.js';
import { CacheError, ErrorCodes } from '../../src/errors.js';

let root: string;
let home: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-'));
  home = path.join(root, 'home');
  fs.mkdirSync(home);
});

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function write(file: string, content: unknown): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

/** Options that never look at the real home, env or cwd. */
function opts(extra: LoadOptions = {}): LoadOptions {
  return { env: {}, home, platform: 'linux', cwd: root, ...extra };
}

function configError(fn: () => unknown): CacheError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CacheError);
    expect((err as CacheError).code).toBe(ErrorCodes.CONFIG);
    expect((err as CacheError).retryable).toBe(false);
    return err as CacheError;
  }
  throw new Error('expected a config error');
}

describe('invalid files name the file and the field', () => {
  it.each([
    ['maxSize "lots"', { maxSize: 'lots' }, 'maxSize: expected a size like "5GB", got "lots"'],
    ['maxSize zero', { maxSize: '0GB' }, 'maxSize: must be at least 1 byte'],
    ['lowWatermark 2', { lowWatermark: 2 }, 'lowWatermark: must be <= 1, got 2'],
    ['lowWatermark 0', { lowWatermark: 0 }, 'lowWatermark: must be > 0, got 0'],
    ['unknown key maxSzie', { maxSzie: '5GB' }, 'maxSzie: unknown key (did you mean "maxSize"?)'],
    ['unknown nested key', { download: { concurency: 2 } }, 'download.concurency: unknown key (did you mean "concurrency"?)'],
    ['unknown origin key', { origins: [{ type: 'directory', path: '/m', endpoint: 'x' }] }, 'origins[0].endpoint: unknown key'],
    ['origins[0].type "ftp"', { origins: [{ type: 'ftp' }] }, 'origins[0].type: expected "huggingface" or "directory", got "ftp"'],
    ['directory origin without path', { origins: [{ type: 'directory' }] }, 'origins[0].path: required'],
    ['endpoint not a URL', { origins: [{ type: 'huggingface', endpoint: 'hub' }] }, 'origins[0].endpoint: expected an http(s) URL, got "hub"'],
    ['endpoint ftp URL', { origins: [{ type: 'huggingface', endpoint: 'ftp://x.org' }] }, 'origins[0].endpoint: expected an http(s) URL'],
    ['download.stallTimeout "soon"', { download: { stallTimeout: 'soon' } }, 'download.stallTimeout: expected a duration like "30s", got "soon"'],
    ['download.concurrency 0', { download: { concurrency: 0 } }, 'download.concurrency: must be >= 1, got 0'],
    ['download.concurrency 1.5', { download: { concurrency: 1.5 } }, 'download.concurrency: expected a whole number, got 1.5'],
    ['download.retries -1', { download: { retries: -1 } }, 'download.retries: must be >= 0, got -1'],
    ['download.minFree "much"', { download: { minFree: 'much' } }, 'download.minFree: expected a size like "5GB", got "much"'],
    ['retryMax below retryBase', { download: { retryBase: '10s', retryMax: '1s' } }, 'download.retryMax: must be at least download.retryBase (10000 ms)'],
    ['leaseTtl "0s"', { leaseTtl: '0s' }, 'leaseTtl: must be at least 1 ms'],
    ['offline "yes"', { offline: 'yes' }, 'offline: expected true or false, got "yes"'],
    ['log.level "loud"', { log: { level: 'loud' } }, 'log.level: expected "fatal" or "error" or "warn" or "info" or "debug" or "trace" or "silent", got "loud"'],
    ['metrics.port 70000', { metrics: { port: 70000 } }, 'metrics.port: must be <= 65535, got 70000'],
    ['metrics.host given', { metrics: { host: '0.0.0.0' } }, 'metrics.host: unknown key'],
    ['alias with a slash', { models: { 'a/b': 'x/y' } }, 'models["a/b"]: alias "a/b" must start with a letter or digit'],
    ['empty model reference', { models: { tiny: '' } }, 'models.tiny: must not be empty'],
    ['suite without command', { benchmark: { suites: { unit: { runs: 3 } } } }, 'benchmark.suites.unit.command: required'],
    ['suite target "fast"', { benchmark: { suites: { unit: { command: 'x', target: 'fast' } } } }, 'benchmark.suites.unit.target: expected a duration like "30s", got "fast"'],
    ['frameLimit too small', { frameLimit: 10 }, 'frameLimit: must be at least 1024 bytes, got 10'],
    ['cacheDir ~user', { cacheDir: '~bob/cache' }, 'cacheDir: "~bob/cache": only "~" and "~/..." are expanded'],
    ['top level not an object', [], '(top level): expected an object, got []'],
  ])('%s', (_name, content, expected) => {
    const file = write(path.join(root, 'cfg', 'cache-config.json'), content);
    const err = configError(() => loadConfig(opts({ configPath: file })));
    expect(err.message).toContain(`${file}: ${expected}`);
  });

  it('lists every problem, one line each, and names the first field in details', () => {
    const file = write(path.join(root, 'c.json'), { maxSize: 'lots', lowWatermark: 2 });
    const err = configError(() => loadConfig(opts({ configPath: file })));
    expect(err.message.split('\n')).toEqual([
      `${file}: maxSize: expected a size like "5GB", got "lots"`,
      `${file}: lowWatermark: must be <= 1, got 2`,
    ]);
    expect(err.details).toMatchObject({ file, field: 'maxSize' });
  });

  it.each([
    ['a socket path of 104 bytes on darwin', 'darwin', 104, 'shorter than 104 bytes on darwin'],
    ['a socket path of 108 bytes on linux', 'linux', 108, 'shorter than 108 bytes on linux'],
  ] as const)('rejects %s', (_name, platform, bytes, expected) => {
    const sock = path.join(root, 's'.repeat(bytes - root.length - 1));
    expect(Buffer.byteLength(sock)).toBe(bytes);
    const file = write(path.join(root, 'c.json'), { socketPath: sock });
    const err = configError(() => loadConfig(opts({ configPath: file, platform })));
    expect(err.message).toContain(`${file}: socketPath: ${JSON.stringify(sock)} is ${bytes} bytes`);
    expect(err.message).toContain(expected);
  });

  it('accepts a socket path one byte under the limit', () => {
    const sock = path.join(root, 's'.repeat(103 - root.length - 1));
    const file = write(path.join(root, 'c.json'), { socketPath: sock });
    expect(loadConfig(opts({ configPath: file, platform: 'darwin' })).socketPath).toBe(sock);
  });

  it('names socketPath when the default socket under a deep cacheDir is too long', () => {
    const file = write(path.join(root, 'c.json'), { cacheDir: path.join(root, 'd'.repeat(90)) });
    const err = configError(() => loadConfig(opts({ configPath: file, platform: 'darwin' })));
    expect(err.message).toContain(`${file}: socketPath:`);
    expect(err.message).toContain('defaults to <cacheDir>/run/daemon.sock');
  });

  it('names VOCORIZE_CACHE_SOCKET when the env socket is too long', () => {
    const err = configError(() => loadConfig(opts({ env: { VOCORIZE_CACHE_SOCKET: `/tmp/${'x'.repeat(120)}` } })));
    expect(err.message).toMatch(/^environment: VOCORIZE_CACHE_SOCKET \(socketPath\): .* shorter than 108 bytes on linux/);
  });

  it.each([
    ['a missing comma', '{\n  "maxSize": "5GB"\n  "leaseTtl": "30m"\n}', 3, 3, 'expected "," or "}" after a property value'],
    ['a trailing comma', '{\n  "maxSize": "5GB",\n}', 3, 1, 'trailing comma before "}"'],
    ['a comment', '{\n  // the limit\n  "maxSize": "5GB"\n}', 2, 3, 'comments are not allowed in JSON'],
    ['single quotes', "{ 'maxSize': 1 }", 1, 3, 'JSON strings use double quotes'],
    ['an unterminated string', '{ "maxSize": "5GB }', 1, 14, 'unterminated string'],
    ['an empty file', '  \n', 2, 1, 'the file is empty'],
    ['text after the value', '{}\n{}', 2, 1, 'expected the end of the file'],
    ['a duplicate key', '{\n  "download": {\n    "retries": 1,\n    "retries": 2\n  }\n}', 4, 5, 'download.retries: key given twice'],
  ])('reports malformed JSON (%s) with line and column', (_name, text, line, column, expected) => {
    const file = write(path.join(root, 'c.json'), text);
    const err = configError(() => loadConfig(opts({ configPath: file })));
    expect(err.message).toContain(`${file}:${line}:${column}: invalid JSON: `);
    expect(err.message).toContain(expected);
    expect(err.details).toMatchObject({ file, line, column });
  });

  it('accepts a UTF-8 byte order mark', () => {
    const file = write(path.join(root, 'c.json'), '\ufeff{"maxSize": "1GB"}');
    expect(loadConfig(opts({ configPath: file })).maxSize).toBe(1e9);
  });

  it('refuses pathological nesting with a message, not a stack overflow', () => {
    const file = write(path.join(root, 'c.json'), `{"models": ${'['.repeat(5000)}${']'.repeat(5000)}}`);
    expect(configError(() => loadConfig(opts({ configPath: file }))).message).toContain('nesting deeper than');
  });

  it('names a --config file that does not exist', () => {
    const file = path.join(root, 'nope.json');
    const err = configError(() => loadConfig(opts({ configPath: file })));
    expect(err.message).toBe(`${file}: cannot read the config file given by --config: no such file`);
  });

  it('names a VOCORIZE_CACHE_CONFIG file that does not exist', () => {
    const file = path.join(root, 'nope.json');
    const err = configError(() => loadConfig(opts({ env: { VOCORIZE_CACHE_CONFIG: file } })));
    expect(err.message).toBe(`${file}: cannot read the config file given by VOCORIZE_CACHE_CONFIG: no such file`);
  });

  it('refuses a directory as config file', () => {
    const err = configError(() => loadConfig(opts({ configPath: root })));
    expect(err.message).toContain(`${root}: the config file given by --config is not a regular file`);
  });
});

describe('the documented example config', () => {
  const example = {
    cacheDir: '/path/to/cache',
    socketPath: '/path/to/daemon.sock',
    maxSize: '5GB',
    lowWatermark: 0.9,
    origins: [
      { type: 'huggingface', endpoint: 'https://huggingface.co' },
      { type: 'directory', path: '/mnt/model-mirror' },
    ],
    models: {
      'whisper-tiny': 'argmaxinc/whisperkit-coreml@main:openai_whisper-tiny',
      'whisper-base': 'argmaxinc/whisperkit-coreml@main:openai_whisper-base',
      'mlx-tiny': 'mlx-community/whisper-tiny',
    },
    download: { concurrency: 4, retries: 4, stallTimeout: '30s' },
    leaseTtl: '30m',
    offline: false,
    log: { level: 'info' },
  };

  it('validates as is and resolves to the documented values', () => {
    const file = write(path.join(root, 'cache-config.json'), example);
    const c = loadConfig(opts({ configPath: file }));
    expect(c).toEqual({
      source: { kind: 'flag', path: file },
      cacheDir: '/path/to/cache',
      socketPath: '/path/to/daemon.sock',
      maxSize: 5e9,
      lowWatermark: 0.9,
      origins: [
        { type: 'huggingface', endpoint: 'https://huggingface.co', token: null, tokenSource: null },
        { type: 'directory', path: '/mnt/model-mirror' },
      ],
      models: example.models,
      download: {
        concurrency: 4,
        perOrigin: 4,
        retries: 4,
        stallTimeoutMs: 30_000,
        retryBaseMs: 500,
        retryMaxMs: 30_000,
        minFreeBytes: 100e6,
      },
      leaseTtlMs: 1_800_000,
      revalidateAfterMs: 86_400_000,
      offline: false,
      accounting: { retentionMs: 90 * 86_400_000, flushIntervalMs: 250, flushBatch: 256 },
      log: { level: 'info', file: null },
      metrics: { port: null, host: '127.0.0.1' },
      benchmark: { suites: {} },
      frameLimitBytes: 1024 * 1024,
      hubMirror: null,
    });
  });
});

describe('where the config comes from', () => {
  const userFile = () => path.join(home, '.config', 'vocorize', 'cache-config.json');

  it('falls back to built-in linux defaults under XDG dirs', () => {
    const c = loadConfig(opts());
    expect(c.source).toEqual({ kind: 'defaults', path: null });
    expect(c.cacheDir).toBe(path.join(home, '.cache', 'vocorize', 'models'));
    expect(c.socketPath).toBe(path.join(home, '.cache', 'vocorize', 'models', 'run', 'daemon.sock'));
    expect(c.origins).toEqual([{ type: 'huggingface', endpoint: 'https://huggingface.co', token: null, tokenSource: null }]);
    expect(c.maxSize).toBe(5e9);
  });

  it('honours absolute XDG_CACHE_HOME and XDG_CONFIG_HOME and ignores relative ones', () => {
    const xdgCache = path.join(root, 'xc');
    const xdgConfig = path.join(root, 'xg');
    write(path.join(xdgConfig, 'vocorize', 'cache-config.json'), { maxSize: '2GB' });
    const c = loadConfig(opts({ env: { XDG_CACHE_HOME: xdgCache, XDG_CONFIG_HOME: xdgConfig } }));
    expect(c.source).toEqual({ kind: 'user', path: path.join(xdgConfig, 'vocorize', 'cache-config.json') });
    expect(c.cacheDir).toBe(path.join(xdgCache, 'vocorize', 'models'));
    expect(c.maxSize).toBe(2e9);
    const rel = loadConfig(opts({ env: { XDG_CACHE_HOME: 'rel/cache', XDG_CONFIG_HOME: 'rel/config' } }));
    expect(rel.cacheDir).toBe(path.join(home, '.cache', 'vocorize', 'models'));
  });

  it('uses the macOS locations on darwin', () => {
    const file = write(path.join(home, 'Library', 'Application Support', 'Vocorize', 'cache-config.json'), { maxSize: '3GB' });
    const c = loadConfig(opts({ platform: 'darwin', env: { XDG_CONFIG_HOME: path.join(root, 'ignored') } }));
    expect(c.source).toEqual({ kind: 'user', path: file });
    expect(c.cacheDir).toBe(path.join(home, 'Library', 'Caches', 'Vocorize', 'models'));
    expect(c.maxSize).toBe(3e9);
  });

  it('prefers --config over VOCORIZE_CACHE_CONFIG over the user file over defaults', () => {
    const flagFile = write(path.join(root, 'flag', 'c.json'), { maxSize: '1GB' });
    const envFile = write(path.join(root, 'env', 'c.json'), { maxSize: '2GB' });
    write(userFile(), { maxSize: '3GB' });
    const env = { VOCORIZE_CACHE_CONFIG: envFile };

    const byFlag = loadConfig(opts({ configPath: flagFile, env }));
    expect([byFlag.source, byFlag.maxSize]).toEqual([{ kind: 'flag', path: flagFile }, 1e9]);
    const byEnv = loadConfig(opts({ env }));
    expect([byEnv.source, byEnv.maxSize]).toEqual([{ kind: 'env', path: envFile }, 2e9]);
    const byUser = loadConfig(opts());
    expect([byUser.source, byUser.maxSize]).toEqual([{ kind: 'user', path: userFile() }, 3e9]);
    fs.rmSync(userFile());
    const byDefaults = loadConfig(opts());
    expect([byDefaults.source, byDefaults.maxSize]).toEqual([{ kind: 'defaults', path: null }, 5e9]);
  });

  it('does not fall back when the chosen file is invalid', () => {
    write(userFile(), { maxSize: '3GB' });
    const bad = write(path.join(root, 'bad.json'), { maxSize: 'lots' });
    expect(configError(() => loadConfig(opts({ configPath: bad }))).message).toContain(bad);
  });

  it('resolves a relative --config against cwd', () => {
    write(path.join(root, 'sub', 'c.json'), { maxSize: '1GB' });
    const c = loadConfig(opts({ configPath: 'sub/c.json' }));
    expect(c.source.path).toBe(path.join(root, 'sub', 'c.json'));
  });

  it('lists the search path in order, flag and env only when given', () => {
    const where = (o: LoadOptions) => configSearchPath(o).map(({ kind, path }) => ({ kind, path }));
    expect(where(opts())).toEqual([{ kind: 'user', path: userFile() }]);
    expect(where(opts({ configPath: 'a.json', env: { VOCORIZE_CACHE_CONFIG: '/etc/b.json' } }))).toEqual([
      { kind: 'flag', path: path.join(root, 'a.json') },
      { kind: 'env', path: '/etc/b.json' },
      { kind: 'user', path: userFile() },
    ]);
  });
});

describe('paths', () => {
  it("resolves relative paths against the config file's folder, not cwd", () => {
    const dir = path.join(root, 'conf');
    const file = write(path.join(dir, 'c.json'), {
      cacheDir: 'cache',
      socketPath: './run/../s.sock',
      origins: [{ type: 'directory', path: '../mirror' }],
      log: { file: 'logs/daemon.log' },
      benchmark: { suites: { unit: { command: 'npm test', cwd: '..' }, other: { command: 'true' } } },
    });
    const c = loadConfig(opts({ configPath: file, cwd: path.join(root, 'elsewhere') }));
    expect(c.cacheDir).toBe(path.join(dir, 'cache'));
    expect(c.socketPath).toBe(path.join(dir, 's.sock'));
    expect(c.origins).toEqual([{ type: 'directory', path: path.join(root, 'mirror') }]);
    expect(c.log.file).toBe(path.join(dir, 'logs', 'daemon.log'));
    expect(c.benchmark.suites.unit?.cwd).toBe(root);
    expect(c.benchmark.suites.other?.cwd).toBe(dir);
  });

  it('expands ~ to the home directory', () => {
    const file = write(path.join(root, 'c.json'), {
      cacheDir: '~/models',
      socketPath: '~',
      origins: [{ type: 'directory', path: '~/mirror' }],
    });
    const c = loadConfig(opts({ configPath: file }));
    expect(c.cacheDir).toBe(path.join(home, 'models'));
    expect(c.socketPath).toBe(home);
    expect(c.origins).toEqual([{ type: 'directory', path: path.join(home, 'mirror') }]);
  });

  it('defaults the socket under the cache dir, following its override', () => {
    const file = write(path.join(root, 'c.json'), { cacheDir: '/srv/cache' });
    expect(loadConfig(opts({ configPath: file })).socketPath).toBe('/srv/cache/run/daemon.sock');
  });
});

describe('env overrides', () => {
  it('VOCORIZE_CACHE_DIR and VOCORIZE_CACHE_SOCKET override the file, relative to cwd, ~ expanded', () => {
    const file = write(path.join(root, 'conf', 'c.json'), { cacheDir: 'a', socketPath: 'b.sock' });
    const c = loadConfig(opts({ configPath: file, env: { VOCORIZE_CACHE_DIR: 'envcache', VOCORIZE_CACHE_SOCKET: '~/s.sock' } }));
    expect(c.cacheDir).toBe(path.join(root, 'envcache'));
    expect(c.socketPath).toBe(path.join(home, 's.sock'));
  });

  it('the default socket follows VOCORIZE_CACHE_DIR', () => {
    const c = loadConfig(opts({ env: { VOCORIZE_CACHE_DIR: '/srv/c' } }));
    expect([c.cacheDir, c.socketPath]).toEqual(['/srv/c', '/srv/c/run/daemon.sock']);
  });

  it('HF_ENDPOINT applies to huggingface origins without an explicit endpoint', () => {
    const file = write(path.join(root, 'c.json'), {
      origins: [{ type: 'huggingface' }, { type: 'huggingface', endpoint: 'https://hub.example.com/' }],
    });
    const c = loadConfig(opts({ configPath: file, env: { HF_ENDPOINT: 'http://127.0.0.1:9999/' } }));
    expect(c.origins.map((o) => (o.type === 'huggingface' ? o.endpoint : null))).toEqual([
      'http://127.0.0.1:9999',
      'https://hub.example.com',
    ]);
    const d = loadConfig(opts({ env: { HF_ENDPOINT: 'http://mirror.local' } }));
    expect(d.origins).toMatchObject([{ type: 'huggingface', endpoint: 'http://mirror.local' }]);
  });

  it('rejects an HF_ENDPOINT that is not an http(s) URL, naming it', () => {
    const err = configError(() => loadConfig(opts({ env: { HF_ENDPOINT: 'nonsense' } })));
    expect(err.message).toBe('environment: HF_ENDPOINT: expected an http(s) URL, got "nonsense"');
  });

  it.each([
    [{}, false, {}, false],
    [{ offline: true }, true, {}, true],
    [{}, false, { HF_HUB_OFFLINE: '1' }, true],
    [{}, false, { VOCORIZE_CACHE_OFFLINE: 'true' }, true],
    [{ offline: true }, true, { VOCORIZE_CACHE_OFFLINE: '0' }, false],
    [{}, false, { HF_HUB_OFFLINE: '1', VOCORIZE_CACHE_OFFLINE: '0' }, false],
    [{}, false, { HF_HUB_OFFLINE: '0' }, false],
  ])('offline: file %j, env %j', (content, _fileOffline, env, expected) => {
    const file = write(path.join(root, 'c.json'), content);
    expect(loadConfig(opts({ configPath: file, env })).offline).toBe(expected);
  });

  it('rejects an offline flag that is not a boolean word', () => {
    const err = configError(() => loadConfig(opts({ env: { HF_HUB_OFFLINE: 'maybe' } })));
    expect(err.message).toContain('environment: HF_HUB_OFFLINE: expected 1 or 0');
  });
});

describe('tokens', () => {
  const hf = (c: ReturnType<typeof loadConfig>, i = 0) => {
    const o = c.origins[i];
    if (o?.type !== 'huggingface') throw new Error('not a huggingface origin');
    return { token: o.token, tokenSource: o.tokenSource };
  };
  const tokenFile = () => path.join(home, '.cache', 'huggingface', 'token');

  it('takes the origin token first, then HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then $HF_HOME/token', () => {
    write(tokenFile(), 'hf_file\n');
    const withToken = write(path.join(root, 'a.json'), { origins: [{ type: 'huggingface', token: 'hf_cfg' }] });
    const env = { HF_TOKEN: 'hf_env', HUGGING_FACE_HUB_TOKEN: 'hf_old' };
    expect(hf(loadConfig(opts({ configPath: withToken, env })))).toEqual({ token: 'hf_cfg', tokenSource: 'config' });
    expect(hf(loadConfig(opts({ env })))).toEqual({ token: 'hf_env', tokenSource: 'HF_TOKEN' });
    expect(hf(loadConfig(opts({ env: { HUGGING_FACE_HUB_TOKEN: 'hf_old' } })))).toEqual({
      token: 'hf_old',
      tokenSource: 'HUGGING_FACE_HUB_TOKEN',
    });
    expect(hf(loadConfig(opts()))).toEqual({ token: 'hf_file', tokenSource: tokenFile() });
    fs.rmSync(tokenFile());
    expect(hf(loadConfig(opts()))).toEqual({ token: null, tokenSource: null });
  });

  it('reads the token file under HF_HOME, or at HF_TOKEN_PATH', () => {
    const hfHome = path.join(root, 'hfhome');
    write(path.join(hfHome, 'token'), '  hf_home  \n');
    write(path.join(root, 'elsewhere', 'tok'), 'hf_path');
    expect(hf(loadConfig(opts({ env: { HF_HOME: hfHome } })))).toEqual({ token: 'hf_home', tokenSource: path.join(hfHome, 'token') });
    expect(hf(loadConfig(opts({ env: { HF_HOME: hfHome, HF_TOKEN_PATH: path.join(root, 'elsewhere', 'tok') } })))).toEqual({
      token: 'hf_path',
      tokenSource: path.join(root, 'elsewhere', 'tok'),
    });
  });

  it('ignores empty tokens', () => {
    write(tokenFile(), '\n');
    expect(hf(loadConfig(opts({ env: { HF_TOKEN: '   ' } })))).toEqual({ token: null, tokenSource: null });
  });

  it('token: null sends no token even when HF_TOKEN is set', () => {
    const file = write(path.join(root, 'c.json'), { origins: [{ type: 'huggingface', endpoint: 'http://mirror', token: null }] });
    expect(hf(loadConfig(opts({ configPath: file, env: { HF_TOKEN: 'hf_env' } })))).toEqual({ token: null, tokenSource: null });
  });

  it('never puts a token in an error message', () => {
    const file = write(path.join(root, 'c.json'), { origins: [{ type: 'huggingface', token: 'hf_secret123' }], maxSize: 'lots' });
    const err = configError(() => loadConfig(opts({ configPath: file, env: { HF_TOKEN: 'hf_env_secret' } })));
    expect(err.message).not.toContain('hf_secret123');
    expect(JSON.stringify(err.toJSON())).not.toContain('secret');
  });

  it('redactConfig hides tokens and secret-looking suite env values, and leaves the input untouched', () => {
    const file = write(path.join(root, 'c.json'), {
      origins: [{ type: 'huggingface', token: 'hf_secret123' }, { type: 'huggingface', token: null }],
      benchmark: { suites: { unit: { command: 'x', env: { API_TOKEN: 'abc', MODE: 'fast' } } } },
    });
    const c = loadConfig(opts({ configPath: file }));
    const red = redactConfig(c);
    const text = JSON.stringify(red);
    expect(text).not.toContain('hf_secret123');
    expect(text).not.toContain('"abc"');
    expect(red.origins).toEqual([
      { type: 'huggingface', endpoint: 'https://huggingface.co', token: '***', tokenSource: 'config' },
      { type: 'huggingface', endpoint: 'https://huggingface.co', token: null, tokenSource: null },
    ]);
    expect(red.benchmark.suites.unit?.env).toEqual({ API_TOKEN: '***', MODE: 'fast' });
    expect(hf(c)).toEqual({ token: 'hf_secret123', tokenSource: 'config' });
    expect(c.benchmark.suites.unit?.env.API_TOKEN).toBe('abc');
  });
});

describe('parseConfigText (reloads)', () => {
  it('validates text against its file and infers the source kind', () => {
    const userFile = path.join(home, '.config', 'vocorize', 'cache-config.json');
    const c = parseConfigText('{"maxSize": "2GB", "cacheDir": "c"}', userFile, opts());
    expect(c.source).toEqual({ kind: 'user', path: userFile });
    expect(c.cacheDir).toBe(path.join(home, '.config', 'vocorize', 'c'));
    expect(c.maxSize).toBe(2e9);
    const other = path.join(root, 'x.json');
    expect(parseConfigText('{}', other, opts()).source).toEqual({ kind: 'flag', path: other });
    expect(parseConfigText('{}', other, opts({ env: { VOCORIZE_CACHE_CONFIG: other } })).source.kind).toBe('env');
  });

  it('rejects an invalid edit naming the file and field', () => {
    const file = path.join(root, 'x.json');
    expect(configError(() => parseConfigText('{"lowWatermark": 1.5}', file, opts())).message).toBe(
      `${file}: lowWatermark: must be <= 1, got 1.5`,
    );
  });
});
