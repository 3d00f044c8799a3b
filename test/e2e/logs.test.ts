import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSandbox, waitFor, type Sandbox } from './harness.js';

/** The daemon's one log file: where autostart writes it, `daemon status` naming it, `cache-manager logs` printing it. */

let sb: Sandbox;
beforeEach(() => {
  sb = makeSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

const line = (msg: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ level: 30, time: Date.UTC(2026, 0, 2, 3, 4, 5), pid: 7, hostname: 'h', name: 'vocorize-cache', msg, ...extra });

describe('the daemon log', () => {
  it('without log.file it is $XDG_STATE_HOME/vocorize/cache-manager.log, outside the cache dir: autostart writes there and daemon status names it', async () => {
    sb.writeConfig({ log: { level: 'info' } });
    const state = path.join(sb.root, 'state');
    const env = { XDG_STATE_HOME: state };
    const file = path.join(state, 'vocorize', 'cache-manager.log');
    const started = await sb.cli(['--json', 'daemon', 'start'], { env });
    expect(started.code, started.stderr).toBe(0);
    expect(started.json()).toMatchObject({ started: true, log: file });
    await waitFor(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('daemon ready'), 10_000, 'the daemon to log that it is ready');
    expect(fs.existsSync(path.join(sb.cacheDir, 'daemon.log'))).toBe(false);
    expect(fs.existsSync(path.join(sb.cacheDir, 'logs'))).toBe(false);

    const st = await sb.cli(['daemon', 'status'], { env });
    expect(st.code).toBe(0);
    expect(st.stdout).toContain(`log: ${file}`);
    const stJson = await sb.cli(['--json', 'daemon', 'status'], { env });
    expect(stJson.json()).toMatchObject({ running: true, log: file });

    // Without XDG_STATE_HOME: ~/.local/state.
    const home = await sb.cli(['--json', 'daemon', 'status'], { env: { XDG_STATE_HOME: '' } });
    expect(home.json()).toMatchObject({ log: path.join(sb.env.HOME!, '.local', 'state', 'vocorize', 'cache-manager.log') });
  });

  it('`logs -n N` prints the last N lines as written (JSON lines) when stdout is not a terminal; a missing log is said on stderr', async () => {
    const file = path.join(sb.root, 'daemon.log');
    const none = await sb.cli(['logs']);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain(`no log yet at ${file}`);

    fs.writeFileSync(file, [line('one'), 'cache-manager daemon: plain text [E_LOCKED]', line('three', { socket: '/s' })].join('\n') + '\n');
    const two = await sb.cli(['logs', '-n', '2']);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stdout).toBe(`cache-manager daemon: plain text [E_LOCKED]\n${line('three', { socket: '/s' })}\n`);
    const all = await sb.cli(['logs']);
    expect(all.stdout.split('\n').filter(Boolean)).toHaveLength(3);
    const bad = await sb.cli(['logs', '-n', 'x']);
    expect(bad.code).toBe(2);
  });

  it('`logs -f` prints lines as they are appended, and from the start again after a rotation', async () => {
    const file = path.join(sb.root, 'daemon.log');
    fs.writeFileSync(file, `${line('old')}\n${line('last')}\n`);
    const child = sb.spawnCli(['logs', '-f', '-n', '1']);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes('"last"'), 10_000, 'the last line');
      fs.appendFileSync(file, `${line('appended')}\n`);
      await waitFor(() => out.includes('"appended"'), 10_000, 'the appended line');
      expect(out).not.toContain('"old"');
      fs.truncateSync(file, 0);
      fs.appendFileSync(file, `${line('after rotation')}\n`);
      await waitFor(() => out.includes('"after rotation"'), 10_000, 'the line after the rotation');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
