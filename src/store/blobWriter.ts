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
import { hasherFor, needsGitSha1 } from './streamHasher.js';
import type { BlobRef, BlobWriter, ExpectedContent } from './types.js';


/**
 * Bytes are staged and written in chunks of this size (one write syscall per MiB, not per network chunk).
 * Two stage buffers: while one is being written (on the libuv thread pool) the next fills and is hashed
 * on the caller's thread, so disk writes overlap hashing and the network instead of pausing them.
 */
const STAGE_BYTES = 1 << 20;

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
 * Bytes are hashed a stage buffer at a time, just before that buffer is written.
 * Invariants: at most one disk write is in flight, always of the stage buffer not being filled; every
 * write names its file offset explicitly (so restart() after truncate starts at byte 0); write() resolves
 * once the chunk is hashed and staged, and a failed background write is reported by the next write(),
 * restart() or commit(), which then clean up.
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

  // Large files hash in a worker thread (streamHasher), so hashing overlaps the network and the disk.
  const hasher = hasherFor(expected.size, { gitSha1: needsGitSha1(expected) });
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

  /** Waits for the background write; rethrows its error. */
  async function settle(): Promise<void> {
    if (inflight) {
      await inflight;
      inflight = null;
    }
    if (writeError) throw writeError;
  }

  /** Starts writing the stage in the background (after the previous write) and swaps buffers. */
  async function flushStage(): Promise<void> {
    await settle();
    if (staged === 0) return;
    const buf = stage.subarray(0, staged);
    await hasher.update(buf);
    const pos = filePos;
    filePos += staged;
    const h = fh!;
    const full = stage;
    inflight = writeAt(h, buf, pos).then(
      () => {
        spare ??= full;
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
    if (inflight) await inflight;
    inflight = null;
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
        await settle();
        await fh!.truncate(0);
      } catch (err) {
        return fail(err);
      }
      staged = 0;
      written = 0;
      filePos = 0;
      hasher.reset();
    },

    async commit(): Promise<BlobRef> {
      assertOpen();
      try {
        await flushStage();
        await settle();
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
          await settle();
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
async function takeOver(fh: fsp.FileHandle, hasher: { update(b: Uint8Array): Promise<void> | void }, size: number): Promise<number> {
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
    // Hashed (or copied into the worker's message) before update() returns: buf can be refilled.
    await hasher.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return pos;
}
