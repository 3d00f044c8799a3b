import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { daemonPid, waitFor, type Sandbox } from '../e2e/harness.js';

/** Shared checks of the reliability suite: index inspection, crash-point plumbing, recovered-cache invariants. */

export const v1 = (sb: Sandbox): string => path.join(sb.cacheDir, 'v1');

/** Reads the index from outside the daemon (WAL readers never block the writer). */
export function readIndex<T>(sb: Sandbox, fn: (db: Database.Database) => T): T {
  const db = new Database(path.join(v1(sb), 'index.db'), { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return fn(db);
  } finally {
    db.close();
  }
}

/** Every regular file (or link) under `dir`, absolute paths; symlinks are not followed. */
export function walk(dir: string): string[] {
  const out: string[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

export interface Totals {
  hits: number;
  misses: number;
  errors: number;
  bytesDownloaded: number;
}

export async function totals(sb: Sandbox): Promise<Totals> {
  const r = await sb.cli(['--json', 'stats']);
  expect(r.code, r.stderr).toBe(0);
  const s = r.json<Totals>();
  return { hits: s.hits, misses: s.misses, errors: s.errors, bytesDownloaded: s.bytesDownloaded };
}

/** Waits until the fault marker file names `point` (the daemon is now blocked there). */
export async function waitForPause(marker: string, point: string, timeoutMs = 20_000): Promise<string> {
  let line = '';
  await waitFor(
    () => {
      try {
        line = fs.readFileSync(marker, 'utf8').split('\n').find((l) => l.startsWith(`${point} `)) ?? '';
      } catch {
        line = '';
      }
      return line !== '';
    },
    timeoutMs,
    `the daemon to pause at ${point}`,
  );
  return line;
}

/** SIGKILLs the sandbox's daemon and waits until it is gone. */
export async function killDaemon(sb: Sandbox): Promise<number> {
  const pid = daemonPid(sb.cacheDir);
  if (!pid) throw new Error('no daemon to kill');
  process.kill(pid, 'SIGKILL');
  await waitFor(() => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, 10_000, `pid ${pid} to exit`);
  return pid;
}

/**
 * The invariants a restart must restore: verify passes, every indexed file of every model
 * is present in its snapshot, and after optimize no blob is unreferenced and tmp/ holds nothing but
 * resumable partial downloads.
 */
export async function assertRecovered(sb: Sandbox): Promise<void> {
  const verify = await sb.cli(['--json', 'verify']);
  expect(verify.code, `verify after restart: ${verify.stdout}\n${verify.stderr}`).toBe(0);

  const missing = readIndex(sb, (db) => {
    const rows = db.prepare('SELECT m.dir AS dir, f.path AS path FROM files f JOIN models m ON m.id = f.model_id').all() as Array<{
      dir: string;
      path: string;
    }>;
    return rows.filter((r) => !fs.existsSync(path.join(v1(sb), 'snapshots', ...r.dir.split('/'), ...r.path.split('/'))));
  });
  expect(missing, 'snapshot files missing after restart').toEqual([]);

  const opt = await sb.cli(['--json', 'optimize']);
  expect(opt.code, opt.stderr).toBe(0);
  const { zeroRows, rowDigests } = readIndex(sb, (db) => ({
    zeroRows: (db.prepare('SELECT count(*) AS n FROM blobs WHERE refcount <= 0').get() as { n: number }).n,
    rowDigests: new Set((db.prepare('SELECT digest FROM blobs').all() as Array<{ digest: string }>).map((r) => r.digest)),
  }));
  expect(zeroRows, 'unreferenced blob rows after optimize').toBe(0);
  const blobFiles = walk(path.join(v1(sb), 'blobs')).map((p) => path.basename(p));
  expect(blobFiles.filter((d) => !rowDigests.has(d)), 'blob files with no index row after optimize').toEqual([]);
  // Only resumable partial downloads (store/partials.ts) may stay in tmp/.
  const leftInTmp = walk(path.join(v1(sb), 'tmp')).filter((p) => !/^partial-[0-9a-f]{64}$/.test(path.basename(p)) || fs.statSync(p).size === 0);
  expect(leftInTmp, 'tmp/ after optimize').toEqual([]);
  // Every snapshot dir on disk belongs to a model.
  const dirs = new Set(readIndex(sb, (db) => (db.prepare('SELECT dir FROM models').all() as Array<{ dir: string }>).map((r) => r.dir)));
  const snapFiles = walk(path.join(v1(sb), 'snapshots')).map((p) => path.relative(path.join(v1(sb), 'snapshots'), p).split(path.sep).join('/'));
  expect(snapFiles.filter((f) => ![...dirs].some((d) => f.startsWith(`${d}/`))), 'snapshot files no model owns').toEqual([]);
}
