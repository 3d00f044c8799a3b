import fs from 'node:fs';
import path from 'node:path';

/** statfs `type` of Linux kernel pseudo-filesystems: no regular files can be stored there. */
const PSEUDO_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x27e0eb, 'cgroupfs'],
  [0x63677270, 'cgroup2fs'],
  [0x1cd1, 'devpts'],
  [0xcafe4a11, 'bpffs'],
  [0x6165676c, 'pstore'],
  [0x62656570, 'configfs'],
  [0xde5e81e4, 'efivarfs'],
  [0x65735543, 'fusectl'],
  [0xf97cff8c, 'selinuxfs'],
  [0x42494e4d, 'binfmt_misc'],
  [0x19800202, 'mqueue'],
  [0x6e736673, 'nsfs'],
]);

/**
 * Why `dir` cannot be the cache dir (or the folder of the config field `field`, e.g. the socket's), or
 * null when it may be (it need not exist yet). Only reads (lstat,
 * stat, readlink, statfs), one call per path component, and creates nothing. Finds: a component that is a
 * dangling symbolic link (or a link loop), a component that is not a folder, and, on Linux, a nearest
 * existing ancestor on a kernel pseudo-filesystem (/proc, /sys, …). Each answer names the path and the fix.
 */
export function cacheDirProblem(dir: string, platform: NodeJS.Platform = process.platform, field = 'cacheDir'): string | null {
  const abs = path.resolve(dir);
  const parts = abs.split(path.sep).filter((s) => s.length > 0);
  let existing = path.parse(abs).root;
  for (const part of parts) {
    const p = path.join(existing, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') break; // created on first use
      return `${p} (on the way to ${abs}) cannot be examined (${(err as NodeJS.ErrnoException).code ?? err}); check its permissions`;
    }
    if (st.isSymbolicLink()) {
      const target = readLink(p);
      let real: fs.Stats;
      try {
        real = fs.statSync(p);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          return (
            `${abs} lies under ${p}, a symbolic link to ${target} which does not exist (a dangling link); ` +
            `create ${resolveTarget(p, target)} (mkdir -p), or remove the link, or set ${field} to another folder`
          );
        }
        if (code === 'ELOOP') return `${abs} lies under ${p}, a symbolic link that loops (${target}); fix or remove the link`;
        return `${abs} lies under ${p}, a symbolic link to ${target} that cannot be followed (${code ?? err})`;
      }
      if (!real.isDirectory()) return `${abs} lies under ${p}, a symbolic link to ${target} which is not a folder`;
    } else if (!st.isDirectory()) {
      return `${abs} lies under ${p}, which is a file, not a folder; set ${field} to another folder`;
    }
    existing = p;
  }
  if (platform !== 'linux' || typeof fs.statfsSync !== 'function') return null;
  let type: number;
  try {
    type = Number(fs.statfsSync(existing).type);
  } catch {
    return null;
  }
  const fsName = PSEUDO_FS.get(type);
  if (fsName) {
    return (
      `${abs} is on ${existing}, a ${fsName} kernel pseudo-filesystem where no files can be stored ` +
      `(not a regular writable filesystem); set ${field} to a folder on a regular disk, e.g. under your home`
    );
  }
  return null;
}

function readLink(p: string): string {
  try {
    return fs.readlinkSync(p);
  } catch {
    return '?';
  }
}

function resolveTarget(link: string, target: string): string {
  return target === '?' ? target : path.resolve(path.dirname(link), target);
}

/**
 * Proves that `dir` (an existing folder) holds regular files: creates, writes, fsyncs and removes one
 * probe file, once. Returns why not (naming `dir` and the errno), or null. Never retries.
 */
export function probeWritableDir(dir: string): string | null {
  // node:crypto loaded here, not at import: reading a config (every CLI start) never probes.
  const crypto = process.getBuiltinModule('node:crypto');
  const probe = path.join(dir, `.probe-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  let fd: number | null = null;
  try {
    fd = fs.openSync(probe, 'wx', 0o600);
    fs.writeSync(fd, 'probe');
    fs.fsyncSync(fd);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return (
      `${dir} cannot hold cache files: creating and syncing ${probe} failed (${code}); ` +
      'cacheDir must be a writable folder on a regular filesystem (check its permissions, immutable flags with lsattr -d, and the mount)'
    );
  } finally {
    if (fd !== null) fs.closeSync(fd);
    try {
      fs.unlinkSync(probe);
    } catch {
      // never created
    }
  }
}
