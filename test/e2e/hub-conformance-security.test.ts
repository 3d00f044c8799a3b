import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeHub } from '../../dev/fixtures/fakeHub.js';
import {
  GATED,
  PRIVATE,
  published,
  raw,
  startMirror,
  startMirrorHub,
  TOKEN,
  WK,
  type Mirror,
  type RawResponse,
} from './hub-conformance-support.js';

/**
 * The endpoint's security rule, through a daemon child process with the fake Hub upstream (configured
 * with the Hub token TOKEN): only requests carrying the local secret act with the token; anonymous ones
 * read public repositories and never a gated or private one, even when it is cached; a client's own
 * Authorization goes nowhere; the token never reaches the CDN and is never echoed; traversal paths are
 * refused. The tests share one daemon and run in order.
 */

let hub: FakeHub;
let m: Mirror;
/** Every answer the endpoint gave in this file, to look for the token in it at the end. */
const answers: RawResponse[] = [];

async function ask(pathAndQuery: string, opts: Parameters<typeof raw>[2] = {}): Promise<RawResponse> {
  const res = await raw(m.url, pathAndQuery, opts);
  answers.push(res);
  return res;
}

const secretAuth = () => ({ Authorization: `Bearer ${m.secret}` });

beforeAll(async () => {
  hub = await startMirrorHub();
  m = await startMirror(hub);
});

afterAll(async () => {
  await m?.stop();
  await hub?.close();
});

describe('the local secret', () => {
  it('is a random value in a 0600 file that daemon status names', async () => {
    const st = fs.statSync(m.secretFile);
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(process.getuid?.());
    expect(m.secret).toMatch(/^\S{32,}$/);
    expect(m.secret).not.toBe(TOKEN);
    // Not readable or listable by others on the way to it either.
    expect(fs.statSync(path.dirname(m.secretFile)).mode & 0o022).toBe(0);
  });
});

describe('gated and private repositories', () => {
  it('a gated file: anonymous gets 401 GatedRepo and no upstream request is made with the token; with the secret it is served', async () => {
    const f = published(hub, GATED, 'weights.bin');
    const url = `/${GATED}/resolve/main/weights.bin`;
    hub.counters.reset();
    const anon = await ask(url);
    expect(anon.status, anon.body.toString('utf8').slice(0, 300)).toBe(401);
    expect(anon.headers['x-error-code']).toBe('GatedRepo');
    expect(String(anon.headers['x-error-message'] ?? '')).not.toBe('');
    expect(anon.body.equals(f.bytes)).toBe(false);
    expect(hub.counters.log.filter((r) => r.authorization === `Bearer ${TOKEN}`), 'an anonymous request never uses the configured token').toEqual([]);

    const withSecret = await ask(url, { headers: secretAuth() });
    expect(withSecret.status, withSecret.body.toString('utf8').slice(0, 300)).toBe(200);
    expect(withSecret.body.equals(f.bytes)).toBe(true);
    expect(hub.counters.authorizations('hub'), 'the daemon used the configured token upstream').toContain(`Bearer ${TOKEN}`);
    expect(hub.counters.authorizations('cdn').filter((a) => a !== null), 'the token never reaches the CDN').toEqual([]);
  });

  it('a gated file stays refused to anonymous requests once it is cached (GET, HEAD, Range probe, by commit)', async () => {
    const f = published(hub, GATED, 'weights.bin');
    for (const [method, rev, headers] of [
      ['GET', 'main', {}],
      ['HEAD', 'main', {}],
      ['GET', 'main', { Range: 'bytes=0-0' }],
      ['GET', f.commit, {}],
    ] as const) {
      const res = await ask(`/${GATED}/resolve/${rev}/weights.bin`, { method, headers });
      expect(res.status, `${method} ${rev} ${JSON.stringify(headers)}`).toBe(401);
      expect(res.headers['x-error-code']).toBe('GatedRepo');
      expect(res.body.includes(f.bytes.subarray(0, 64))).toBe(false);
    }
    // The secret still reads it, from the cache.
    hub.counters.reset();
    const hit = await ask(`/${GATED}/resolve/main/weights.bin`, { headers: secretAuth() });
    expect(hit.status).toBe(200);
    expect(hit.body.equals(f.bytes)).toBe(true);
    expect(hub.counters.log.filter((r) => r.server === 'cdn'), 'served from the cache').toEqual([]);
  });

  it('a private repository: anonymous gets 401 RepoNotFound for its listing and files, even once cached; the secret reads both', async () => {
    const f = published(hub, PRIVATE, 'weights.bin');
    const list = await ask(`/api/models/${PRIVATE}/revision/main`, { headers: secretAuth() });
    expect(list.status, list.body.toString('utf8').slice(0, 300)).toBe(200);
    const file = await ask(`/${PRIVATE}/resolve/main/weights.bin`, { headers: secretAuth() });
    expect(file.status).toBe(200);
    expect(file.body.equals(f.bytes)).toBe(true);
    for (const p of [
      `/api/models/${PRIVATE}`,
      `/api/models/${PRIVATE}/revision/main`,
      `/api/models/${PRIVATE}/tree/main?recursive=true`,
      `/${PRIVATE}/resolve/main/weights.bin`,
      `/${PRIVATE}/resolve/${f.commit}/config.json`,
    ]) {
      const res = await ask(p);
      expect(res.status, p).toBe(401);
      expect(res.headers['x-error-code'], p).toBe('RepoNotFound');
      expect(res.body.includes(f.bytes.subarray(0, 64)), p).toBe(false);
    }
    const info = await ask(`/api/models/${PRIVATE}/paths-info/main`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ paths: ['weights.bin'] }),
    });
    expect(info.status, 'paths-info of a private repo, anonymous').toBe(401);
  });

  it('a client Authorization that is not the secret is never forwarded and acts anonymously', async () => {
    const foreign = 'hf_someone_elses_token';
    hub.counters.reset();
    const pub = await ask(`/${WK}/resolve/main/openai_whisper-base/config.json`, { headers: { Authorization: `Bearer ${foreign}` } });
    expect(pub.status, 'a public file is still served').toBe(200);
    expect(pub.body.equals(published(hub, WK, 'openai_whisper-base/config.json').bytes)).toBe(true);
    const pubLfs = await ask(`/${WK}/resolve/main/openai_whisper-base/MelSpectrogram.mlmodelc/coremldata.bin`, { headers: { Authorization: `Bearer ${foreign}` } });
    expect(pubLfs.status).toBe(200);
    const gated = await ask(`/${GATED}/resolve/main/config.json`, { headers: { Authorization: `Bearer ${foreign}` } });
    expect(gated.status).toBe(401);
    expect(gated.headers['x-error-code']).toBe('GatedRepo');
    const priv = await ask(`/api/models/${PRIVATE}/revision/main`, { headers: { Authorization: `Bearer ${foreign}` } });
    expect([401, 404]).toContain(priv.status);
    expect(priv.headers['x-error-code']).toBe('RepoNotFound');
    const seen = hub.counters.log.map((r) => r.authorization ?? '');
    expect(seen.filter((a) => a.includes(foreign)), 'the client token reached no upstream host').toEqual([]);
    expect(hub.counters.authorizations('cdn').filter((a) => a !== null)).toEqual([]);
  });
});

describe('paths', () => {
  // Sent byte for byte (node:http does not normalise), each one a way out of the repository.
  const bad = [
    `/${WK}/resolve/main/../../../etc/passwd`,
    `/${WK}/resolve/main/openai_whisper-tiny/../../x`,
    `/${WK}/resolve/main/..%2F..%2Fetc%2Fpasswd`,
    `/${WK}/resolve/main/%2E%2E/%2E%2E/etc/passwd`,
    `/${WK}/resolve/main/%2Fetc%2Fpasswd`,
    `/${WK}/resolve/main//etc/passwd`,
    `/${WK}/resolve/main/config.json%00.txt`,
    `/${WK}/resolve/main/..%5C..%5Cetc%5Cpasswd`,
    `/${WK}/resolve/main/openai_whisper-tiny%5C..%5C..%5Cx`,
    `/${WK}/resolve/main/C:%5Cwindows%5Cwin.ini`,
    `/${WK}/resolve/main/./config.json`,
    `/api/models/${WK}/tree/main/..%2F..`,
  ];
  for (const p of bad) {
    it(`refuses ${p} with 400 and a message, and asks nothing upstream`, async () => {
      hub.counters.reset();
      for (const method of ['GET', 'HEAD']) {
        const res = await ask(p, { method });
        expect(res.status, `${method} ${p}: ${res.body.toString('utf8').slice(0, 200)}`).toBe(400);
        expect(String(res.headers['x-error-message'] ?? '') + res.body.toString('utf8'), 'says what is wrong').toMatch(/path|\.\.|absolute|invalid/i);
      }
      expect(hub.counters.log.filter((r) => r.path.includes('..') || r.path.includes('\\') || r.path.includes('passwd'))).toEqual([]);
    });
  }

  it('refuses a traversal path in a paths-info body', async () => {
    const res = await ask(`/api/models/${WK}/paths-info/main`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ paths: ['../../etc/passwd'] }),
    });
    expect(res.status).toBe(400);
  });
});

describe('the token is never echoed', () => {
  it('appears in no answer of this file, in no log line, and in no status output', async () => {
    expect(answers.length).toBeGreaterThan(20);
    for (const a of answers) {
      expect(a.rawHeaders.join('\n')).not.toContain(TOKEN);
      expect(a.body.includes(TOKEN)).toBe(false);
    }
    const log = fs.existsSync(path.join(m.sb.root, 'daemon.log')) ? fs.readFileSync(path.join(m.sb.root, 'daemon.log'), 'utf8') : '';
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain(m.secret);
    const st = await m.sb.cli(['--json', 'daemon', 'status']);
    expect(st.stdout).not.toContain(TOKEN);
    expect(st.stdout).not.toContain(m.secret);
  });
});
