import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import type { ExpectedContent } from '../../src/store/types.js';

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'vc-'));
}

export function rmTree(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export function sha256(buf: Uint8Array): string {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

export function gitSha1(buf: Uint8Array): string {
  return crypto.createHash('sha1').update(`blob ${buf.byteLength}\0`).update(buf).digest('hex');
}

export function expectedOf(buf: Uint8Array, which: 'sha256' | 'git' | 'both' = 'sha256'): ExpectedContent {
  const e: ExpectedContent = { size: buf.byteLength };
  if (which !== 'git') e.sha256 = sha256(buf);
  if (which !== 'sha256') e.gitSha1 = gitSha1(buf);
  return e;
}

/** Yields `buf` in chunks of `chunk` bytes (copies, like a network stream). */
export async function* chunks(buf: Uint8Array, chunk = 64 * 1024): AsyncIterable<Uint8Array> {
  for (let i = 0; i < buf.byteLength; i += chunk) yield Buffer.from(buf.subarray(i, i + chunk));
}

export function bytes(text: string): Buffer {
  return Buffer.from(text);
}

export function randomBytes(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Every file (not dir) under `dir`, relative. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Checks the index invariants against the disk (opening the index file directly): no admissions left,
 * every model row's files present with the recorded size and sha256, refcounts equal to the files rows,
 * no refcount-0 blob, every blob row backed by a file, tmp/ empty.
 */
export function assertConsistent(cacheDir: string, opts: { hashFiles?: boolean } = {}): void {
  const v1 = path.join(cacheDir, 'v1');
  const db = new Database(path.join(v1, 'index.db'), { readonly: true });
  try {
    expect(db.prepare('SELECT COUNT(*) AS n FROM admissions').get()).toEqual({ n: 0 });
    const models = db.prepare("SELECT id, key, dir, state FROM models").all() as Array<{ id: number; key: string; dir: string; state: string }>;
    for (const m of models) {
      if (m.state !== 'ready') continue;
      const files = db.prepare('SELECT path, blob, size FROM files WHERE model_id = ?').all(m.id) as Array<{ path: string; blob: string; size: number }>;
      for (const f of files) {
        const p = path.join(v1, 'snapshots', m.dir, f.path);
        expect(fs.existsSync(p), `${m.key}: ${f.path} on disk`).toBe(true);
        expect(fs.statSync(p).size).toBe(f.size);
        if (opts.hashFiles) expect(sha256(fs.readFileSync(p))).toBe(f.blob);
      }
    }
    const bad = db
      .prepare(
        `SELECT b.digest, b.refcount, (SELECT COUNT(*) FROM files f WHERE f.blob = b.digest) AS n FROM blobs b
         WHERE b.refcount != (SELECT COUNT(*) FROM files f WHERE f.blob = b.digest)`,
      )
      .all();
    expect(bad).toEqual([]);
    expect(db.prepare('SELECT COUNT(*) AS n FROM blobs WHERE refcount = 0').get()).toEqual({ n: 0 });
    for (const b of db.prepare('SELECT digest, size FROM blobs').all() as Array<{ digest: string; size: number }>) {
      const p = path.join(v1, 'blobs', 'sha256', b.digest.slice(0, 2), b.digest);
      expect(fs.statSync(p).size).toBe(b.size);
    }
    expect(fs.readdirSync(path.join(v1, 'tmp'))).toEqual([]);
  } finally {
    db.close();
  }
}
