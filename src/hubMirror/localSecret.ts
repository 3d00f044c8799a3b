import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const SECRET_RE = /^hf_local_[0-9a-f]{48}$/;

/**
 * The endpoint's local secret: read from `file` when it holds one and is a regular 0600 file of this
 * user, else a new random one written there (0600, atomically: a temp file renamed over it). Only the
 * owner can read it, so a request that carries it comes from this user (or one who can read their files).
 */
export function loadOrCreateSecret(file: string): string {
  try {
    const st = fs.lstatSync(file);
    const mine = typeof process.getuid !== 'function' || st.uid === process.getuid();
    if (st.isFile() && mine && (st.mode & 0o077) === 0) {
      const text = fs.readFileSync(file, 'utf8').trim();
      if (SECRET_RE.test(text)) return text;
    }
  } catch {
    // absent or unreadable: a new one
  }
  const secret = `hf_local_${crypto.randomBytes(24).toString('hex')}`;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${secret}\n`, { mode: 0o600, flag: 'w' });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
  return secret;
}

/** Whether an `Authorization` header carries `secret` as a Bearer token (constant-time compare). */
export function carriesSecret(authorization: string | undefined, secret: string): boolean {
  if (!authorization) return false;
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(secret);
  return a.byteLength === b.byteLength && crypto.timingSafeEqual(a, b);
}
