import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPlan, LAUNCHD_LABEL, renderPlist, renderSystemdUnit, SYSTEMD_UNIT, uninstallPlan, type ServiceInputs } from '../../src/daemon/serviceUnits.js';
import { DAEMON_NODE_FLAGS, EXIT_NO_RESTART } from '../../src/daemon/launch.js';
import { CLI, makeSandbox, type Sandbox } from './harness.js';

/** The V8 flags every daemon command line carries (src/daemon/launch.ts). */
const F = [...DAEMON_NODE_FLAGS];

/**
 * `daemon install|uninstall`: the LaunchAgent plist (parsed by python's plistlib, as launchd would
 * read it), the launchctl and systemctl command lines, and `--dry-run` through the real CLI.
 */

let sb: Sandbox;
let tmp: string;

beforeAll(() => {
  sb = makeSandbox();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-units-'));
});
afterAll(async () => {
  await sb.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function inputs(over: Partial<ServiceInputs> = {}): ServiceInputs {
  return {
    home: '/Users/ada',
    uid: 501,
    node: '/opt/homebrew/bin/node',
    script: '/Users/ada/src/cache & co/dist/cli/main.js',
    configPath: '/Users/ada/.config/vocorize/<cache>-config.json',
    socketPath: '/Users/ada/Library/Caches/Vocorize/run/daemon.sock',
    logFile: '/Users/ada/Library/Logs/Vocorize/cache-manager.log',
    env: { HF_ENDPOINT: 'https://hub.example/?a=1&b=2' },
    ...over,
  };
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The plist as launchd sees it: plistlib.loads, returned as JSON. */
function parsePlist(text: string): Record<string, unknown> {
  const out = execFileSync(
    'python3',
    ['-c', 'import json, plistlib, sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'],
    { input: text, encoding: 'utf8' },
  );
  return JSON.parse(out) as Record<string, unknown>;
}

describe('launchd plist', () => {
  it('parses as a property list with Label, absolute ProgramArguments, KeepAlive, RunAtLoad, ProcessType and log paths', () => {
    const i = inputs();
    const p = parsePlist(renderPlist(i));
    expect(p.Label).toBe(LAUNCHD_LABEL);
    const args = p.ProgramArguments as string[];
    expect(args.slice(0, 4 + F.length)).toEqual([i.node, ...F, i.script, 'daemon', 'run']);
    expect(path.isAbsolute(args[0]!) && path.isAbsolute(args[1 + F.length]!)).toBe(true);
    expect(args).toEqual([i.node, ...F, i.script, 'daemon', 'run', '--config', i.configPath, '--socket', i.socketPath, '--managed-by', 'launchd']);
    expect(p.RunAtLoad).toBe(true);
    // Restarted after a failure only: exit 0 is also "held by a daemon I must not stop" (no loop).
    expect(p.KeepAlive).toEqual({ SuccessfulExit: false });
    // Not Background (throttled) nor Adaptive (boosted only by XPC, which a Unix socket is not): docs/design.md.
    expect(p.ProcessType).toBe('Interactive');
    // stdout and stderr both go to the one log file.
    expect(p.StandardOutPath).toBe(i.logFile);
    expect(p.StandardErrorPath).toBe(i.logFile);
    expect(path.isAbsolute(p.StandardOutPath as string) && path.isAbsolute(p.StandardErrorPath as string)).toBe(true);
    expect(p.EnvironmentVariables).toEqual(i.env);
    expect(JSON.stringify(p)).not.toContain('{{');
  });

  it('without a config file or environment it still parses, with only --socket after `daemon run`', () => {
    const i = inputs({ configPath: null, env: {} });
    const p = parsePlist(renderPlist(i));
    expect(p.ProgramArguments).toEqual([i.node, ...F, i.script, 'daemon', 'run', '--socket', i.socketPath, '--managed-by', 'launchd']);
    expect(p.EnvironmentVariables).toEqual({});
  });

  it('the darwin install plan writes the plist to ~/Library/LaunchAgents and runs `launchctl bootstrap gui/<uid> <plist>`', () => {
    const i = inputs();
    const plan = installPlan('darwin', i);
    const plistPath = path.join(i.home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
    expect(plan.files.map((f) => f.path)).toEqual([plistPath]);
    expect(parsePlist(plan.files[0]!.content).Label).toBe(LAUNCHD_LABEL);
    const lines = plan.commands.map((c) => c.join(' '));
    expect(lines).toContain(`launchctl bootstrap gui/${i.uid} ${plistPath}`);
    // bootout (of an older install) comes first, so a reinstall replaces the running agent.
    expect(lines.indexOf(`launchctl bootout gui/${i.uid}/${LAUNCHD_LABEL}`)).toBeLessThan(lines.indexOf(`launchctl bootstrap gui/${i.uid} ${plistPath}`));

    const un = uninstallPlan('darwin', i);
    expect(un.commands.map((c) => c.join(' '))).toEqual([`launchctl bootout gui/${i.uid}/${LAUNCHD_LABEL}`]);
    expect(un.remove).toEqual([plistPath]);
  });

  it('renders from the launchd/ template in the repository (a changed template shows up)', () => {
    const dir = path.join(tmp, 'launchd');
    fs.mkdirSync(dir, { recursive: true });
    const template = fs.readFileSync(path.resolve(import.meta.dirname, '../../launchd', `${LAUNCHD_LABEL}.plist`), 'utf8');
    fs.writeFileSync(path.join(dir, `${LAUNCHD_LABEL}.plist`), template.replace('<integer>10</integer>', '<integer>42</integer>'));
    expect(parsePlist(renderPlist(inputs({ templateDir: dir }))).ThrottleInterval).toBe(42);
  });
});

describe('systemd unit', () => {
  it('runs the daemon --managed-by systemd, appends its output to the log file (a % doubled) and never restarts the no-restart exit', () => {
    const i = inputs({ logFile: '/home/ada/.local/state/vocorize/100%/cache-manager.log' });
    const unit = renderSystemdUnit(i);
    const exec = unit.split('\n').find((l) => l.startsWith('ExecStart='));
    expect(exec).toMatch(/ "--managed-by" "systemd"$/);
    expect(unit).toMatch(/^StandardOutput=append:\/home\/ada\/\.local\/state\/vocorize\/100%%\/cache-manager\.log$/m);
    expect(unit).toMatch(/^StandardError=append:\/home\/ada\/\.local\/state\/vocorize\/100%%\/cache-manager\.log$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toContain(`\nRestartPreventExitStatus=${EXIT_NO_RESTART}\n`);
    expect(EXIT_NO_RESTART).not.toBe(0);
  });
});

describe('daemon install --dry-run through the CLI', () => {
  it.runIf(process.platform === 'linux')('shows the systemd user unit and the `systemctl --user` lines, and writes nothing', async () => {
    const r = await sb.cli(['daemon', 'install', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    const unitPath = path.join(sb.env.HOME!, '.config', 'systemd', 'user', SYSTEMD_UNIT);
    expect(r.stdout).toContain(`would write ${unitPath}:`);
    expect(r.stdout).toMatch(/^\[Unit\]$/m);
    expect(r.stdout).toMatch(/^\[Service\]$/m);
    expect(r.stdout).toMatch(/^\[Install\]$/m);
    expect(r.stdout).toMatch(/^WantedBy=default\.target$/m);
    const exec = r.stdout.split('\n').find((l) => l.startsWith('ExecStart='));
    expect(exec).toBe(
      `ExecStart="${process.execPath}" ${F.map((f) => `"${f}"`).join(' ')} "${CLI}" "daemon" "run" "--config" "${sb.configPath}" "--socket" "${sb.socketPath}" "--managed-by" "systemd"`,
    );
    // The sandbox config names a log file: stdout and stderr are appended there, not to the journal.
    expect(r.stdout).toMatch(new RegExp(`^StandardOutput=append:${escapeRe(path.join(sb.root, 'daemon.log'))}$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^StandardError=append:${escapeRe(path.join(sb.root, 'daemon.log'))}$`, 'm'));
    expect(r.stdout).toMatch(/^Restart=on-failure$/m);
    expect(r.stdout).toMatch(new RegExp(`^RestartPreventExitStatus=${EXIT_NO_RESTART}$`, 'm'));
    expect(r.stdout).toContain('would run: systemctl --user daemon-reload');
    expect(r.stdout).toContain(`would run: systemctl --user enable --now ${SYSTEMD_UNIT}`);
    expect(fs.existsSync(unitPath)).toBe(false);

    const json = await sb.cli(['--json', 'daemon', 'install', '--dry-run']);
    const plan = json.json<{ platform: string; dryRun: boolean; files: Array<{ path: string; content: string }>; commands: string[][] }>();
    expect(plan).toMatchObject({ platform: 'linux', dryRun: true });
    expect(plan.files[0]!.path).toBe(unitPath);
    expect(plan.commands).toContainEqual(['systemctl', '--user', 'enable', '--now', SYSTEMD_UNIT]);

    const un = await sb.cli(['daemon', 'uninstall', '--dry-run']);
    expect(un.code).toBe(0);
    expect(un.stdout).toContain(`would run: systemctl --user disable --now ${SYSTEMD_UNIT}`);
    expect(un.stdout).toContain(`would remove ${unitPath}`);
  });

  it.runIf(process.platform === 'darwin')('shows the plist and the `launchctl bootstrap` line', async () => {
    const r = await sb.cli(['daemon', 'install', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    const uid = process.getuid!();
    expect(r.stdout).toMatch(new RegExp(`would run: launchctl bootstrap gui/${uid} .*${LAUNCHD_LABEL}\\.plist`));
  });
});
