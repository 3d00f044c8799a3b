import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../../dev/fixtures/fakeHub.js';
import { generateBytes, whisperKitRepo } from '../../dev/fixtures/generate.js';
import { ALIASES, getJson } from '../e2e/daemon-helpers.js';
import { CLI, makeSandbox, type Sandbox } from '../e2e/harness.js';
import { walk } from './helpers.js';

/** Access: a private socket, refusal of shared-writable dirs, and a Hub token that never leaks. */

const TOKEN = 'hf_RELIABILITYsecretTOKEN0123456789';
let hub: FakeHub;
let sb: Sandbox;

beforeAll(async () => {
  hub = await startFakeHub({ repos: [whisperKitRepo()], tokens: [TOKEN], treePageSize: 1000 });
  hub.publish({ id: 'private/model', files: [{ path: 'weights.bin', bytes: generateBytes('private', 50_000), lfs: true }] }, { private: true });
});
afterAll(async () => {
  await hub.close();
});
afterEach(async () => {
  await sb.cleanup();
});

function runForeground(s: Sandbox, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'daemon', 'run'], { env: { ...s.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('socket and directory permissions', () => {
  it('the socket is 0600 in a 0700 directory owned by the user', async () => {
    sb = makeSandbox({ endpoint: hub.endpoint, models: { ...ALIASES } });
    const start = await sb.cli(['daemon', 'start']);
    expect(start.code, start.stderr).toBe(0);
    const sock = fs.statSync(sb.socketPath);
    const dir = fs.statSync(path.dirname(sb.socketPath));
    expect(sock.isSocket()).toBe(true);
    expect(sock.mode & 0o777).toBe(0o600);
    expect(dir.mode & 0o777).toBe(0o700);
    expect(dir.uid).toBe(process.getuid!());
    expect(fs.statSync(sb.cacheDir).mode & 0o077).toBe(0);
  });

  it('a cache dir writable by others is refused with a clear message and a non-zero exit', async () => {
    sb = makeSandbox({ endpoint: hub.endpoint, models: { ...ALIASES } });
    fs.mkdirSync(sb.cacheDir, { recursive: true });
    fs.chmodSync(sb.cacheDir, 0o777);
    const r = await runForeground(sb);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toContain(sb.cacheDir);
    expect(r.stderr).toMatch(/writable by group or others/);
    expect(r.stderr).toContain('chmod go-w');
    expect(fs.existsSync(sb.socketPath)).toBe(false);
    expect(fs.existsSync(path.join(sb.cacheDir, 'v1', 'index.db'))).toBe(false);
  });

  it('a socket dir writable by others is refused with a clear message and a non-zero exit', async () => {
    sb = makeSandbox({ endpoint: hub.endpoint, models: { ...ALIASES } });
    fs.mkdirSync(path.dirname(sb.socketPath), { recursive: true });
    fs.chmodSync(path.dirname(sb.socketPath), 0o777);
    const r = await runForeground(sb);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toContain(path.dirname(sb.socketPath));
    expect(r.stderr).toMatch(/E_UNSAFE_PERMISSIONS|writable/);
    expect(fs.existsSync(sb.socketPath)).toBe(false);
  });
});

describe('the Hub token', () => {
  it('is used for a private repo but never appears in the log, errors, config show, stats or reports', async () => {
    sb = makeSandbox({ endpoint: hub.endpoint, models: { ...ALIASES } });
    sb.writeConfig({ log: { level: 'debug', file: path.join(sb.root, 'daemon.log') } });
    const env = { HF_TOKEN: TOKEN };
    Object.assign(sb.env, env);
    const outputs: string[] = [];
    const run = async (args: string[]) => {
      const r = await sb.cli(args);
      outputs.push(`${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
      return r;
    };
    const priv = await run(['--json', 'get', 'private/model']);
    expect(priv.code, priv.stderr).toBe(0);
    expect(hub.counters.authorizations('hub')).toContain(`Bearer ${TOKEN}`);
    expect((await getJson(sb, 'whisper-tiny')).hit).toBe(false);
    // Errors: a missing repo, a missing file, an unauthorized call with a wrong token in the request.
    expect((await run(['--json', 'get', 'private/absent'])).code).toBe(1);
    expect((await run(['get', 'argmaxinc/whisperkit-coreml@main:no_such_folder'])).code).toBe(1);
    for (const args of [['config', 'show'], ['--json', 'config', 'show'], ['--json', 'stats'], ['stats'], ['status'], ['--json', 'status'],
      ['--json', 'list'], ['report', '--format', 'md'], ['report', '--format', 'json'], ['report', '--format', 'html'],
      ['--json', 'metrics'], ['metrics', '--format', 'prometheus'], ['--json', 'verify'], ['--json', 'daemon', 'status']]) {
      const r = await run(args);
      expect([0, 1], `${args.join(' ')}: ${r.stderr}`).toContain(r.code);
    }
    await sb.cli(['daemon', 'stop']);
    const files = [path.join(sb.root, 'daemon.log'), ...walk(path.join(sb.root, 'home'))].filter((f) => fs.existsSync(f));
    expect(files.length).toBeGreaterThan(0);
    const logText = fs.readFileSync(path.join(sb.root, 'daemon.log'), 'utf8');
    expect(logText.length).toBeGreaterThan(0);
    for (const f of files) expect(fs.readFileSync(f, 'utf8').includes(TOKEN), `token in ${f}`).toBe(false);
    for (const o of outputs) expect(o.includes(TOKEN), `token in the output of ${o.split('\n')[0]}`).toBe(false);
    // Nor a recognisable fragment of it.
    for (const o of [...outputs, logText]) expect(o.includes(TOKEN.slice(3, 20))).toBe(false);
  });
});
