import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { measureCommand, parseTimes } from '../../src/benchmarker/measure.js';
import { useTempDir } from '../support/useTempDir.js';

const tmp = useTempDir();

const env = (): Record<string, string> => ({ PATH: process.env.PATH ?? '/usr/bin:/bin' });
const node = JSON.stringify(process.execPath);

describe('measureCommand', () => {
  it('times a sleeping command and captures its output and exit code in the log', async () => {
    const m = await measureCommand({
      command: 'echo hello-out; echo hello-err >&2; sleep 0.2; exit 3',
      cwd: tmp.path,
      env: env(),
      logPath: path.join(tmp.path, 'logs', 'a.log'),
    });
    expect(m.exitCode).toBe(3);
    expect(m.signal).toBeNull();
    expect(m.timedOut).toBe(false);
    expect(m.interrupted).toBe(false);
    expect(m.wallMs).toBeGreaterThanOrEqual(200);
    expect(m.wallMs).toBeLessThan(5000);
    const log = fs.readFileSync(m.logPath, 'utf8');
    expect(log).toContain('hello-out');
    expect(log).toContain('hello-err');
  });

  it('measures the peak RSS of a grandchild that allocates 200 MB', async () => {
    // sh -> sh -> node: the allocation happens two levels below the measured shell.
    const m = await measureCommand({
      command: `sh -c '${node.replaceAll("'", '')} -e "const b = Buffer.alloc(200e6, 1); setTimeout(() => b.length, 400)"'`,
      cwd: tmp.path,
      env: env(),
      logPath: path.join(tmp.path, 'b.log'),
    });
    expect(m.exitCode).toBe(0);
    expect(m.rssSamples).toBeGreaterThan(0);
    expect(m.peakRssBytes).not.toBeNull();
    expect(m.peakRssBytes as number).toBeGreaterThan(200e6);
  });

  it('counts the CPU of descendants (user + sys)', async () => {
    const m = await measureCommand({
      // Spin until this process itself has used 300 ms of CPU (robust on a loaded machine).
      command: `${node} -e "let x = 0; while (process.cpuUsage().user < 300e3) x++"`,
      cwd: tmp.path,
      env: env(),
      logPath: path.join(tmp.path, 'c.log'),
    });
    expect(m.exitCode).toBe(0);
    expect(m.userMs).not.toBeNull();
    expect((m.userMs as number) + (m.sysMs as number)).toBeGreaterThanOrEqual(280);
  });

  it('passes env and cwd, and does not leak the wrapper fd 3 to the command', async () => {
    const m = await measureCommand({
      command: 'echo "run=$VOCORIZE_CACHE_RUN pwd=$(pwd)"; if { true >&3; } 2>/dev/null; then echo fd3-open; else echo fd3-closed; fi',
      cwd: tmp.path,
      env: { ...env(), VOCORIZE_CACHE_RUN: 'run-x' },
      logPath: path.join(tmp.path, 'd.log'),
    });
    const log = fs.readFileSync(m.logPath, 'utf8');
    expect(log).toContain('run=run-x');
    expect(log).toContain(`pwd=${fs.realpathSync(tmp.path)}`);
    expect(log).toContain('fd3-closed');
  });

  it('kills the whole process group on timeout', async () => {
    const marker = path.join(tmp.path, 'survived');
    const m = await measureCommand({
      command: `(sleep 1.5; touch ${marker}) & sleep 5`,
      cwd: tmp.path,
      env: env(),
      logPath: path.join(tmp.path, 'e.log'),
      timeoutMs: 200,
    });
    expect(m.timedOut).toBe(true);
    expect(m.exitCode === 0 && m.signal === null).toBe(false);
    expect(m.wallMs).toBeLessThan(4000);
    await new Promise((r) => setTimeout(r, 1700));
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('passes a SIGTERM sent to the benchmarker on to the command\'s whole process group', async () => {
    const marker = path.join(tmp.path, 'survived');
    const keep = (): void => undefined; // another listener: the forwarder must not re-raise and end the test worker
    process.on('SIGTERM', keep);
    try {
      const running = measureCommand({ command: `(sleep 1; touch '${marker}') & sleep 5`, cwd: tmp.path, env: env(), logPath: path.join(tmp.path, 'g.log') });
      await new Promise((r) => setTimeout(r, 200));
      process.emit('SIGTERM', 'SIGTERM');
      const m = await running;
      expect(m.signal).toBe('SIGTERM');
      expect(m.interrupted).toBe(true);
      expect(m.wallMs).toBeLessThan(4000);
      expect(process.listeners('SIGTERM')).toEqual([keep]);
      await new Promise((r) => setTimeout(r, 1200));
      expect(fs.existsSync(marker)).toBe(false);
    } finally {
      process.removeListener('SIGTERM', keep);
    }
  });

  it('echoes output when asked, and still logs it', async () => {
    const chunks: Buffer[] = [];
    const { Writable } = await import('node:stream');
    const echo = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    const m = await measureCommand({ command: 'echo visible', cwd: tmp.path, env: env(), logPath: path.join(tmp.path, 'f.log'), echo });
    expect(Buffer.concat(chunks).toString()).toContain('visible');
    await new Promise((r) => setTimeout(r, 50));
    expect(fs.readFileSync(m.logPath, 'utf8')).toContain('visible');
  });
});

describe('parseTimes', () => {
  it.each([
    ['0m0.000000s 0m0.000000s\n0m1.820000s 0m0.010000s\n', { userMs: 1820, sysMs: 10 }],
    ['0m0.001s 0m0.002s\n1m2.500s 0m0.250s', { userMs: 62500, sysMs: 250 }],
    ['garbage', null],
    ['0m0.0s 0m0.0s\nnope', null],
  ])('%j', (text, want) => {
    expect(parseTimes(text)).toEqual(want);
  });
});
