import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBench } from '../../src/benchmarker/benchCommand.js';
import { cacheRunPortFrom } from '../../src/benchmarker/clientRunPort.js';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { connect, type CacheClient } from '../../src/ipc/client.js';
import { NODE, stepClock, suite } from './helpers.js';

/**
 * A suite that gets a model through the real daemon from a real child process: it speaks the socket
 * protocol (one JSON frame ended by a form feed) with the run id from VOCORIZE_CACHE_RUN.
 */
function getModelSuite(socketPath: string, model: string): string {
  const script = `
const net = require('node:net');
const s = net.connect(process.argv[2]);
let buf = '';
s.on('data', (d) => {
  buf += d;
  const i = buf.indexOf('\\f');
  if (i < 0) return;
  const msg = JSON.parse(buf.slice(0, i));
  s.end();
  if (msg.data.error) { console.error(JSON.stringify(msg.data.error)); process.exit(1); }
  console.log(JSON.stringify({ hit: msg.data.result.hit }));
});
s.write(JSON.stringify({ type: 'request', data: { id: 1, method: 'get', params: { model: process.argv[3], run: process.env.VOCORIZE_CACHE_RUN, client: 'bench-test' } } }) + '\\f');
`;
  const file = path.join(path.dirname(socketPath), '..', 'get-model.cjs');
  fs.writeFileSync(file, script);
  return `${NODE} '${file}' '${socketPath}' '${model}'`;
}

let root: string;
let daemon: Daemon | null = null;
let client: CacheClient | null = null;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-'));
  fs.chmodSync(root, 0o700);
});
afterEach(async () => {
  await client?.close().catch(() => undefined);
  await daemon?.close('test done').catch(() => undefined);
  client = null;
  daemon = null;
  fs.rmSync(root, { recursive: true, force: true });
});

describe('cacheRunPortFrom against the real daemon', () => {
  it('each suite’s run scope shows its own miss and hits', async () => {
    const mirror = path.join(root, 'mirror');
    fs.mkdirSync(path.join(mirror, 'acme', 'tiny'), { recursive: true });
    fs.writeFileSync(path.join(mirror, 'acme', 'tiny', 'model.bin'), Buffer.alloc(300_000, 7));
    fs.writeFileSync(path.join(mirror, 'acme', 'tiny', 'config.json'), '{"dims": 4}');
    const configPath = path.join(root, 'cache-config.json');
    fs.writeFileSync(
      configPath,
      JSON.stringify({ cacheDir: path.join(root, 'cache'), socketPath: path.join(root, 'run', 'd.sock'), origins: [{ type: 'directory', path: mirror }], log: { level: 'silent' } }),
    );
    const config = loadConfig({ configPath, env: {}, home: root });
    daemon = await startDaemon(config, { watch: false });
    client = await connect({ socketPath: config.socketPath });
    const port = cacheRunPortFrom(client);

    const res = await runBench({
      suites: {
        cold: suite(getModelSuite(config.socketPath, 'acme/tiny'), { runs: 3, cwd: root }),
        warm: suite(getModelSuite(config.socketPath, 'acme/tiny'), { runs: 2, cwd: root }),
      },
      outDir: path.join(root, 'reports'),
      cwd: root,
      port,
      clock: stepClock(),
    });
    const [cold, warm] = res.report.suites;
    expect(cold?.ok, `${cold?.failure}: ${fs.readFileSync(cold?.measurements[0]?.logPath as string, 'utf8')}`).toBe(true);
    expect(fs.readFileSync(cold?.measurements[0]?.logPath as string, 'utf8')).toContain('"hit":false');
    expect(cold?.cache.runId).toMatch(/^run-\d{8}-[0-9a-f]{6}$/);
    expect(warm?.cache.runId).not.toBe(cold?.cache.runId);
    expect(cold?.cache.stats).toMatchObject({ hits: 2, misses: 1, errors: 0, missedModels: [expect.stringContaining('acme/tiny')] });
    expect(cold?.cache.stats?.bytesDownloaded).toBeGreaterThanOrEqual(300_000);
    expect(warm?.cache.stats).toMatchObject({ hits: 2, misses: 0, errors: 0, bytesDownloaded: 0, missedModels: [] });
    expect(warm?.cache.stats?.bytesAvoided).toBeGreaterThanOrEqual(2 * 300_000);
    expect(res.report.cache.totals).toMatchObject({ hits: 4, misses: 1 });
  });
});
