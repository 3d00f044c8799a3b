import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonArgv } from './commandLine.js';
import { EXIT_NO_RESTART } from './exitCodes.js';

/**
 * What `daemon install|uninstall` writes and runs, as data: files and command lines. Executing the
 * plan is the caller's job, so the plan itself is testable on any OS (launchctl cannot run on Linux).
 */
export const LAUNCHD_LABEL = 'com.vocorize.cache-manager';
export const SYSTEMD_UNIT = 'vocorize-cache-manager.service';

export interface ServicePlan {
  platform: 'darwin' | 'linux';
  files: Array<{ path: string; content: string }>;
  remove: string[];
  commands: string[][];
}

export interface ServiceInputs {
  home: string;
  uid: number;
  node: string;
  script: string;
  configPath: string | null;
  socketPath: string;
  /** The daemon's one log file (logFile.ts `daemonLogFile`): its stdout and stderr are appended there. */
  logFile: string;
  /** Environment to carry into the service (HF_ENDPOINT etc.; never a token). */
  env: Record<string, string>;
  /** Repository root holding launchd/ (defaults to this package's root). */
  templateDir?: string;
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export function renderPlist(i: ServiceInputs): string {
  const template = fs.readFileSync(path.join(i.templateDir ?? path.join(packageRoot(), 'launchd'), `${LAUNCHD_LABEL}.plist`), 'utf8');
  const args = daemonArgv({ script: i.script, configPath: i.configPath, socketPath: i.socketPath, managedBy: 'launchd' })
    .map((a) => `    <string>${xml(a)}</string>\n`)
    .join('');
  const env = Object.entries(i.env)
    .map(([k, v]) => `    <key>${xml(k)}</key>\n    <string>${xml(v)}</string>\n`)
    .join('');
  const values: Record<string, string> = {
    LABEL: xml(LAUNCHD_LABEL),
    NODE: xml(i.node),
    LOG: xml(i.logFile),
  };
  return template
    .replace(/^<!--[\s\S]*?-->\n/m, '')
    .replace('{{ARGS}}', args)
    .replace('{{ENV}}', env)
    .replace(/\{\{([A-Z_]+)\}\}/g, (_m, k: string) => values[k] ?? '');
}

/** systemd quoting: each argument double-quoted with \ and " escaped. */
const sq = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
/** A path in a unit setting that takes no quotes: `%` (systemd's specifier prefix) doubled. */
const spath = (s: string) => s.replace(/%/g, '%%');

export function renderSystemdUnit(i: ServiceInputs): string {
  const exec = [i.node, ...daemonArgv({ script: i.script, configPath: i.configPath, socketPath: i.socketPath, managedBy: 'systemd' })]
    .map(sq)
    .join(' ');
  const env = Object.entries(i.env).map(([k, v]) => `Environment=${sq(`${k}=${v}`)}`);
  return [
    '[Unit]',
    'Description=Vocorize model cache daemon',
    'Documentation=file://' + path.join(packageRoot(), 'README.md'),
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    ...env,
    `StandardOutput=append:${spath(i.logFile)}`,
    `StandardError=append:${spath(i.logFile)}`,
    'Restart=on-failure',
    'RestartSec=2',
    // The daemon exits with this code when the cache is held by a daemon it must not stop (handOver.ts).
    `RestartPreventExitStatus=${EXIT_NO_RESTART}`,
    'KillSignal=SIGTERM',
    'TimeoutStopSec=30',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

export function installPlan(platform: NodeJS.Platform, i: ServiceInputs): ServicePlan {
  if (platform === 'darwin') {
    const plist = path.join(i.home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
    return {
      platform: 'darwin',
      files: [{ path: plist, content: renderPlist(i) }],
      remove: [],
      commands: [
        ['launchctl', 'bootout', `gui/${i.uid}/${LAUNCHD_LABEL}`],
        ['launchctl', 'bootstrap', `gui/${i.uid}`, plist],
      ],
    };
  }
  const unit = path.join(i.home, '.config', 'systemd', 'user', SYSTEMD_UNIT);
  return {
    platform: 'linux',
    files: [{ path: unit, content: renderSystemdUnit(i) }],
    remove: [],
    commands: [
      ['systemctl', '--user', 'daemon-reload'],
      ['systemctl', '--user', 'enable', '--now', SYSTEMD_UNIT],
    ],
  };
}

export function uninstallPlan(platform: NodeJS.Platform, i: Pick<ServiceInputs, 'home' | 'uid'>): ServicePlan {
  if (platform === 'darwin') {
    const plist = path.join(i.home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
    return {
      platform: 'darwin',
      files: [],
      remove: [plist],
      commands: [['launchctl', 'bootout', `gui/${i.uid}/${LAUNCHD_LABEL}`]],
    };
  }
  const unit = path.join(i.home, '.config', 'systemd', 'user', SYSTEMD_UNIT);
  return {
    platform: 'linux',
    files: [],
    remove: [unit],
    commands: [
      ['systemctl', '--user', 'disable', '--now', SYSTEMD_UNIT],
      ['systemctl', '--user', 'daemon-reload'],
    ],
  };
}
