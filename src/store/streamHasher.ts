import crypto from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** sha256 (and, when asked, the git blob SHA-1) of one stream of bytes, fed in order. */
export interface StreamHasher {
  /** Feed the next bytes. The bytes are copied or hashed before this returns; the promise is backpressure. */
  update(bytes: Uint8Array): Promise<void> | void;
  /** Start again from byte 0. */
  reset(): void;
  /** gitSha1 is '' when the hasher was made without it. */
  digest(): Promise<{ sha256: string; gitSha1: string }>;
  /** Forget the stream (no digest will be asked). Idempotent. */
  dispose(): void;
}

export interface HasherOptions {
  /** Also compute the git blob SHA-1 (`sha1("blob <size>\0" + bytes)`). Default true. */
  gitSha1?: boolean;
}

function gitSha1Of(size: number, want: boolean): crypto.Hash | null {
  return want ? crypto.createHash('sha1').update(`blob ${size}\0`) : null;
}

/** Hashes on the caller's thread. */
export function inlineHasher(size: number, opts: HasherOptions = {}): StreamHasher {
  const want = opts.gitSha1 ?? true;
  let sha256 = crypto.createHash('sha256');
  let sha1 = gitSha1Of(size, want);
  return {
    update(b) {
      sha256.update(b);
      sha1?.update(b);
    },
    reset() {
      sha256 = crypto.createHash('sha256');
      sha1 = gitSha1Of(size, want);
    },
    digest: async () => ({ sha256: sha256.digest('hex'), gitSha1: sha1 ? sha1.digest('hex') : '' }),
    dispose() {},
  };
}

/** Bytes posted to the worker and not yet hashed, per stream, before update() waits. */
const MAX_UNHASHED = 8 << 20;

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const streams = new Map();
const open = (size, git) => ({ sha256: crypto.createHash('sha256'), sha1: git ? crypto.createHash('sha1').update('blob ' + size + '\\0') : null });
parentPort.on('message', (m) => {
  if (m.op === 'open' || m.op === 'reset') { streams.set(m.id, open(m.size, m.git)); return; }
  if (m.op === 'drop') { streams.delete(m.id); return; }
  const s = streams.get(m.id);
  if (!s) return;
  if (m.op === 'update') {
    s.sha256.update(m.bytes);
    if (s.sha1) s.sha1.update(m.bytes);
    parentPort.postMessage({ id: m.id, hashed: m.bytes.byteLength });
  } else if (m.op === 'digest') {
    streams.delete(m.id);
    parentPort.postMessage({ id: m.id, sha256: s.sha256.digest('hex'), gitSha1: s.sha1 ? s.sha1.digest('hex') : '' });
  }
});
`;

interface Session {
  onHashed(n: number): void;
  onDigest(d: { sha256: string; gitSha1: string }): void;
  onDead(err: Error): void;
}

interface Reply {
  id: number;
  hashed?: number;
  sha256?: string;
  gitSha1?: string;
}

/**
 * One hashing worker thread for the process (created on first use, unref'd so it never keeps the process
 * alive), shared by every large download: hashing then runs on another core while the main thread reads
 * the network and the thread pool writes the disk. If the worker dies, every open stream fails and the
 * next stream starts a new worker.
 */
let shared: { worker: Worker; sessions: Map<number, Session>; waiting: Set<number> } | null = null;
let nextId = 1;

function pool(): NonNullable<typeof shared> {
  if (shared) return shared;
  // CommonJS source: the worker must not inherit flags such as --input-type=module from the parent.
  const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
  const sessions = new Map<number, Session>();
  const p = { worker, sessions, waiting: new Set<number>() };
  worker.unref();
  worker.on('message', (r: Reply) => {
    const s = sessions.get(r.id);
    if (!s) return;
    if (r.hashed !== undefined) s.onHashed(r.hashed);
    else if (r.sha256 !== undefined) s.onDigest({ sha256: r.sha256, gitSha1: r.gitSha1! });
  });
  const die = (err: Error) => {
    if (shared === p) shared = null;
    for (const s of sessions.values()) s.onDead(err);
    sessions.clear();
  };
  worker.on('error', die);
  worker.on('exit', (code) => die(new Error(`hash worker exited with code ${code}`)));
  shared = p;
  return p;
}

/** Hashes in the shared worker thread (see pool()). Bytes are copied into the message. */
export function workerHasher(size: number, opts: HasherOptions = {}): StreamHasher {
  const git = opts.gitSha1 ?? true;
  const p = pool();
  const id = nextId++;
  let unhashed = 0;
  let dead: Error | null = null;
  /** update() calls waiting for the worker to catch up (backpressure). */
  let drainWaiters: Array<() => void> = [];
  let digestWaiter: { resolve(d: { sha256: string; gitSha1: string }): void; reject(e: Error): void } | null = null;
  let live = true;
  // The worker keeps the process alive only while someone waits on it: this session is in p.waiting
  // exactly while it has a drain or digest waiter, and leaves it whenever those end or it is dropped.
  const refresh = () => {
    const waits = drainWaiters.length > 0 || digestWaiter !== null;
    if (waits) p.waiting.add(id);
    else p.waiting.delete(id);
    if (p.waiting.size > 0) p.worker.ref();
    else p.worker.unref();
  };
  const releaseDrains = () => {
    const ws = drainWaiters;
    drainWaiters = [];
    for (const w of ws) w();
    refresh();
  };
  p.sessions.set(id, {
    onHashed(n) {
      unhashed -= n;
      if (unhashed <= MAX_UNHASHED / 2 && drainWaiters.length > 0) releaseDrains();
    },
    onDigest(d) {
      p.sessions.delete(id);
      const w = digestWaiter;
      digestWaiter = null;
      refresh();
      w?.resolve(d);
    },
    onDead(err) {
      dead = err;
      const w = digestWaiter;
      digestWaiter = null;
      releaseDrains();
      w?.reject(err);
    },
  });
  p.worker.postMessage({ op: 'open', id, size, git });
  return {
    update(bytes) {
      if (dead) throw dead;
      p.worker.postMessage({ op: 'update', id, bytes });
      unhashed += bytes.byteLength;
      if (unhashed <= MAX_UNHASHED) return;
      return new Promise<void>((resolve, reject) => {
        drainWaiters.push(() => (dead ? reject(dead) : resolve()));
        refresh();
      });
    },
    reset() {
      if (!dead) p.worker.postMessage({ op: 'reset', id, size, git });
    },
    digest() {
      if (dead) return Promise.reject(dead);
      live = false;
      return new Promise((resolve, reject) => {
        digestWaiter = { resolve, reject };
        refresh();
        p.worker.postMessage({ op: 'digest', id });
      });
    },
    dispose() {
      if (!live) return;
      live = false;
      p.sessions.delete(id);
      if (!dead) p.worker.postMessage({ op: 'drop', id });
      // No reply will come for this session: end its waits, so nothing hangs and the idle worker
      // does not keep the process alive.
      releaseDrains();
    },
  };
}

/** Files at least this large hash in the worker; smaller ones are not worth a message round trip. */
export const OFFLOAD_MIN_BYTES = 4 << 20;

export function hasherFor(size: number, opts: HasherOptions = {}): StreamHasher {
  return size >= OFFLOAD_MIN_BYTES ? workerHasher(size, opts) : inlineHasher(size, opts);
}

/**
 * The Hub stores every file over 10 MiB in LFS and names it by sha256 (its git blob id is then the
 * pointer's, not the content's); only files up to this size can be named by a content git SHA-1.
 */
export const GIT_BLOB_MAX_BYTES = 10 * 1024 * 1024;

/**
 * Whether a download must also compute its git blob SHA-1: when the origin named the file by it (to
 * check it), when there is no sha256 to name it by, or when the file is small enough that another
 * listing may name the same content by git SHA-1 (to find it then). A large file named by sha256
 * never needs it, which halves the hashing of model weights.
 */
export function needsGitSha1(e: { size: number; sha256?: string; gitSha1?: string }): boolean {
  return Boolean(e.gitSha1) || !e.sha256 || e.size <= GIT_BLOB_MAX_BYTES;
}
