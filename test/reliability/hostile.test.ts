import fc from 'fast-check';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { openCore, type Core } from '../../src/service/openService.js';
import { createLogger } from '../../src/logger.js';
import { ErrorCodes, toErrorShape } from '../../src/errors.js';
import { startFakeHub, type FakeHub } from '../../dev/fixtures/fakeHub.js';
import { generateBytes, whisperKitRepo } from '../../dev/fixtures/generate.js';
import { METHODS, parseRequest } from '../../src/ipc/protocol.js';
import { ALIASES, getJson, listModels, rawCall, rawConnect } from '../e2e/daemon-helpers.js';
import { makeSandbox, type Sandbox } from '../e2e/harness.js';
import { walk } from './helpers.js';

/**
 * Hostile input: the request path (parseRequest + the method handlers over a real core
 * on a temp cache) answers every input with a valid error shape and never throws; raw bytes on the real
 * socket never take the daemon down; unsafe model references and remote listings are refused; a symlink
 * planted in the cache is never followed by clean, verify, optimize or restore.
 */

const KNOWN_CODES = new Set<string>(Object.values(ErrorCodes));
let hub: FakeHub;
let root: string;
let core: Core;
let sb: Sandbox;
/** Fuzz cases run by this file (docs/reliability.md quotes the count). */
let fuzzCases = 0;

beforeAll(async () => {
  hub = await startFakeHub({ repos: [whisperKitRepo()], treePageSize: 1000 });
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-hostile-'));
  fs.chmodSync(root, 0o700);
  const cfgPath = path.join(root, 'cache-config.json');
  const text = JSON.stringify({
    cacheDir: path.join(root, 'cache'),
    socketPath: path.join(root, 'run', 'd.sock'),
    maxSize: '1GB',
    origins: [{ type: 'huggingface', endpoint: hub.endpoint }],
    models: { ...ALIASES },
    download: { retries: 0, stallTimeout: '2s' },
  });
  fs.writeFileSync(cfgPath, text);
  core = openCore(parseConfigText(text, cfgPath, { env: {}, home: root }), {
    logger: createLogger({ level: 'silent', file: null }),
    role: 'cli',
  });
  sb = makeSandbox({ endpoint: hub.endpoint, models: { ...ALIASES } });
});

afterAll(async () => {
  core?.close();
  await sb?.cleanup();
  fs.rmSync(root, { recursive: true, force: true });
  await hub.close();
  // eslint-disable-next-line no-console
  console.log(`reliability/hostile: ${fuzzCases} fuzz cases`);
});

/** One request through the daemon's request path; returns the reply it would send. */
async function serve(raw: unknown): Promise<{ result?: unknown; error?: { code: string; message: string; retryable: boolean } }> {
  const req = parseRequest(raw);
  if (!req.ok) return { error: req.error };
  try {
    return { result: await core.handlers.handle(req.method, req.params, { connId: 1, progress: () => undefined }) };
  } catch (err) {
    return { error: toErrorShape(err) };
  }
}

function assertValidReply(reply: Awaited<ReturnType<typeof serve>>): void {
  if (reply.error) {
    expect(typeof reply.error.message).toBe('string');
    expect(reply.error.message.length).toBeGreaterThan(0);
    expect(typeof reply.error.retryable).toBe('boolean');
    expect(KNOWN_CODES.has(reply.error.code), `unknown code ${reply.error.code}`).toBe(true);
    expect(reply.error.code, reply.error.message).not.toBe(ErrorCodes.INTERNAL);
  } else {
    expect(reply).toHaveProperty('result');
  }
}

/** Methods safe to call with random params here (restore/import take absolute paths: tested on their own). */
const FUZZ_METHODS = METHODS.filter((m) => m !== 'restore' && m !== 'import' && m !== 'shutdown');

function deep(n: number): unknown {
  let v: unknown = 'x';
  for (let i = 0; i < n; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

const hostileValue = fc.oneof(
  fc.anything(),
  fc.jsonValue(),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('../../etc/passwd', '/etc/passwd', 'a\\b', 'x\0y', 'a'.repeat(100_000), '', '..', 'whisper-tiny'),
  fc.integer({ min: 1, max: 2000 }).map(deep),
);

describe('request path property tests', () => {
  it('random values as whole requests always get a valid reply', async () => {
    await fc.assert(
      fc.asyncProperty(hostileValue, async (raw) => {
        fuzzCases++;
        assertValidReply(await serve(raw));
      }),
      { numRuns: 300 },
    );
  });

  it('known methods with random params (wrong types, unknown fields, deep nesting, huge strings) get a valid reply', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...FUZZ_METHODS),
        fc.oneof(hostileValue, fc.dictionary(fc.constantFrom('model', 'models', 'quick', 'all', 'dryRun', 'since', 'run', 'format', 'label', 'id', 'x'), hostileValue)),
        fc.oneof(fc.integer(), fc.string({ maxLength: 20 })),
        async (method, params, id) => {
          fuzzCases++;
          assertValidReply(await serve({ id, method, params }));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('unknown methods and malformed envelopes are refused with E_BAD_REQUEST / E_BAD_FRAME', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 40 }).filter((m) => !(METHODS as readonly string[]).includes(m)),
        fc.integer(),
        async (method, id) => {
          fuzzCases++;
          const reply = await serve({ id, method, params: {} });
          expect([ErrorCodes.BAD_REQUEST, 'E_UNKNOWN_METHOD']).toContain(reply.error?.code);
        },
      ),
      { numRuns: 100 },
    );
    for (const raw of [null, 42, 'get', [], { method: 'hello' }, { id: {}, method: 'hello' }, { id: 1, method: 'hello', params: {}, extra: 1 }]) {
      fuzzCases++;
      const reply = await serve(raw);
      expect([ErrorCodes.BAD_REQUEST, ErrorCodes.BAD_FRAME]).toContain(reply.error?.code);
    }
  });

  it('model references with "..", absolute paths, NUL, backslashes or very long names are refused without a network call', async () => {
    const before = hub.counters.requests();
    const bad = [
      '../../etc/passwd',
      '/etc/passwd',
      'argmaxinc/../../x',
      'argmaxinc/whisperkit-coreml@main:../../..',
      'argmaxinc/whisperkit-coreml@main:/abs',
      'argmaxinc/whisperkit-coreml@main:a\\b',
      'argmaxinc/whisperkit-coreml\0@main',
      'argmaxinc/whisperkit-coreml@..',
      `argmaxinc/${'a'.repeat(5000)}`,
      `argmaxinc/whisperkit-coreml@main:${'a/'.repeat(3000)}x`,
    ];
    for (const model of bad) {
      fuzzCases++;
      const reply = await serve({ id: 1, method: 'get', params: { model } });
      expect(reply.error, model).toBeDefined();
      expect([ErrorCodes.BAD_REF, ErrorCodes.BAD_REQUEST], `${model.slice(0, 60)}: ${reply.error?.message}`).toContain(reply.error!.code);
    }
    expect(hub.counters.requests()).toBe(before);
  });

  it('restore and import refuse relative and hostile destinations', async () => {
    for (const to of ['relative/dir', '../../x', 'x\0y', '']) {
      fuzzCases++;
      const r = await serve({ id: 1, method: 'restore', params: { model: 'whisper-tiny', to } });
      expect(r.error?.code).toBe(ErrorCodes.BAD_REQUEST);
      const i = await serve({ id: 2, method: 'import', params: { from: to } });
      expect(i.error?.code).toBe(ErrorCodes.BAD_REQUEST);
    }
  });
});

describe('remote listings with unsafe paths', () => {
  it.each([
    ['dot-dot', '../escape.bin'],
    ['nested dot-dot', 'a/../../escape.bin'],
    ['absolute', '/tmp/escape.bin'],
    ['backslash', 'a\\..\\escape.bin'],
    ['NUL', 'nul\0.bin'],
    ['very long', `${'d/'.repeat(600)}x.bin`],
  ])('a listing with a %s path is refused (E_UNSAFE_PATH) and nothing is written', async (_label, bad) => {
    fuzzCases++;
    const id = `evil/case-${_label.replace(/[^a-z]/g, '')}`;
    hub.publish({ id, files: [{ path: 'ok.bin', bytes: generateBytes('ok', 100), lfs: false }, { path: bad, bytes: generateBytes('evil', 100), lfs: false }] });
    const reply = await serve({ id: 1, method: 'get', params: { model: id } });
    expect(reply.error?.code, reply.error?.message).toBe(ErrorCodes.UNSAFE_PATH);
    expect(core.state.cache.list().some((m) => m.repo === id)).toBe(false);
    expect(fs.existsSync(path.join(root, 'cache', 'v1', 'escape.bin'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'cache', 'escape.bin'))).toBe(false);
  });
});

describe('the real socket under random bytes', () => {
  it('random byte frames, oversized frames and garbage get error replies or a closed connection; the daemon stays up', async () => {
    expect((await getJson(sb, 'whisper-tiny')).hit).toBe(false);
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.string({ maxLength: 200 }).map((s) => Buffer.from(s))), async (bytes) => {
        fuzzCases++;
        await new Promise<void>((resolve) => {
          const s = net.connect(sb.socketPath, () => {
            s.end(Buffer.concat([Buffer.from(bytes), Buffer.from('\f')]));
          });
          s.on('data', () => undefined);
          s.on('error', () => resolve());
          s.on('close', () => resolve());
          setTimeout(() => {
            s.destroy();
            resolve();
          }, 2000).unref();
        });
      }),
      { numRuns: 60 },
    );
    const conn = await rawConnect(sb.socketPath);
    fuzzCases++;
    conn.send(`{"type":"request","data":{"id":7,"method":"get","params":{"model":${'['.repeat(5000)}${']'.repeat(5000)}}}}\f`);
    const reply = await conn.next(10_000);
    expect(reply.type).toBe('response');
    expect((reply.data.error as { code: string }).code).toMatch(/^E_/);
    const hello = await rawCall(sb.socketPath, 'hello');
    expect(hello).toHaveProperty('result');
    expect((await getJson(sb, 'whisper-tiny')).hit).toBe(true);
  });
});

describe('symlinks planted in the cache', () => {
  it('are never followed by verify, clean, optimize or restore', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-outside-'));
    try {
      const secret = path.join(outside, 'secret.txt');
      fs.writeFileSync(secret, 'do not touch');
      fs.mkdirSync(path.join(outside, 'dir'));
      fs.writeFileSync(path.join(outside, 'dir', 'inner.txt'), 'inner');
      const got = await getJson(sb, 'whisper-tiny');
      const v1dir = path.join(sb.cacheDir, 'v1');
      const planted = [
        path.join(got.path, 'planted-file'),
        path.join(got.path, 'planted-dir'),
        path.join(v1dir, 'tmp', 'planted-tmp'),
        path.join(v1dir, 'blobs', 'sha256', 'ab', 'ab'.padEnd(64, '0')),
        path.join(v1dir, 'snapshots', 'planted-snap'),
        path.join(v1dir, 'quarantine', 'planted-q'),
      ];
      for (const [i, p] of planted.entries()) {
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.symlinkSync(i % 2 ? path.join(outside, 'dir') : secret, p);
      }
      const verify = await sb.cli(['--json', 'verify']);
      expect(verify.code).toBe(1); // the planted entries are problems, reported
      const dest = path.join(sb.root, 'restored');
      const restore = await sb.cli(['--json', 'restore', 'whisper-tiny', '--to', dest]);
      expect(restore.code, restore.stderr).toBe(0);
      expect(walk(dest).some((p) => p.includes('planted') || fs.readFileSync(p).toString() === 'do not touch')).toBe(false);
      for (const args of [['clean', '--partial', '--corrupted'], ['optimize'], ['verify', '--repair'], ['clean', '--all']]) {
        const r = await sb.cli(['--json', ...args]);
        expect([0, 1], `${args.join(' ')}: ${r.stderr}`).toContain(r.code);
      }
      expect(fs.readFileSync(secret, 'utf8')).toBe('do not touch');
      expect(fs.readFileSync(path.join(outside, 'dir', 'inner.txt'), 'utf8')).toBe('inner');
      expect(fs.readdirSync(outside).sort()).toEqual(['dir', 'secret.txt']);
      expect(await listModels(sb)).toEqual([]);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });
});
