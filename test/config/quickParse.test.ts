import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { QUICK_KNOWN_FIELDS, QUICK_MAX_FRAME_LIMIT_BYTES, quickParseConfigFile } from '../../src/config/quickParse.js';
import { quickLoadConfig } from '../../src/config/quickLoad.js';
import { configFileSchema, MAX_FRAME_LIMIT_BYTES } from '../../src/config/schema.js';

/**
 * The quick reading of a config file (no zod) against the schema it stands in for: whatever it accepts,
 * the schema accepts with the same output; what it cannot vouch for is null, never a different answer.
 */

const schema = (v: unknown) => configFileSchema.safeParse(v);

function agrees(v: unknown): void {
  const quick = quickParseConfigFile(v);
  if (quick === null) return;
  const full = schema(v);
  expect(full.success, `quick accepted what the schema refuses: ${JSON.stringify(v)}`).toBe(true);
  expect(quick).toEqual(full.data);
}

// Values near the edges of every field: valid ones, and ones each field must refuse.
const anyScalar = fc.oneof(
  fc.constantFrom(null, true, false, 0, 1, -1, 0.5, 1.5, 1023, 1024, 65535, 65536, 256, 257, 1e6, 1e6 + 1, 2 ** 53, Number.MAX_SAFE_INTEGER, 1e300),
  fc.constantFrom('', ' ', '5GB', '750 MB', '4GiB', '1.5gb', '1048576', '5XB', '-1', '0', '0ms', '1ms', '30s', '30m', '24h', '7d', '2w', '1.5h', '30S', 'lots'),
  fc.constantFrom('~/cache', '/abs/dir', 'rel/dir', '~other/x', 'a\0b', 'https://huggingface.co', 'http://127.0.0.1:8080/hub/', 'ftp://x', 'https://', 'https://exa mple.com', 'https://[::1]:80'),
  fc.constantFrom('info', 'warn', 'debug', 'verbose', 'whisper-tiny', 'org/name', 'constructor', '__proto__', 'GOOD_ENV', '1BAD', 'a.b-c_d', '.hidden'),
  fc.string({ maxLength: 8 }),
  fc.integer({ min: -5, max: 70_000 }),
  fc.double({ noNaN: true, min: -2, max: 2 }),
);
const small = <T>(arb: fc.Arbitrary<T>) => fc.dictionary(fc.constantFrom('a', 'tiny', 'X_1', 'constructor', '__proto__', '9x', '-x', 'ok.name'), arb, { maxKeys: 3 });
const origin = fc.oneof(
  fc.record({ type: fc.constant('huggingface'), endpoint: anyScalar, token: anyScalar }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('directory'), path: anyScalar, extra: anyScalar }, { requiredKeys: ['type'] }),
  fc.record(
    {
      type: fc.constant('s3'),
      endpoint: anyScalar,
      bucket: fc.oneof(anyScalar, fc.constantFrom('models', 'acme.ci-models', 'Bad_Name', 'ab', 'a'.repeat(64))),
      prefix: fc.oneof(anyScalar, fc.constantFrom('', 'fleet', 'a/b', '/x/', 'a//b', '../x', '.hidden', 'a/./b')),
      region: anyScalar,
      accessKeyId: anyScalar,
      secretAccessKey: anyScalar,
      forcePathStyle: anyScalar,
      mode: fc.oneof(anyScalar, fc.constantFrom('read-write', 'read-only', 'write-only')),
      trustMetadata: anyScalar,
      uploadQueue: fc.oneof(fc.record({ maxBlobs: anyScalar, maxBytesInFlight: anyScalar }, { requiredKeys: [] }), anyScalar),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record({ type: anyScalar }),
);
const config = fc.record(
  {
    $schema: anyScalar,
    cacheDir: anyScalar,
    socketPath: anyScalar,
    maxSize: anyScalar,
    lowWatermark: anyScalar,
    origins: fc.oneof(fc.array(origin, { maxLength: 3 }), anyScalar),
    models: fc.oneof(small(anyScalar), anyScalar),
    download: fc.oneof(
      fc.record({ concurrency: anyScalar, perOrigin: anyScalar, retries: anyScalar, stallTimeout: anyScalar, retryBase: anyScalar, retryMax: anyScalar, minFree: anyScalar }, { requiredKeys: [] }),
      anyScalar,
    ),
    leaseTtl: anyScalar,
    revalidateAfter: anyScalar,
    offline: anyScalar,
    accounting: fc.record({ retention: anyScalar, flushInterval: anyScalar, flushBatch: anyScalar }, { requiredKeys: [] }),
    log: fc.record({ level: anyScalar, file: anyScalar }, { requiredKeys: [] }),
    metrics: fc.record({ port: anyScalar }, { requiredKeys: [] }),
    benchmark: fc.record(
      { suites: small(fc.record({ command: anyScalar, runs: anyScalar, target: anyScalar, cwd: anyScalar, env: small(anyScalar) }, { requiredKeys: [] })) },
      { requiredKeys: [] },
    ),
    frameLimit: anyScalar,
    unknownKey: anyScalar,
  },
  { requiredKeys: [] },
);

describe('quickParseConfigFile', () => {
  it('knows every field of the schema, and the schema no more (a new field would only slow the fast path)', () => {
    expect([...QUICK_KNOWN_FIELDS].sort()).toEqual(Object.keys(configFileSchema.shape).sort());
    expect(QUICK_MAX_FRAME_LIMIT_BYTES).toBe(MAX_FRAME_LIMIT_BYTES);
  });

  it('never accepts what the schema refuses, and returns what the schema returns (random configs near every edge)', () => {
    fc.assert(fc.property(config, (v) => agrees(v)), { numRuns: 3000 });
  });

  it('the same on configs built only from valid values, most of which it must accept', () => {
    let accepted = 0;
    const valid = fc.record(
      {
        cacheDir: fc.constantFrom('~/c', '/abs', 'rel'),
        maxSize: fc.constantFrom('5GB', 1, '4GiB', '1.5gb'),
        lowWatermark: fc.constantFrom(0.5, 1, 0.9),
        origins: fc.array(
          fc.constantFrom(
            { type: 'huggingface' },
            { type: 'huggingface', endpoint: 'http://127.0.0.1:9/x', token: null },
            { type: 'directory', path: 'm' },
            { type: 's3', bucket: 'vocorize-models' },
            { type: 's3', endpoint: 'http://127.0.0.1:9000', bucket: 'fleet.models', prefix: 'ci/a', region: 'auto', accessKeyId: 'k', secretAccessKey: 's', forcePathStyle: true, mode: 'read-only', trustMetadata: true, uploadQueue: { maxBlobs: 8, maxBytesInFlight: '1GB' } },
          ),
          { maxLength: 2 },
        ),
        models: fc.dictionary(fc.constantFrom('a', 'tiny', 'X_1', '9x', 'ok.name'), fc.constantFrom('org/name', 'a@main:sub'), { maxKeys: 3, noNullPrototype: true }),
        download: fc.record({ concurrency: fc.integer({ min: 1, max: 256 }), stallTimeout: fc.constantFrom('5s', 1), minFree: fc.constantFrom(0, '1MB') }, { requiredKeys: [], noNullPrototype: true }),
        leaseTtl: fc.constantFrom('30m', 1),
        revalidateAfter: fc.constantFrom('0', 0, '24h'),
        offline: fc.boolean(),
        log: fc.record({ level: fc.constantFrom('info', 'silent'), file: fc.constantFrom(null, '/tmp/x.log') }, { requiredKeys: [], noNullPrototype: true }),
        metrics: fc.record({ port: fc.constantFrom(null, 0, 9100) }, { noNullPrototype: true }),
        frameLimit: fc.constantFrom('1MiB', 1024, '64MiB'),
      },
      // JSON.parse (and parseJsonText) never makes objects without a prototype.
      { requiredKeys: [], noNullPrototype: true },
    );
    let schemaAccepted = 0;
    fc.assert(
      fc.property(valid, (v) => {
        agrees(v);
        if (schema(v).success) schemaAccepted++;
        if (quickParseConfigFile(v) !== null) accepted++;
      }),
      { numRuns: 1000 },
    );
    expect(schemaAccepted).toBeGreaterThan(900);
    expect(accepted).toBe(schemaAccepted);
  });

  it('accepts the configs the tests, the benchmarks and an installed repository write', () => {
    const written = [
      {
        cacheDir: '/tmp/x/cache',
        socketPath: '/tmp/x/run/d.sock',
        maxSize: '1GB',
        origins: [{ type: 'huggingface', endpoint: 'http://127.0.0.1:43123' }],
        models: { 'whisper-tiny': 'argmaxinc/whisperkit-coreml@main:openai_whisper-tiny' },
        download: { concurrency: 4, retries: 2, stallTimeout: '5s', retryBase: '10ms', retryMax: '100ms' },
        log: { level: 'info', file: '/tmp/x/daemon.log' },
      },
      { cacheDir: '/tmp/b/cache', socketPath: '/tmp/b/run/daemon.sock', maxSize: '20GB', origins: [], models: {}, log: { level: 'warn', file: '/tmp/b/daemon.log' } },
      { cacheDir: './.model-cache', maxSize: '1GB', origins: [{ type: 'directory', path: '../mirror' }], offline: false, $schema: './cache-config.schema.json' },
      { origins: [{ type: 's3', endpoint: 'http://127.0.0.1:9000', bucket: 'vocorize-models', prefix: 'fleet/ci', mode: 'read-only' }, { type: 'huggingface' }] },
      { origins: [{ type: 's3', bucket: 'acme.models', region: 'eu-west-1', accessKeyId: 'AKIA', secretAccessKey: 's', uploadQueue: { maxBytesInFlight: '1GB' } }] },
      {},
    ];
    for (const v of written) {
      expect(quickParseConfigFile(v)).not.toBeNull();
      agrees(v);
    }
  });

  it('is not sure of keys that zod treats specially (own __proto__, constructor, prototype) and of refused values', () => {
    expect(quickParseConfigFile(JSON.parse('{"models": {"__proto__": "a/b"}}'))).toBeNull();
    expect(quickParseConfigFile({ models: { constructor: 'a/b' } })).toBeNull();
    expect(quickParseConfigFile({ maxSize: 0 })).toBeNull();
    expect(quickParseConfigFile({ frameLimit: '65MiB' })).toBeNull();
    expect(quickParseConfigFile({ origins: [{ type: 's3' }] })).toBeNull();
    expect(quickParseConfigFile({ origins: [{ type: 's3', bucket: 'b-1', accessKeyId: 'k' }] })).toBeNull();
    for (const prefix of ['../x', 'a//b', 'a/./b', 'sp ace']) {
      expect(quickParseConfigFile({ origins: [{ type: 's3', bucket: 'b-1', prefix }] })).toBeNull();
      agrees({ origins: [{ type: 's3', bucket: 'b-1', prefix }] });
    }
    expect(quickParseConfigFile({ origins: [{ type: 's3', bucket: 'Bad_Name' }] })).toBeNull();
    expect(quickParseConfigFile({ origins: [{ type: 's3', bucket: 'b-1', mode: 'write-only' }] })).toBeNull();
    expect(quickParseConfigFile([])).toBeNull();
  });
});

describe('quickLoadConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-quick-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ HOME: path.join(dir, 'home'), XDG_CONFIG_HOME: path.join(dir, 'cfg'), XDG_CACHE_HOME: path.join(dir, 'cache'), ...extra });

  it('gives what loadConfig gives, for a file by flag, by env, by search, and for no file at all', () => {
    const file = path.join(dir, 'proj', 'cache-config.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ cacheDir: './c', maxSize: '2GB', models: { t: 'org/t' }, origins: [{ type: 'huggingface' }], log: { file: 'd.log' } }));
    const cases = [
      { configPath: file, env: env(), cwd: dir },
      { env: env({ VOCORIZE_CACHE_CONFIG: file, HF_TOKEN: 'hf_x', HF_HUB_OFFLINE: '1' }), cwd: dir },
      { env: env(), cwd: path.join(dir, 'proj') },
      { env: env({ VOCORIZE_CACHE_DIR: path.join(dir, 'elsewhere') }), cwd: dir },
    ];
    for (const opts of cases) {
      const quick = quickLoadConfig(opts);
      expect(quick).not.toBeNull();
      expect(quick).toEqual(loadConfig(opts));
    }
  });

  it('is not sure of a file the schema would refuse or that is not JSON, so the caller gets loadConfig\'s message', () => {
    const file = path.join(dir, 'cache-config.json');
    fs.writeFileSync(file, '{"maxSize": "lots"}');
    expect(quickLoadConfig({ configPath: file, env: env() })).toBeNull();
    expect(() => loadConfig({ configPath: file, env: env() })).toThrow(/maxSize/);
    fs.writeFileSync(file, '{"maxSize": ');
    expect(quickLoadConfig({ configPath: file, env: env() })).toBeNull();
  });

  it('throws what loadConfig throws when the file cannot be read or the environment is wrong', () => {
    const missing = path.join(dir, 'nope.json');
    expect(() => quickLoadConfig({ configPath: missing, env: env() })).toThrow(/no such file/);
    expect(() => loadConfig({ configPath: missing, env: env() })).toThrow(/no such file/);
    const bad = env({ VOCORIZE_CACHE_OFFLINE: 'maybe' });
    expect(() => quickLoadConfig({ env: bad, cwd: dir })).toThrow(/VOCORIZE_CACHE_OFFLINE/);
    expect(() => loadConfig({ env: bad, cwd: dir })).toThrow(/VOCORIZE_CACHE_OFFLINE/);
  });
});
