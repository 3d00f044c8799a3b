import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { toErrorShape } from '../../errors.js';
import type { Log } from '../../logger.js';

/** What writing to the tier needs of the object store (src/origin/s3/tierStore.ts provides it). */
export interface TierWriteStore {
  putBlob(sha256: string, size: number, body: () => Readable, signal?: AbortSignal): Promise<'stored' | 'exists'>;
  putAlias(gitSha1: string, sha256: string): Promise<void>;
  putJson(key: string, value: unknown): Promise<void>;
}

export interface UploadBlob {
  sha256: string;
  size: number;
}

/** One snapshot's worth of uploads: its new blobs, then (only if every blob is on the tier) its metadata. */
export interface UploadBatch {
  blobs: UploadBlob[];
  /** git SHA-1 → sha256 aliases, written after the blobs. */
  aliases: Array<{ gitSha1: string; sha256: string }>;
  /** Listings and refs (tier-relative keys), written last. */
  json: Array<{ key: string; value: unknown }>;
}

export interface UploadCounters {
  /** Blobs accepted into the queue. */
  queued: number;
  /** Blobs the tier received from us. */
  uploaded: number;
  /** Blobs the tier already held. */
  existed: number;
  uploadedBytes: number;
  /** Blobs not queued because the queue was full. */
  skippedFull: number;
  /** Blobs gone from the local store before their turn (evicted): not uploaded. */
  skippedGone: number;
  failed: number;
  /** Blobs waiting or uploading now. */
  pending: number;
}

export interface UploadQueueOptions {
  store: TierWriteStore;
  /** Names the tier in logs. */
  name: string;
  /** Blobs waiting or uploading at most; more are skipped (logged, counted). */
  maxBlobs: number;
  /** Bytes of blobs uploading at once at most (a blob bigger than this goes alone). */
  maxBytesInFlight: number;
  /** Blobs uploading at once at most. */
  concurrency: number;
  /** The local file of a stored blob. */
  blobFile(sha256: string): string;
  logger?: Pick<Log, 'warn' | 'info'>;
}

export interface UploadQueue {
  /**
   * Queues a batch; never waits for the tier. Blobs beyond `maxBlobs` are skipped with a log line and a
   * counter, and then the batch's metadata is skipped too (metadata only ever names blobs on the tier).
   */
  offer(batch: UploadBatch): void;
  counters(): UploadCounters;
  /** Resolves when nothing is waiting or uploading (tests, shutdown). */
  idle(): Promise<void>;
  /** Stops: queued work is dropped, uploads in flight are aborted. */
  close(): void;
}

interface Job {
  blob: UploadBlob;
  group: Group;
}

interface Group {
  left: number;
  ok: boolean;
  batch: UploadBatch;
}

/**
 * The background upload of blobs fetched from the Hub to a read-write tier. Invariants:
 *  - offer() is synchronous and O(batch): a caller is never slowed by the tier;
 *  - bounded: at most `maxBlobs` blobs waiting or uploading, at most `maxBytesInFlight` bytes (or one
 *    blob) uploading, at most `concurrency` uploads;
 *  - no hold on the local store: a blob's file is opened when its upload starts; one already evicted is
 *    skipped (an open file descriptor keeps the bytes of one evicted during its upload);
 *  - the bytes sent are hashed on the way: a local file that no longer hashes to its name fails the upload;
 *  - metadata (aliases, listings, refs) goes out only after every blob of its batch is on the tier.
 */
export function createUploadQueue(o: UploadQueueOptions): UploadQueue {
  const c: UploadCounters = { queued: 0, uploaded: 0, existed: 0, uploadedBytes: 0, skippedFull: 0, skippedGone: 0, failed: 0, pending: 0 };
  const waiting: Job[] = [];
  const inFlight = new Set<string>();
  let bytesInFlight = 0;
  let running = 0;
  let tails = 0;
  let closed = false;
  const ac = new AbortController();
  let idleWaiters: Array<() => void> = [];
  let loggedFull = false;

  function settleIdle(): void {
    if (c.pending > 0 || tails > 0) return;
    const w = idleWaiters;
    idleWaiters = [];
    for (const f of w) f();
  }

  function offer(batch: UploadBatch): void {
    if (closed) return;
    const group: Group = { left: 0, ok: true, batch };
    const seen = new Set<string>();
    for (const blob of batch.blobs) {
      if (seen.has(blob.sha256) || inFlight.has(blob.sha256) || waiting.some((j) => j.blob.sha256 === blob.sha256)) continue;
      seen.add(blob.sha256);
      if (c.pending >= o.maxBlobs) {
        c.skippedFull++;
        group.ok = false;
        if (!loggedFull) {
          loggedFull = true;
          o.logger?.warn({ tier: o.name, blob: blob.sha256, maxBlobs: o.maxBlobs }, 'tier upload queue full: blob not uploaded');
        }
        continue;
      }
      loggedFull = false;
      group.left++;
      c.queued++;
      c.pending++;
      waiting.push({ blob, group });
    }
    if (group.left === 0) finishGroup(group);
    pump();
  }

  function pump(): void {
    while (!closed && waiting.length > 0 && running < Math.max(1, o.concurrency)) {
      const next = waiting[0]!;
      if (running > 0 && bytesInFlight + next.blob.size > o.maxBytesInFlight) return;
      waiting.shift();
      running++;
      bytesInFlight += next.blob.size;
      inFlight.add(next.blob.sha256);
      void upload(next).finally(() => {
        running--;
        bytesInFlight -= next.blob.size;
        inFlight.delete(next.blob.sha256);
        c.pending--;
        if (--next.group.left === 0) finishGroup(next.group);
        pump();
        settleIdle();
      });
    }
  }

  async function upload(job: Job): Promise<void> {
    const { sha256, size } = job.blob;
    const file = o.blobFile(sha256);
    try {
      await fs.promises.access(file, fs.constants.R_OK);
    } catch {
      c.skippedGone++;
      job.group.ok = false;
      return;
    }
    try {
      const r = await o.store.putBlob(sha256, size, () => verifiedRead(file, sha256, size), ac.signal);
      if (r === 'exists') c.existed++;
      else {
        c.uploaded++;
        c.uploadedBytes += size;
      }
    } catch (err) {
      job.group.ok = false;
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        c.skippedGone++;
        return;
      }
      c.failed++;
      if (!closed) o.logger?.warn({ tier: o.name, blob: sha256, err: toErrorShape(err) }, 'tier upload failed');
    }
  }

  function finishGroup(g: Group): void {
    if (closed || !g.ok || (g.batch.aliases.length === 0 && g.batch.json.length === 0)) return;
    tails++;
    void (async () => {
      try {
        for (const a of g.batch.aliases) await o.store.putAlias(a.gitSha1, a.sha256);
        for (const j of g.batch.json) await o.store.putJson(j.key, j.value);
      } catch (err) {
        if (!closed) o.logger?.warn({ tier: o.name, err: toErrorShape(err) }, 'tier metadata upload failed');
      } finally {
        tails--;
        settleIdle();
      }
    })();
  }

  return {
    offer,
    counters: () => ({ ...c }),
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        settleIdle();
      }),
    close() {
      if (closed) return;
      closed = true;
      c.pending -= waiting.length;
      waiting.length = 0;
      ac.abort();
      settleIdle();
    },
  };
}

/** The blob's file, failing the stream at its end when its bytes are not `sha256` (or not `size` long). */
export function verifiedRead(file: string, sha256: string, size: number): Readable {
  const hash = createHash('sha256');
  let n = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      n += chunk.byteLength;
      done(null, chunk);
    },
    flush(done) {
      const got = hash.digest('hex');
      if (got !== sha256 || n !== size) done(new Error(`local blob ${file} is ${n} bytes with sha256 ${got}, not ${size} bytes with ${sha256}: not uploaded`));
      else done();
    },
  });
  const src = fs.createReadStream(file);
  src.on('error', (err) => check.destroy(err));
  return src.pipe(check);
}
