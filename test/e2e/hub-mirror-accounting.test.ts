import { expect } from 'vitest';
import type { FakeHub, HubFile } from '../../dev/fixtures/fakeHub.js';
import type { Sandbox } from './harness.js';
import { WK } from './daemon-helpers.js';
import { hubTest } from './hubTest.js';

/**
 * Accounting of file requests through the Hub endpoint (client from User-Agent, run from the header or
 * the /run/<id> prefix, model names), and offline / origin-down answers, through a real daemon.
 */
const it = hubTest.extend('sandboxOptions', { models: {} });

const VARIANT = 'openai_whisper-tiny';

function fileOf(hub: FakeHub, path: string): { commit: string; file: HubFile } {
  const repo = hub.repos.get(WK)!;
  const commit = repo.refs.get('main')!;
  return { commit, file: repo.commits.get(commit)!.get(path)! };
}

async function start(sb: Sandbox, extra: Record<string, unknown> = {}): Promise<string> {
  sb.writeConfig({ hubMirror: { port: 0 }, ...extra });
  const r = await sb.cli(['daemon', 'start']);
  expect(r.code, r.stderr).toBe(0);
  return (await sb.cli(['--json', 'status'])).json<{ hubUrl: string }>().hubUrl;
}

type Row = Record<string, unknown> & { hits: number; misses: number };

it('labels each file request by client (User-Agent) and run (header or /run/<id> prefix), under the repo[:folder]@commit name', async ({ sb, hub }) => {
  const url = await start(sb);
  const { commit, file } = fileOf(hub, `${VARIANT}/config.json`);
  const root = fileOf(hub, 'config.json');
  const agents = {
    huggingface_hub: 'huggingface_hub/1.28.0; python/3.12; torch/2.5',
    'huggingface.js': 'node',
    'swift-transformers': 'WhisperKitApp/1 CFNetwork/1568.100.1 Darwin/24.0.0',
    http: 'curl/8.5.0',
  };
  for (const ua of Object.values(agents)) {
    const r = await fetch(`${url}/${WK}/resolve/main/${file.path}`, { headers: { 'User-Agent': ua, 'X-Vocorize-Cache-Run': 'run-header' } });
    expect(r.status).toBe(200);
    await r.arrayBuffer();
  }
  const p = await fetch(`${url}/run/run-prefix/${WK}/resolve/main/${root.file.path}`, { headers: { 'User-Agent': 'curl/8' } });
  expect(p.status).toBe(200);
  await p.arrayBuffer();
  // The prefix form works on metadata routes too.
  expect((await fetch(`${url}/run/run-prefix/api/models/${WK}/revision/main`)).status).toBe(200);

  const byClient = (await sb.cli(['--json', 'stats', '--run', 'run-header', '--by', 'client'])).json<{ breakdown: Row[]; hits: number; misses: number }>();
  expect(byClient).toMatchObject({ hits: 3, misses: 1 });
  expect(byClient.breakdown.map((r) => r.client).sort()).toEqual(Object.keys(agents).sort());

  const byModel = (await sb.cli(['--json', 'stats', '--run', 'run-header', '--by', 'model'])).json<{ breakdown: Row[] }>();
  expect(byModel.breakdown.map((r) => r.model)).toEqual([`${WK}:${VARIANT}@${commit}`]);
  const prefixed = (await sb.cli(['--json', 'stats', '--run', 'run-prefix', '--by', 'model'])).json<{ breakdown: Row[]; misses: number }>();
  expect(prefixed.breakdown.map((r) => r.model)).toEqual([`${WK}@${commit}`]);
  expect(prefixed.misses).toBe(1);
});

it('offline: cached files and listings are served by branch with full headers; an uncached file gets 503 at once', async ({ sb, hub }) => {
  let url = await start(sb);
  const { commit, file } = fileOf(hub, `${VARIANT}/MelSpectrogram.mlmodelc/weights/weight.bin`);
  const warm = await fetch(`${url}/${WK}/resolve/main/${file.path}`);
  expect(warm.status).toBe(200);
  await warm.arrayBuffer();
  expect((await sb.cli(['daemon', 'stop'])).code).toBe(0);

  url = await start(sb, { offline: true });
  hub.counters.reset();
  const head = await fetch(`${url}/${WK}/resolve/main/${file.path}`, { method: 'HEAD' });
  expect(head.status).toBe(200);
  expect(head.headers.get('x-repo-commit')).toBe(commit);
  expect(head.headers.get('x-linked-etag')).toBe(`"${file.sha256}"`);
  const get = await fetch(`${url}/${WK}/resolve/main/${file.path}`);
  expect(Buffer.from(await get.arrayBuffer()).equals(file.bytes)).toBe(true);
  const info = (await (await fetch(`${url}/api/models/${WK}/revision/main`)).json()) as { sha: string };
  expect(info.sha).toBe(commit);
  const tree = await fetch(`${url}/api/models/${WK}/tree/main/${VARIANT}?recursive=true`);
  expect(tree.status).toBe(200);

  const cold = await fetch(`${url}/${WK}/resolve/main/${VARIANT}/config.json`);
  expect(cold.status).toBe(503);
  expect(cold.headers.get('x-error-message')).toMatch(/offline/);
  const unknownRepo = await fetch(`${url}/acme/never-seen/resolve/main/config.json`);
  expect(unknownRepo.status).toBe(503);
  expect(hub.counters.requests()).toBe(0);
});

it('origin down: the remembered listing and cached files are served; uncached files get 503', async ({ sb, hub }) => {
  let url = await start(sb);
  const { commit, file } = fileOf(hub, `${VARIANT}/TextDecoder.mlmodelc/metadata.json`);
  const warm = await fetch(`${url}/${WK}/resolve/main/${file.path}`);
  await warm.arrayBuffer();
  expect((await sb.cli(['daemon', 'stop'])).code).toBe(0);

  // Port 1 refuses connections; revalidateAfter 0 makes every branch lookup try the origin first.
  url = await start(sb, { origins: [{ type: 'huggingface', endpoint: 'http://127.0.0.1:1' }], revalidateAfter: 0 });
  const get = await fetch(`${url}/${WK}/resolve/main/${file.path}`);
  expect(get.status).toBe(200);
  expect(get.headers.get('x-repo-commit')).toBe(commit);
  expect(get.headers.get('etag')).toBe(`"${file.gitSha1}"`);
  expect(Buffer.from(await get.arrayBuffer()).equals(file.bytes)).toBe(true);

  const cold = await fetch(`${url}/${WK}/resolve/main/${VARIANT}/generation_config.json`);
  expect(cold.status).toBe(503);
});
