import fs from 'node:fs';
import path from 'node:path';
import { blobPath } from '../store/layout.js';
import { matchesFingerprint } from './fingerprint.js';
import type { OpenedCache } from './maintenanceApi.js';
import type { ModelRecord } from './types.js';

/**
 * Digests (sha256 and git sha1) of the files of a damaged model that cannot be trusted: the snapshot
 * link is missing, or it differs from its recorded fingerprint, or its blob file is gone. Empty for a
 * ready model. When the changed snapshot file is the blob itself (same inode), the blob is corrupt: it
 * is moved to quarantine (every model sharing it is marked damaged) and `onQuarantined` is told.
 */
export function distrustedDigests(
  cache: OpenedCache,
  model: ModelRecord,
  onQuarantined?: (sha256: string) => void,
): Set<string> {
  const out = new Set<string>();
  if (model.state !== 'damaged') return out;
  for (const f of cache.files(model.id)) {
    const p = path.join(model.path, ...f.path.split('/'));
    let st: fs.Stats | null = null;
    try {
      st = fs.lstatSync(p);
    } catch {
      st = null;
    }
    if (matchesFingerprint(st, f) && fs.existsSync(blobPath(cache.layout, f.blob))) continue;
    out.add(f.blob);
    if (f.gitSha1) out.add(f.gitSha1);
    if (st !== null && isSameFile(blobPath(cache.layout, f.blob), st) && cache.quarantineBlob(f.blob)) {
      onQuarantined?.(f.blob);
    }
  }
  return out;
}

/** Whether `p` is the file `st` describes (same inode and device); false when `p` is gone. */
function isSameFile(p: string, st: fs.Stats): boolean {
  try {
    const other = fs.statSync(p);
    return other.ino === st.ino && other.dev === st.dev;
  } catch {
    return false;
  }
}
