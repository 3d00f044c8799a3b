import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CacheError, ErrorCodes } from '../errors.js';

/**
 * The socket's directory: created 0700 when missing; when it exists it must be a directory owned by
 * this user and not writable by group or others (anyone who can write there could replace the
 * socket and impersonate the daemon). Throws E_UNSAFE_PERMISSIONS naming the directory.
 */
export function ensureSocketDir(socketPath: string): string {
  const dir = path.dirname(socketPath);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    return dir;
  }
  if (!st.isDirectory()) {
    throw new CacheError(ErrorCodes.UNSAFE_PERMISSIONS, `socket directory ${dir} exists and is not a directory`);
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new CacheError(
      ErrorCodes.UNSAFE_PERMISSIONS,
      `socket directory ${dir} is owned by uid ${st.uid}, not by this user (uid ${uid}); use a directory of your own`,
      { details: { dir, owner: st.uid, uid } },
    );
  }
  if ((st.mode & 0o022) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(3, '0');
    throw new CacheError(
      ErrorCodes.UNSAFE_PERMISSIONS,
      `socket directory ${dir} is writable by group or others (mode ${mode}); run: chmod 700 ${dir}`,
      { details: { dir, mode } },
    );
  }
  return dir;
}

export type SocketProbe = 'absent' | 'live' | 'stale';

/**
 * What is at `socketPath`: nothing, a socket someone answers on, or a stale socket file nobody
 * listens on. A connect that neither succeeds nor is refused within `timeoutMs` counts as live
 * (a busy daemon must not lose its socket). A path that exists but is not a socket is refused.
 */
export async function probeSocket(socketPath: string, timeoutMs = 1_000): Promise<SocketProbe> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw err;
  }
  if (!st.isSocket()) {
    throw new CacheError(ErrorCodes.UNSAFE_PERMISSIONS, `${socketPath} exists and is not a socket; refusing to replace it`);
  }
  return new Promise<SocketProbe>((resolve) => {
    const sock = net.connect(socketPath);
    const done = (result: SocketProbe): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done('live'), timeoutMs);
    sock.once('connect', () => done('live'));
    sock.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') done('stale');
      else if (err.code === 'ENOENT') done('absent');
      else done('live');
    });
  });
}

export function unlinkIfPresent(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * `<dev>:<ino>:<ctime ns>` of a path (not followed), or null when it is gone. The ctime tells apart a
 * new file that was given the inode number of a removed one.
 */
export function fileIdentity(file: string): string | null {
  try {
    const st = fs.lstatSync(file, { bigint: true });
    return `${st.dev}:${st.ino}:${st.ctimeNs}`;
  } catch {
    return null;
  }
}

/** Unlinks the socket file unless someone else's socket took its place. */
export function removeIfOurs(socketPath: string, identity: string): void {
  try {
    if (fileIdentity(socketPath) === identity) fs.unlinkSync(socketPath);
  } catch {
    // already gone
  }
}
