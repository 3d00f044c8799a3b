import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeHub } from '../fixtures/fakeHub.js';
import { mlxRepo, whisperKitRepo } from '../fixtures/generate.js';

/**
 * `npm run demo`: the main job end to end on a fresh machine with no network.
 * A local fixture Hub (the fake Hub the tests use, on 127.0.0.1) serves a generated
 * argmaxinc/whisperkit-coreml; a daemon is started on demand on a temp cache; the real CLI gets a
 * model (miss, with progress), gets it again (hit), verifies, and prints status and a report.
 * Pass --keep to leave the temp cache for a look around.
 */
/** Compiled to build/dev/demo/main.js; it drives the shipped CLI in <repo>/dist. */
const CLI = fileURLToPath(new URL('../../../dist/cli/main.js', import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, ms: performance.now() - t0 }));
  });
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vocorize-demo-'));
  fs.chmodSync(root, 0o700);
  const hub = await startFakeHub({
    repos: [whisperKitRepo({ weightScale: 0.5 }), mlxRepo('mlx-community/whisper-tiny', { weightScale: 0.2 })],
    treePageSize: 1000,
  });
  const configPath = path.join(root, 'cache-config.json');
  fs.writeFileSync(
    configPath,
    JSON.stringify(
      {
        cacheDir: path.join(root, 'cache'),
        socketPath: path.join(root, 'run', 'daemon.sock'),
        maxSize: '2GB',
        origins: [{ type: 'huggingface', endpoint: hub.endpoint }],
        models: {
          'whisper-tiny': 'argmaxinc/whisperkit-coreml@main:openai_whisper-tiny',
          'mlx-tiny': 'mlx-community/whisper-tiny',
        },
        log: { level: 'info', file: path.join(root, 'daemon.log') },
      },
      null,
      2,
    ),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, VOCORIZE_CACHE_CONFIG: configPath, HF_TOKEN: '', HF_HUB_OFFLINE: '' };
  const say = (s: string) => process.stdout.write(`${s}\n`);
  const step = async (title: string, args: string[]) => {
    say(`\n$ cache-manager ${args.join(' ')}    # ${title}`);
    const r = await run(args, env);
    process.stdout.write(r.stdout);
    if (r.code !== 0) throw new Error(`cache-manager ${args.join(' ')} exited ${r.code}`);
    return r;
  };

  let failed = false;
  try {
    say(`fixture Hub: ${hub.endpoint} (CDN ${hub.cdnEndpoint}); cache: ${root}/cache`);
    const miss = await step('first get: a miss, fetched from the fixture Hub (starts the daemon)', ['--json', 'get', 'whisper-tiny']);
    const hit = await step('second get: a hit, served from the index', ['--json', 'get', 'whisper-tiny']);
    const m = JSON.parse(miss.stdout) as { hit: boolean; files: number; bytes: number; path: string };
    const h = JSON.parse(hit.stdout) as { hit: boolean; path: string };
    if (m.hit || !h.hit || m.path !== h.path) throw new Error('expected a miss then a hit with the same path');
    say(`\nmiss: ${m.files} files, ${(m.bytes / 1e6).toFixed(1)} MB in ${Math.round(miss.ms)} ms (whole CLI process)`);
    say(`hit:  same path in ${Math.round(hit.ms)} ms (whole CLI process; the lookup itself is sub-millisecond)`);
    say(`Hub requests: ${hub.counters.requests()} in all; the hit made none`);
    await step('re-hash every file against the index', ['verify']);
    await step('the status page scripts grep', ['status']);
    await step('hit-rate report', ['report', '--format', 'md']);
  } catch (err) {
    failed = true;
    process.stderr.write(`demo failed: ${(err as Error).message}\nlog: ${path.join(root, 'daemon.log')}\n`);
  } finally {
    await run(['daemon', 'stop'], env).catch(() => undefined);
    await hub.close();
    if (keep || failed) say(`\n(kept ${root})`);
    else fs.rmSync(root, { recursive: true, force: true });
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
