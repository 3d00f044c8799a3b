import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';

const DEMO = path.resolve(import.meta.dirname, '../../build/dev/demo/main.js');

it('npm run demo completes offline: a miss, then a hit on the same path, verify ok, status and report', () => {
  const env: NodeJS.ProcessEnv = { ...process.env, HF_ENDPOINT: '', HF_TOKEN: '', HF_HUB_OFFLINE: '' };
  delete env.VOCORIZE_CACHE_CONFIG;
  const r = spawnSync(process.execPath, [DEMO], { env, encoding: 'utf8', timeout: 90_000 });
  expect(r.status, r.stderr).toBe(0);
  const docs = [...r.stdout.matchAll(/^\{\n[\s\S]*?^\}$/gm)].map((m) => JSON.parse(m[0]) as { hit: boolean; path: string });
  expect(docs.map((d) => d.hit)).toEqual([false, true]);
  expect(docs[0]!.path).toBe(docs[1]!.path);
  expect(r.stdout).toMatch(/Integrity: OK/);
  expect(r.stdout).toMatch(/^Total Cache Size: \d+MB$/m);
  expect(r.stdout).toMatch(/^Hit Rate: 50%$/m);
  expect(r.stdout).toMatch(/## Executive summary/);
});
