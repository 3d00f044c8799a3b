import fs from 'node:fs';
import path from 'node:path';
import type { Layout } from './layout.js';

/**
 * Resumable downloads. A file named by sha256 is written to `tmp/partial-<sha256>` instead of a unique
 * temp name, so the bytes of a download cut short (the daemon killed, stopped or the origin gone) can be
 * resumed by the next writer of the same content with a `Range` request: the bytes already on disk are
 * hashed again from the file (never trusted from memory) and the final sha256 check covers all of them.
 * A partial file is kept for PARTIAL_KEEP_MS after its last write; start-up, `optimize` and the orphan
 * scan leave it alone until then, and remove it after.
 */
export const PARTIAL_KEEP_MS = 24 * 3600_000;

const PARTIAL_RE = /^partial-[0-9a-f]{64}$/;

/** The resumable temp path of a blob, or null when `sha256` is not a lowercase sha256. */
export function partialPath(layout: Layout, sha256: string): string | null {
  const name = `partial-${sha256}`;
  return PARTIAL_RE.test(name) ? path.join(layout.tmp, name) : null;
}

/** A non-empty partial download under `tmp/` written to within PARTIAL_KEEP_MS of `now`: keep it for a resume. */
export function isFreshPartial(p: string, now: number): boolean {
  if (!PARTIAL_RE.test(path.basename(p))) return false;
  try {
    const st = fs.lstatSync(p);
    return st.isFile() && st.size > 0 && st.mtimeMs > now - PARTIAL_KEEP_MS;
  } catch {
    return false;
  }
}
