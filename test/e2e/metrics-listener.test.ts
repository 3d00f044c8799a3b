import { expect } from 'vitest';
import { parsePrometheus } from '../accounting/parsePrometheus.js';
import { hubTest } from './hubTest.js';
import { freePort } from '../../dev/fixtures/freePort.js';

const it = hubTest.extend('sandboxOptions', { models: { tiny: 'argmaxinc/whisperkit-coreml@main:openai_whisper-tiny' } });


it('serves Prometheus metrics on 127.0.0.1 when the config enables it, agreeing with stats', async ({ sb }) => {
  const port = await freePort();
  sb.writeConfig({ metrics: { port } });
  expect((await sb.cli(['get', 'tiny'])).code).toBe(0);
  expect((await sb.cli(['get', 'tiny'])).code).toBe(0);
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = parsePrometheus(await res.text());
  const stats = (await sb.cli(['--json', 'stats'])).json<{ hits: number; misses: number }>();
  const sample = (name: string, labels: Record<string, string>) => {
    for (const f of families.values()) {
      for (const s of f.samples) {
        if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
      }
    }
    return undefined;
  };
  expect(stats).toMatchObject({ hits: 1, misses: 1 });
  expect(sample('vocorize_cache_requests_total', { outcome: 'hit' })).toBe(1);
  expect(sample('vocorize_cache_requests_total', { outcome: 'miss' })).toBe(1);
  expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
});
