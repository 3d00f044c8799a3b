import fs from 'node:fs';
import { expect } from 'vitest';
import type { FakeHub } from '../../dev/fixtures/fakeHub.js';
import { generateBytes } from '../../dev/fixtures/generate.js';
import type { Sandbox } from './harness.js';
import { hubTest } from './hubTest.js';

/**
 * The endpoint's security rule, through a real daemon with a configured Hub token: requests with the
 * local secret act with the token; requests without it are anonymous and never get what needed the
 * token (private or gated repos), even when cached; a client's own Authorization is never forwarded;
 * the configured token never reaches the CDN nor an answer.
 */
const it = hubTest.extend('sandboxOptions', { models: {} });

const TOKEN = 'hf_fake_token';

function publishRepo(hub: FakeHub, id: string, opts: { private?: boolean; gated?: 'manual'; readers?: string[] }): void {
  hub.publish(
    {
      id,
      files: [
        { path: 'config.json', bytes: Buffer.from(JSON.stringify({ id })), lfs: false },
        { path: 'weights/model.bin', bytes: generateBytes(`${id}/w`, 200_000), lfs: true },
      ],
    },
    opts,
  );
}

async function start(sb: Sandbox, hub: FakeHub, extra: Record<string, unknown> = {}): Promise<{ url: string; secret: string }> {
  sb.writeConfig({ origins: [{ type: 'huggingface', endpoint: hub.endpoint, token: TOKEN }], hubMirror: { port: 0, ...extra } });
  expect((await sb.cli(['daemon', 'start'])).code).toBe(0);
  const st = (await sb.cli(['--json', 'status'])).json<{ hubUrl: string; hubSecretFile: string }>();
  return { url: st.hubUrl, secret: fs.readFileSync(st.hubSecretFile, 'utf8').trim() };
}

const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

it('a private repo: 401 RepoNotFound without the secret, even once cached; served with it, the token sent to the Hub only', async ({ sb, hub }) => {
  publishRepo(hub, 'acme/private-a', { private: true });
  const { url, secret } = await start(sb, hub);

  const anon = await fetch(`${url}/acme/private-a/resolve/main/weights/model.bin`);
  expect(anon.status).toBe(401);
  expect(anon.headers.get('x-error-code')).toBe('RepoNotFound');
  expect((await fetch(`${url}/api/models/acme/private-a`)).status).toBe(401);

  for (const p of ['config.json', 'weights/model.bin']) {
    const ok = await fetch(`${url}/acme/private-a/resolve/main/${p}`, { headers: bearer(secret) });
    expect(ok.status, p).toBe(200);
    const body = Buffer.from(await ok.arrayBuffer());
    expect(body.includes(Buffer.from(TOKEN))).toBe(false);
  }
  // Cached now, still refused without the secret (HEAD and GET, by branch and by commit).
  const commit = hub.repos.get('acme/private-a')!.refs.get('main')!;
  for (const [method, rev] of [['GET', 'main'], ['HEAD', 'main'], ['GET', commit], ['HEAD', commit]] as const) {
    const r = await fetch(`${url}/acme/private-a/resolve/${rev}/weights/model.bin`, { method });
    expect(r.status, `${method} ${rev}`).toBe(401);
  }
  const info = await fetch(`${url}/api/models/acme/private-a/revision/${commit}`);
  expect(info.status).toBe(401);

  // The token went to the Hub's host only; the CDN never saw an Authorization header.
  expect(hub.counters.authorizations('hub').some((a) => a === `Bearer ${TOKEN}`)).toBe(true);
  expect(hub.counters.authorizations('cdn').every((a) => a === null)).toBe(true);
  expect(hub.counters.authorizations('hub').some((a) => a?.includes(secret))).toBe(false);
});

it('a gated repo: anonymous requests get 401 GatedRepo for files cached with the token; its public listing is still served', async ({ sb, hub }) => {
  publishRepo(hub, 'acme/gated-a', { gated: 'manual', readers: [TOKEN] });
  const { url, secret } = await start(sb, hub);
  const ok = await fetch(`${url}/acme/gated-a/resolve/main/weights/model.bin`, { headers: bearer(secret) });
  expect(ok.status).toBe(200);
  await ok.arrayBuffer();

  const anon = await fetch(`${url}/acme/gated-a/resolve/main/weights/model.bin`);
  expect(anon.status).toBe(401);
  expect(anon.headers.get('x-error-code')).toBe('GatedRepo');
  const head = await fetch(`${url}/acme/gated-a/resolve/main/weights/model.bin`, { method: 'HEAD' });
  expect(head.status).toBe(401);
  // The listing of a gated repo is public on the Hub: served anonymously.
  expect((await fetch(`${url}/api/models/acme/gated-a`)).status).toBe(200);
});

it("a client's own token is never forwarded: it is served anonymously (public repo) and the Hub never sees it", async ({ sb, hub }) => {
  publishRepo(hub, 'acme/public-a', {});
  const { url } = await start(sb, hub);
  const r = await fetch(`${url}/acme/public-a/resolve/main/weights/model.bin`, { headers: bearer('hf_someone_elses_token') });
  expect(r.status).toBe(200);
  await r.arrayBuffer();
  const seen = [...hub.counters.authorizations('hub'), ...hub.counters.authorizations('cdn')];
  expect(seen.some((a) => a?.includes('hf_someone_elses_token'))).toBe(false);
  // Anonymous requests go through the tokenless chain: the configured token was not used either.
  expect(seen.some((a) => a?.includes(TOKEN))).toBe(false);
  const p = await fetch(`${url}/acme/private-a-missing/resolve/main/config.json`, { headers: bearer('hf_someone_elses_token') });
  expect(p.status).toBe(401);
});

it('anonymousMisses: false serves cached public files to anyone but refuses anonymous downloads', async ({ sb, hub }) => {
  publishRepo(hub, 'acme/public-b', {});
  const { url, secret } = await start(sb, hub, { anonymousMisses: false });
  const refused = await fetch(`${url}/acme/public-b/resolve/main/config.json`);
  expect(refused.status).toBe(401);
  const fetched = await fetch(`${url}/acme/public-b/resolve/main/config.json`, { headers: bearer(secret) });
  expect(fetched.status).toBe(200);
  // Its whole body arrived: the file is cached (the last byte leaves only once it is).
  await fetched.arrayBuffer();
  const now = await fetch(`${url}/acme/public-b/resolve/main/config.json`);
  expect(now.status).toBe(200);
  expect(JSON.parse(Buffer.from(await now.arrayBuffer()).toString())).toEqual({ id: 'acme/public-b' });
});
