import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Layout } from './layout.js';
import { CacheError, ErrorCodes } from '../errors.js';
import { blobPath } from './layout.js';
import { partialPath } from './partials.js';
import { asStoreError } from './storeErrors.js';
import { publishBlob } from './publishBlob.js';
import { inlineHasher, needsGitSha1 } from './streamHasher.js';
import type { BlobRef, BlobWriter, ExpectedContent } from './types.js';


/**
 * Bytes are staged and written in chunks of this size (one write syscall per MiB, not per network chunk).
 * Two stage buffers: while one is being written (on the libuv thread pool) the next fills, so disk writes
 * overlap the network instead of pausing it.
 */
const STAGE_BYTES = 1 << 20;

/**
 * A file's written bytes are handed to the disk (fdatasync, in the background) every this many bytes, so
 * the fsync before publishing finds little left to write: without it the kernel may hold a whole
 * multi-GB weight file dirty in memory and the final fsync waits for all of it at once.
 */
export const SYNC_EVERY_BYTES = 32 << 20;

/**
 * Background syncs in flight in this process, over all writers. At most one: an fdatasync holds a libuv
 * thread-pool thread (4 by default) until the disk has the bytes, and the writes of every download wait
 * for those same threads.
 */
let backgroundSyncs = 0;

export interface BlobWriterOptions {
  /** Names the file in error messages (e.g. its path in the model). Defaults to the expected digest. */
  label?: string;
  /**
   * Called after verification, before the blob is linked into `blobs/`. The cache records the blob in
   * the index here (refcount 0) so a crash after publishing leaves an indexed, collectable blob.
   */
  beforePublish?: (ref: BlobRef) => void;
  /** Told the temp file path when it is created and when it is gone (the cache tracks live temps). */
  onTemp?: (tempPath: string, live: boolean) => void;
  /**
   * Makes a writer of content named by sha256 resumable (store/partials.ts): it writes to
   * `tmp/partial-<sha256>`, first taking over the bytes a cut-short writer left there, when this returns
   * true for that path (no live writer of this process uses it; a true answer claims it, and the claim
   * ends with onTemp(path, false)). Without it, or when it returns false, the writer uses a unique temp
   * name and starts from byte 0.
   */
  claimPartial?: (partialPath: string) => boolean;
}

/**
 * Opens a verifying writer (see BlobWriter): a unique temp file in `v1/tmp/`, sha256 and git blob SHA-1
 * computed in the same pass, published by link (no-replace) into `blobs/` only after size and every
 * expected digest match. With no digest expected, only the size is checked.
 *
 * Bytes are hashed as they arrive, on the caller's thread, with the native hash (no copy to another
 * thread: on loopback that copy cost more than the hashing it moved).
 * Invariants: at most one disk write is in flight, always of the stage buffer not being filled; every
 * write names its file offset explicitly (so restart() after truncate starts at byte 0); at most one
 * background fdatasync is in flight in the whole process, and a file is closed only after its own sync
 * and write have ended; write() resolves once the chunk is hashed and staged, and a failed background
 * write or sync is reported by the next write(), restart() or commit(), which then clean up.
 */
export async function openBlobWriter(
  layout: Layout,
  expected: ExpectedContent,
  opts: BlobWriterOptions = {},
): Promise<BlobWriter> {
  if (!Number.isSafeInteger(expected.size) || expected.size < 0) {
    throw new CacheError(ErrorCodes.INTERNAL, `blob writer: invalid expected size ${expected.size}`);
  }
  const label = opts.label ?? expected.sha256 ?? expected.gitSha1 ?? 'blob';
  const partial = expected.sha256 && opts.claimPartial ? partialPath(layout, expected.sha256.toLowerCase()) : null;
  const resumable = partial !== null && opts.claimPartial!(partial);
  const tempPath = resumable ? partial : path.join(layout.tmp, `blob-${crypto.randomUUID()}`);
  let fh: fsp.FileHandle | null;
  try {
    // A resumable file is opened without O_TRUNC (keep its bytes) and without O_APPEND (writes are positional).
    fh = await fsp.open(tempPath, resumable ? fs.constants.O_RDWR | fs.constants.O_CREAT : 'wx+', 0o600);
  } catch (err) {
    if (resumable) opts.onTemp?.(tempPath, false); // gives back the claim
    throw asStoreError(err, `file ${label}`, layout.db);
  }
  opts.onTemp?.(tempPath, true);

  const hasher = inlineHasher(expected.size, { gitSha1: needsGitSha1(expected) });
  // Small files never need a second buffer or a full MiB.
  const stageBytes = Math.max(1, Math.min(STAGE_BYTES, expected.size));
  let stage: Buffer = Buffer.allocUnsafe(stageBytes);
  let spare: Buffer | null = expected.size > stageBytes ? Buffer.allocUnsafe(stageBytes) : null;
  let staged = 0;
  let written = 0;
  /** File offset of the next stage flush. */
  let filePos = 0;
  /** The background write of the other buffer, if any; never rejects (errors land in writeError). */
  let inflight: Promise<void> | null = null;
  /** The background fdatasync, if any; never rejects (errors land in writeError). */
  let syncing: Promise<void> | null = null;
  /** File offset up to which a background sync has been started. */
  let syncedTo = 0;
  let writeError: unknown = null;
  let done = false;
  let failure: unknown = null;

  if (resumable) {
    try {
      written = filePos = await takeOver(fh, hasher, expected.size);
    } catch (err) {
      hasher.dispose();
      await fh.close().catch(() => undefined);
      await fsp.rm(tempPath, { force: true }).catch(() => undefined);
      opts.onTemp?.(tempPath, false);
      throw asStoreError(err, `file ${label}`, layout.db);
    }
  }

  const integrity = (msg: string) => new CacheError(ErrorCodes.INTEGRITY, `file ${label}: ${msg}`, { retryable: true });

  async function writeAt(h: fsp.FileHandle, buf: Buffer, pos: number): Promise<void> {
    let off = 0;
    while (off < buf.byteLength) {
      const { bytesWritten } = await h.write(buf, off, buf.byteLength - off, pos + off);
      off += bytesWritten;
    }
  }

  /** Waits for the background write; rethrows its error or a background sync's. */
  async function settle(): Promise<void> {
    if (inflight) {
      await inflight;
      inflight = null;
    }
    if (writeError) throw writeError;
  }

  /** Waits for the background write and sync (before the file is truncated, synced or closed). */
  async function quiesce(): Promise<void> {
    if (inflight) await inflight;
    inflight = null;
    if (syncing) await syncing;
    syncing = null;
  }

  /**
   * After a write that ended at `end`: starts a background fdatasync when SYNC_EVERY_BYTES more are
   * written and no background sync runs in this process (else a later write tries again).
   */
  function maybeSync(h: fsp.FileHandle, end: number): void {
    if (syncing || backgroundSyncs > 0 || end - syncedTo < SYNC_EVERY_BYTES) return;
    syncedTo = end;
    backgroundSyncs++;
    syncing = h.datasync().then(
      () => {
        backgroundSyncs--;
        syncing = null;
      },
      (err: unknown) => {
        backgroundSyncs--;
        syncing = null;
        writeError ??= err;
      },
    );
  }

  /** Starts writing the stage in the background (after the previous write) and swaps buffers. */
  async function flushStage(): Promise<void> {
    await settle();
    if (staged === 0) return;
    const buf = stage.subarray(0, staged);
    const pos = filePos;
    filePos += staged;
    const h = fh!;
    const full = stage;
    inflight = writeAt(h, buf, pos).then(
      () => {
        spare ??= full;
        maybeSync(h, pos + buf.byteLength);
      },
      (err: unknown) => {
        writeError = err;
      },
    );
    stage = spare ?? Buffer.allocUnsafe(stageBytes);
    spare = null;
    staged = 0;
  }

  async function cleanup(): Promise<void> {
    done = true;
    hasher.dispose();
    await quiesce();
    const h = fh;
    fh = null;
    if (h) await h.close().catch(() => undefined);
    await fsp.rm(tempPath, { force: true }).catch(() => undefined);
    opts.onTemp?.(tempPath, false);
  }

  function assertOpen(): void {
    if (failure) throw failure;
    if (done || !fh) throw new CacheError(ErrorCodes.INTERNAL, `blob writer for ${label} is closed`);
  }

  async function fail(err: unknown): Promise<never> {
    failure = asStoreError(err, `file ${label}`, layout.db);
    await cleanup();
    throw failure;
  }

  const writer: BlobWriter = {
    get written() {
      return written;
    },

    async write(chunk: Uint8Array): Promise<void> {
      assertOpen();
      if (chunk.byteLength === 0) return;
      if (written + chunk.byteLength > expected.size) {
        return fail(integrity(`expected size ${expected.size} got at least ${written + chunk.byteLength}`));
      }
      written += chunk.byteLength;
      try {
        hasher.update(chunk);
        let off = 0;
        while (off < chunk.byteLength) {
          const n = Math.min(stageBytes - staged, chunk.byteLength - off);
          stage.set(chunk.subarray(off, off + n), staged);
          staged += n;
          off += n;
          if (staged === stageBytes) await flushStage();
        }
      } catch (err) {
        return fail(err);
      }
    },

    async restart(): Promise<void> {
      assertOpen();
      try {
        await quiesce();
        if (writeError) throw writeError;
        await fh!.truncate(0);
      } catch (err) {
        return fail(err);
      }
      staged = 0;
      written = 0;
      filePos = 0;
      syncedTo = 0;
      hasher.reset();
    },

    async commit(): Promise<BlobRef> {
      assertOpen();
      try {
        await flushStage();
        await quiesce();
        if (writeError) throw writeError;
        if (written !== expected.size) throw integrity(`expected size ${expected.size} got ${written}`);
        const d = await hasher.digest();
        const ref: BlobRef = { sha256: d.sha256, size: written, gitSha1: d.gitSha1 };
        if (expected.sha256 && expected.sha256.toLowerCase() !== ref.sha256) {
          throw integrity(`expected sha256 ${expected.sha256} got ${ref.sha256}`);
        }
        if (expected.gitSha1 && expected.gitSha1.toLowerCase() !== ref.gitSha1) {
          throw integrity(`expected git sha1 ${expected.gitSha1} got ${ref.gitSha1}`);
        }
        await fh!.sync();
        await fh!.chmod(0o444);
        const h = fh!;
        fh = null;
        await h.close();
        opts.beforePublish?.(ref);
        await publishBlob(tempPath, blobPath(layout, ref.sha256));
        return ref;
      } catch (err) {
        failure = asStoreError(err, `file ${label}`, layout.db);
        throw failure;
      } finally {
        await cleanup();
      }
    },

    async abort(o: { keepPartial?: boolean } = {}): Promise<void> {
      if (done) return;
      if (o.keepPartial && resumable && !failure) {
        try {
          // Whatever was accepted goes to disk, so a later writer resumes after it.
          await flushStage();
          await quiesce();
          if (writeError) throw writeError;
          done = true;
          hasher.dispose();
          const h = fh;
          fh = null;
          await h?.close();
          opts.onTemp?.(tempPath, false);
          return;
        } catch {
          // could not keep it cleanly: drop it
        }
      }
      await cleanup();
    },
  };
  return writer;
}

/**
 * The bytes a cut-short writer left in a partial file: hashed from disk into `hasher`, their count
 * returned (the offset to resume at). A file longer than the content cannot be a prefix of it: emptied.
 */
async function takeOver(fh: fsp.FileHandle, hasher: { update(b: Uint8Array): void }, size: number): Promise<number> {
  const have = (await fh.stat()).size;
  if (have === 0) return 0;
  if (have > size) {
    await fh.truncate(0);
    return 0;
  }
  const buf = Buffer.allocUnsafe(Math.min(STAGE_BYTES, have));
  let pos = 0;
  while (pos < have) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, have - pos), pos);
    if (bytesRead === 0) break;
    // Hashed before update() returns: buf can be refilled.
    hasher.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return pos;
}
