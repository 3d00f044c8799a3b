import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { makeDirsAsync } from '../config/makeDirs.js';
import { cacheReadOnlyError } from '../errors.js';

/**
 * Makes `final` name the verified temp file without ever replacing an existing blob (an existing one has
 * the same content and may be hard-linked into snapshots: keep its inode). Dir entry fsynced.
 */
export async function publishBlob(tempPath: string, final: string): Promise<void> {
  const dir = path.dirname(final);
  const readOnly = (err: unknown): unknown => {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    return code === 'EPERM' || code === 'EACCES' || code === 'EROFS'
      ? cacheReadOnlyError(dir, code, `publishing blob ${path.basename(final)}`, err)
      : err;
  };
  try {
    await makeDirsAsync(dir);
  } catch (err) {
    throw readOnly(err);
  }
  try {
    await fsp.link(tempPath, final);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return; // dedupe: the same content is already stored
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'EMLINK') throw readOnly(err);
    // A filesystem without hard links: rename, unless the blob appeared meanwhile. EPERM from the rename
    // too means the folder itself refuses new entries (permissions, immutable flag).
    if (fs.existsSync(final)) return;
    try {
      await fsp.rename(tempPath, final);
    } catch (renameErr) {
      throw readOnly(renameErr);
    }
  }
  await fsyncDir(dir);
}

export async function fsyncDir(dir: string): Promise<void> {
  let h: fsp.FileHandle | null = null;
  try {
    h = await fsp.open(dir, 'r');
    await h.sync();
  } catch {
    // Some platforms cannot fsync a directory; the rename itself is still atomic.
  } finally {
    await h?.close().catch(() => undefined);
  }
}

export function fsyncDirSync(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // see fsyncDir
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}
