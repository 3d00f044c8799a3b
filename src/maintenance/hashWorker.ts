import os from 'node:os';
import { Worker } from 'node:worker_threads';

/** Read size of the hashing loop: large sequential reads keep sha256 (not syscalls) the bottleneck. */
const READ_BYTES = 4 << 20;
/** A worker reports progress at least every this many bytes of one file. */
const PROGRESS_BYTES = 32 << 20;

export interface HashJob {
  path: string;
  /** Also compute the git blob SHA-1 (sha1 of "blob <size>\0" + content). */
  gitSha1?: boolean;
}

export type HashOutcome =
  | { ok: true; sha256: string; gitSha1: string | null; bytes: number; dev: number; ino: number }
  /** code: the errno code (ENOENT, ELOOP for a symlink, ...) or ENOTFILE for a non-regular file. */
  | { ok: false; code: string; message: string };

interface WorkerReply {
  id: number;
  progress?: number;
  done?: boolean;
  sha256?: string;
  gitSha1?: string | null;
  bytes?: number;
  dev?: number;
  ino?: number;
  error?: string;
  message?: string;
}

/**
 * The worker as CommonJS source, evaluated (`eval: true`) so it runs the same from src/ under vitest and
 * from dist/. The file is opened with O_NOFOLLOW: a symlink fails with ELOOP and is never followed.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const buf = Buffer.allocUnsafe(${READ_BYTES});
parentPort.on('message', (job) => {
  let fd = -1;
  try {
    fd = fs.openSync(job.path, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW || 0));
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      const e = new Error('not a regular file: ' + job.path);
      e.code = 'ENOTFILE';
      throw e;
    }
    const sha = crypto.createHash('sha256');
    const git = job.gitSha1 ? crypto.createHash('sha1') : null;
    if (git) git.update('blob ' + st.size + '\\0');
    let bytes = 0;
    let pending = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const chunk = n === buf.length ? buf : buf.subarray(0, n);
      sha.update(chunk);
      if (git) git.update(chunk);
      bytes += n;
      pending += n;
      if (pending >= ${PROGRESS_BYTES}) {
        parentPort.postMessage({ id: job.id, progress: pending });
        pending = 0;
      }
    }
    parentPort.postMessage({
      id: job.id, done: true, progress: pending, sha256: sha.digest('hex'),
      gitSha1: git && bytes === st.size ? git.digest('hex') : null, bytes, dev: st.dev, ino: st.ino,
    });
  } catch (e) {
    parentPort.postMessage({ id: job.id, done: true, error: (e && e.code) || 'EIO', message: String(e && e.message) });
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
});
`;

export interface HashOptions {
  /** Default os.availableParallelism(); never more threads than jobs. */
  threads?: number;
  /** Bytes hashed since the last call, and the job they belong to. */
  onBytes?: (bytes: number, job: HashJob) => void;
}

/**
 * Hashes files in worker threads across all cores. Outcomes are in job order; a file that cannot be
 * read is an outcome, not a rejection. Rejects only when a worker itself dies.
 */
export async function hashFiles(jobs: readonly HashJob[], opts: HashOptions = {}): Promise<HashOutcome[]> {
  const out: HashOutcome[] = new Array<HashOutcome>(jobs.length);
  if (jobs.length === 0) return out;
  const threads = Math.max(1, Math.min(opts.threads ?? os.availableParallelism(), jobs.length));
  let next = 0;
  const workers: Worker[] = [];
  try {
    await Promise.all(
      Array.from({ length: threads }, () => {
        const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
        workers.push(w);
        return new Promise<void>((resolve, reject) => {
          const feed = (): void => {
            if (next >= jobs.length) {
              resolve();
              return;
            }
            const id = next++;
            w.postMessage({ id, path: jobs[id]!.path, gitSha1: jobs[id]!.gitSha1 === true });
          };
          w.on('message', (r: WorkerReply) => {
            const job = jobs[r.id]!;
            if (r.progress) opts.onBytes?.(r.progress, job);
            if (!r.done) return;
            out[r.id] =
              r.error !== undefined
                ? { ok: false, code: r.error, message: r.message ?? r.error }
                : { ok: true, sha256: r.sha256!, gitSha1: r.gitSha1 ?? null, bytes: r.bytes!, dev: r.dev!, ino: r.ino! };
            feed();
          });
          w.once('error', reject);
          w.once('exit', (code) => {
            if (next < jobs.length || code !== 0) reject(new Error(`hash worker exited with code ${code}`));
          });
          feed();
        });
      }),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return out;
}
