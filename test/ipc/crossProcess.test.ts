import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransportServer } from '../../src/ipc/transport.js';
import { startEchoServer } from './helpers.js';

/**
 * The real client, compiled to JS, used from a separate node process against a server in this one.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let dir: string;
let out: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-'));
  out = path.join(dir, 'build');
  execFileSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules/typescript/bin/tsc'),
      '--outDir', out, '--rootDir', path.join(ROOT, 'src'),
      '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
      '--strict', '--skipLibCheck', '--types', 'node', '--esModuleInterop',
      path.join(ROOT, 'src/ipc/client.ts'), path.join(ROOT, 'src/ipc/node-ipc.d.ts'),
    ],
    { stdio: 'pipe' },
  );
  fs.writeFileSync(path.join(out, 'package.json'), '{"type":"module"}');
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(out, 'node_modules'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const CHILD = `
import { connect } from './ipc/client.js';
const socketPath = process.argv[2];
const c = await connect({ socketPath });
const hello = await c.call('hello', { client: 'child' });
const progress = [];
const got = await c.call('get', { model: 'tiny', progress: true }, { onProgress: (d) => progress.push(d.doneBytes) });
const many = await Promise.all(Array.from({ length: 100 }, (_, i) => c.call('pin', { model: 'm' + i })));
let err;
try { await c.call('nope', {}); } catch (e) { err = { code: e.code, name: e.name, retryable: e.retryable }; }
process.stdout.write(JSON.stringify({ hello, got, progress, many: many.map((r) => r.params.model), err }));
// No close(): an idle connection must not keep the process alive.
`;

function runChild(socketPath: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = path.join(out, 'child.mjs');
  fs.writeFileSync(script, CHILD);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a client in another process', () => {
  it('calls the server, gets progress then results, many concurrent calls by id, errors with codes; exits when idle', async () => {
    const sock = path.join(dir, 'run', 'd.sock');
    const disconnected: number[] = [];
    const server: TransportServer = await startEchoServer(sock, { onDisconnect: (c) => disconnected.push(c.id) });
    try {
      const r = await runChild(sock);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as {
        hello: { protocol: number; socket: string; pid: number };
        got: { params: { model: string } };
        progress: number[];
        many: string[];
        err: { code: string; name: string; retryable: boolean };
      };
      expect(out.hello).toMatchObject({ protocol: 1, socket: sock, pid: process.pid });
      expect(out.progress).toEqual([10, 20, 30]);
      expect(out.got.params.model).toBe('tiny');
      expect(out.many).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
      expect(out.err).toEqual({ code: 'E_UNKNOWN_METHOD', name: 'CacheError', retryable: false });
      for (let i = 0; i < 100 && disconnected.length === 0; i++) await new Promise((res) => setTimeout(res, 10));
      expect(disconnected).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});
