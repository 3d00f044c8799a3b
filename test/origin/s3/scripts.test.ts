import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../../support/useTempDir.js';

/**
 * scripts/s3: start-moto.sh starts a server that answers and records its pid; stop-swift-s3.sh stops
 * what was recorded and nothing else (a recorded pid that is not one of ours is left alone).
 * start-swift-s3.sh itself runs in .ci/run, where the Swift packages are installed.
 */
const run = promisify(execFile);
const SCRIPTS = path.resolve(import.meta.dirname, '../../../scripts/s3');
const tmp = useTempDir('vc-s3scripts-');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('scripts/s3', () => {
  it('start-moto.sh: an answering server, its pid recorded; stop-swift-s3.sh stops it and spares a stranger', async () => {
    const base = path.join(tmp.path, 'moto');
    const started = await run(path.join(SCRIPTS, 'start-moto.sh'), [base], { timeout: 120_000 });
    const endpoint = /^S3_ENDPOINT_MOTO=(http:\/\/127\.0\.0\.1:\d+)$/m.exec(started.stdout)?.[1];
    expect(endpoint, started.stdout + started.stderr).toBeDefined();
    expect(fs.readFileSync(path.join(base, 's3.env'), 'utf8')).toContain(`S3_ENDPOINT_MOTO=${endpoint}`);
    expect((await fetch(`${endpoint}/`)).status).toBe(200);
    const motoPid = Number(fs.readFileSync(path.join(base, 'run', 'pids'), 'utf8').trim().split(' ')[0]);
    expect(alive(motoPid)).toBe(true);

    // A process that is not ours, recorded by mistake (or a recycled pid): never signalled.
    const stranger = spawn('sleep', ['300'], { stdio: 'ignore' });
    fs.appendFileSync(path.join(base, 'run', 'pids'), `${stranger.pid} stranger\n`);
    try {
      const stopped = await run(path.join(SCRIPTS, 'stop-swift-s3.sh'), [base, '--purge'], { timeout: 60_000 });
      expect(stopped.stdout).toContain(`stopped moto (${motoPid})`);
      expect(alive(motoPid)).toBe(false);
      expect(alive(stranger.pid!)).toBe(true);
      expect(fs.existsSync(base)).toBe(false);
      // Stopping again (a trap after a failed start) is harmless.
      await run(path.join(SCRIPTS, 'stop-swift-s3.sh'), [base], { timeout: 60_000 });
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  it('start-swift-s3.sh refuses a base dir that is already running, without touching it', async () => {
    const base = path.join(tmp.path, 'swift');
    fs.mkdirSync(path.join(base, 'run'), { recursive: true });
    fs.writeFileSync(path.join(base, 'run', 'pids'), '999999 proxy-server\n');
    const r = await run(path.join(SCRIPTS, 'start-swift-s3.sh'), [base], { timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/already running|cannot import swift/);
    expect(fs.readFileSync(path.join(base, 'run', 'pids'), 'utf8')).toBe('999999 proxy-server\n');
  });
});
