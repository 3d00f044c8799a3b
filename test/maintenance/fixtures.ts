import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { admitFromStreams } from '../core/admitFromStreams.js';
import type { OpenedCache } from '../../src/cache/maintenanceApi.js';
import { openCache } from '../../src/cache/openCache.js';
import type { ModelRecord } from '../../src/cache/types.js';
import type { MaintenanceDeps } from '../../src/maintenance/types.js';
import { blobPath, type Layout } from '../../src/store/layout.js';

export const DAY = 24 * 3600_000;

export interface Sandbox {
  root: string;
  cache: OpenedCache;
  clock: { now: number };
  leased: Set<number>;
  logs: Array<{ level: string; o: object; m?: string }>;
  deps(over?: Partial<MaintenanceDeps>): MaintenanceDeps;
  close(): void;
}

/** A real cache in a fresh temp dir, with a clock the test moves. */
export function makeSandbox(opts: { limitBytes?: number; lowWatermark?: number } = {}): Sandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-'));
  const clock = { now: Date.UTC(2025, 0, 15) };
  const cache = openCache({
    cacheDir: path.join(root, 'cache'),
    limitBytes: opts.limitBytes ?? 1e9,
    lowWatermark: opts.lowWatermark ?? 0.9,
    clock: () => clock.now,
  });
  const leased = new Set<number>();
  const logs: Sandbox['logs'] = [];
  const logger = {
    info: (o: object, m?: string) => void logs.push({ level: 'info', o, m }),
    warn: (o: object, m?: string) => void logs.push({ level: 'warn', o, m }),
    error: (o: object, m?: string) => void logs.push({ level: 'error', o, m }),
  };
  return {
    root,
    cache,
    clock,
    leased,
    logs,
    deps: (over = {}) => ({
      cache,
      isLeased: (id) => leased.has(id),
      clock: () => clock.now,
      logger,
      refetch: async () => {
        throw new Error('no refetch in this test');
      },
      retentionMs: () => 30 * DAY,
      flushAccounting: () => undefined,
      hashThreads: 2,
      ...over,
    }),
    close() {
      cache.close();
      chmodTree(root);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Makes every directory writable so read-only snapshot trees can be removed. */
function chmodTree(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      const p = path.join(dir, e.name);
      fs.chmodSync(p, 0o755);
      chmodTree(p);
    }
  }
}

export type Contents = Record<string, Buffer>;

export function sha256(b: Buffer | string): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

export function gitSha1(b: Buffer): string {
  return crypto.createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
}

/** Deterministic pseudo-random bytes. */
export function bytes(n: number, seed: string): Buffer {
  const out = Buffer.alloc(n);
  let block = crypto.createHash('sha256').update(seed).digest();
  for (let off = 0; off < n; off += block.length) {
    block.copy(out, off, 0, Math.min(block.length, n - off));
    block = crypto.createHash('sha256').update(block).digest();
  }
  return out;
}

export const COMMIT_A = 'a'.repeat(40);
export const COMMIT_B = 'b'.repeat(40);

/** Writes the files through verifying writers and admits the model (the core's own path). */
export async function addModel(
  cache: OpenedCache,
  m: { repo: string; subfolder?: string | null; commit?: string; files: Contents; pinned?: boolean },
): Promise<ModelRecord> {
  return admitFromStreams(
    cache,
    { repo: m.repo, subfolder: m.subfolder ?? null, commit: m.commit ?? COMMIT_A, origin: 'test', fetchMs: 100, pinned: m.pinned },
    Object.entries(m.files).map(([p, b]) => ({
      path: p,
      expected: { size: b.length, sha256: sha256(b) },
      stream: (async function* () {
        yield b;
      })(),
    })),
  );
}

/**
 * A refetch like the daemon's model service does it for a damaged model: files whose blob file is gone
 * (quarantined, deleted) are downloaded again — here from `source` — then the model is re-admitted.
 */
export function refetchFrom(cache: OpenedCache, source: (m: ModelRecord) => Contents, fetched: string[] = []) {
  return async (m: ModelRecord): Promise<{ hit: boolean }> => {
    fetched.push(m.key);
    const files = source(m);
    const out = [];
    for (const [p, b] of Object.entries(files)) {
      const digest = sha256(b);
      if (!fs.existsSync(cache.blobPathOf(digest))) {
        const w = await cache.openWriter({ size: b.length, sha256: digest }, p);
        await w.write(b);
        await w.commit();
      }
      out.push({ path: p, blob: digest, size: b.length });
    }
    cache.admit({ repo: m.repo, subfolder: m.subfolder, commit: m.commit, origin: 'test', fetchMs: 100, files: out });
    return { hit: false };
  };
}

/** The whisperkit-like fixture: LFS *.bin weights, regular .json and .mil files, in a subfolder model. */
export function whisperFiles(seed = 'w'): Contents {
  return {
    'AudioEncoder.mlmodelc/weights/weight.bin': bytes(300_000, `${seed}-enc`),
    'AudioEncoder.mlmodelc/coremldata.bin': bytes(347, `${seed}-cd`),
    'AudioEncoder.mlmodelc/model.mil': Buffer.from(`program(1.0) ${seed}\n`.repeat(200)),
    'AudioEncoder.mlmodelc/metadata.json': Buffer.from(JSON.stringify({ seed, kind: 'enc' })),
    'config.json': Buffer.from(JSON.stringify({ seed })),
  };
}

/** A saboteur: writes into a read-only file of the cache (a hard link shares the inode with its blob). */
export function sabotage(file: string, fn: (fd: number) => void, keepMtime = false): void {
  const st = fs.statSync(file);
  fs.chmodSync(file, 0o644);
  const fd = fs.openSync(file, 'r+');
  try {
    fn(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(file, 0o444);
  if (keepMtime) fs.utimesSync(file, st.atime, st.mtime);
}

export function flipByte(file: string, offset = 10, keepMtime = false): void {
  sabotage(
    file,
    (fd) => {
      const b = Buffer.alloc(1);
      fs.readSync(fd, b, 0, 1, offset);
      b[0] = b[0]! ^ 0xff;
      fs.writeSync(fd, b, 0, 1, offset);
    },
    keepMtime,
  );
}

/** Sets a path's mtime (lstat-level for links) to `ms`. */
export function age(p: string, ms: number): void {
  const t = new Date(ms);
  fs.lutimesSync(p, t, t);
}

/** Writes `content` as a read-only blob that no model references (an orphan); returns its path. */
export function plantOrphanBlob(layout: Layout, content: Buffer): string {
  const p = blobPath(layout, sha256(content));
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content, { mode: 0o444 });
  return p;
}

/** Writes `content` as tmp/`name`, last modified at `mtimeMs`; returns its path. */
export function plantTempFile(layout: Layout, name: string, content: Buffer, mtimeMs: number): string {
  const p = path.join(layout.tmp, name);
  fs.writeFileSync(p, content);
  age(p, mtimeMs);
  return p;
}
