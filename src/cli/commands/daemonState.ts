import type { ResultOf } from '../../ipc/protocol.js';
import { duration } from '../format.js';

/** `daemon status`: what it reports and prints (shared by the full CLI and the fast path). */

export interface DaemonStatus {
  /** A daemon process holds this cache (answering on the socket or not). */
  running: boolean;
  pid: number | null;
  socket: string;
  version: string | null;
  uptimeMs: number | null;
  /** It answered on the socket. */
  answering: boolean;
  /** Only when running without answering: whether the socket file exists. */
  socketMissing?: boolean;
  /** The daemon's log file (`cache-manager logs` prints it). */
  log: string;
  /** The Hub-compatible endpoint's URL and its local secret's file (null when it is off or the daemon does not answer). */
  hubUrl: string | null;
  hubSecretFile: string | null;
}

/** A daemon that answered `status` on `socket`. */
export function answering(st: ResultOf<'status'>, socket: string, log: string): DaemonStatus {
  return { running: true, pid: st.daemon.pid, socket, version: st.daemon.version, uptimeMs: st.daemon.uptimeMs, answering: true, log, hubUrl: st.hubUrl, hubSecretFile: st.hubSecretFile };
}

/** `daemon status` exits 0 only when a daemon runs and answers, else 3. */
export function daemonStatusExit(d: DaemonStatus): number {
  return d.running && d.answering ? 0 : 3;
}

export const renderStatus = (d: DaemonStatus) =>
  `${renderState(d)}\nlog: ${d.log}${d.hubUrl ? `\nhub endpoint: ${d.hubUrl} (secret: ${d.hubSecretFile ?? 'none'})` : ''}`;

const renderState = (d: DaemonStatus) => {
  if (!d.running) return `not running (socket ${d.socket})`;
  if (!d.answering) {
    return `running but unreachable: pid ${d.pid} holds the cache, but its socket ${d.socket} is ${d.socketMissing ? 'missing' : 'not listening'} (restart it: cache-manager daemon stop, then cache-manager daemon start)`;
  }
  return `running: pid ${d.pid}, v${d.version}, up ${duration(d.uptimeMs ?? 0)}, socket ${d.socket}`;
};
