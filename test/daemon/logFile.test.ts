import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultLogFile } from '../../src/config/paths.js';
import { daemonLogFile, LOG_ROTATE_BYTES, rotateLogIfOver, watchLogSize } from '../../src/daemon/logFile.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-log-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the one log file', () => {
  it('is ~/Library/Logs/Vocorize on macOS, $XDG_STATE_HOME/vocorize elsewhere (default ~/.local/state), never in the cache dir', () => {
    expect(defaultLogFile('darwin', {}, '/Users/ada')).toBe('/Users/ada/Library/Logs/Vocorize/cache-manager.log');
    expect(defaultLogFile('linux', {}, '/home/ada')).toBe('/home/ada/.local/state/vocorize/cache-manager.log');
    expect(defaultLogFile('linux', { XDG_STATE_HOME: '/var/state/ada' }, '/home/ada')).toBe('/var/state/ada/vocorize/cache-manager.log');
    // A relative XDG dir is ignored, as the spec requires.
    expect(defaultLogFile('linux', { XDG_STATE_HOME: 'state' }, '/home/ada')).toBe('/home/ada/.local/state/vocorize/cache-manager.log');
  });

  it('is log.file when the config names one', () => {
    expect(daemonLogFile({ log: { level: 'info', file: '/tmp/x.log' } }, 'linux', {}, '/home/ada')).toBe('/tmp/x.log');
    expect(daemonLogFile({ log: { level: 'info', file: null } }, 'linux', {}, '/home/ada')).toBe('/home/ada/.local/state/vocorize/cache-manager.log');
  });
});

describe('rotation', () => {
  it('leaves a file at or under the bound (and a missing one) alone', () => {
    const f = path.join(dir, 'a.log');
    expect(rotateLogIfOver(f, 10)).toBe(false);
    fs.writeFileSync(f, '0123456789');
    expect(rotateLogIfOver(f, 10)).toBe(false);
    expect(fs.readFileSync(f, 'utf8')).toBe('0123456789');
    expect(fs.existsSync(`${f}.1`)).toBe(false);
    expect(LOG_ROTATE_BYTES).toBe(10 * 1024 * 1024);
  });

  it('over the bound: the content moves to <file>.1 (replacing the older one) and an appending writer goes on at the start of the same file', () => {
    const f = path.join(dir, 'a.log');
    fs.writeFileSync(`${f}.1`, 'oldest\n');
    const fd = fs.openSync(f, 'a');
    try {
      fs.writeSync(fd, 'line 1\nline 2\n');
      expect(rotateLogIfOver(f, 10)).toBe(true);
      expect(fs.readFileSync(`${f}.1`, 'utf8')).toBe('line 1\nline 2\n');
      expect(fs.statSync(f).size).toBe(0);
      fs.writeSync(fd, 'line 3\n');
      expect(fs.readFileSync(f, 'utf8')).toBe('line 3\n');
    } finally {
      fs.closeSync(fd);
    }
  });

  it('a running daemon rotates when it notices the file over the bound', async () => {
    vi.useFakeTimers();
    try {
      const f = path.join(dir, 'a.log');
      const rotated = vi.fn();
      const w = watchLogSize(f, { maxBytes: 10, everyMs: 1_000, onRotated: rotated });
      fs.writeFileSync(f, 'short\n');
      await vi.advanceTimersByTimeAsync(1_000);
      expect(rotated).not.toHaveBeenCalled();
      fs.appendFileSync(f, 'now over the bound\n');
      await vi.advanceTimersByTimeAsync(1_000);
      expect(rotated).toHaveBeenCalledTimes(1);
      expect(fs.readFileSync(`${f}.1`, 'utf8')).toBe('short\nnow over the bound\n');
      w.stop();
      fs.appendFileSync(f, 'again over the bound\n');
      await vi.advanceTimersByTimeAsync(5_000);
      expect(rotated).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
