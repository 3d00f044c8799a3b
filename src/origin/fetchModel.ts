import fsp from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import PQueue from 'p-queue';
import { CacheError, ErrorCodes } from '../errors.js';
import type { Log } from '../logger.js';
import type { BlobRef, BlobSink, BlobWriter, ExpectedContent } from '../store/types.js';
import { isNetworkError, networkError } from './hubErrors.js';
import type { TierReader } from './s3/tierSource.js';
import { pumpChunks } from './pumpChunks.js';
import type { Listing, Origin, RemoteFile } from './types.js';

export interface DownloaderOptions {
  /** Files downloading at once, over all origins. */
  concurrency: number;
  /** Files downloading at once from one origin (by Origin.name). */
  perOrigin: number;
  /** Retries per file after the first attempt. */
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** An attempt that receives no byte for this long is aborted (retryable E_STALLED). */
  stallTimeoutMs: number;
  /** Refuse to start when the download would leave less than this free on disk. */
  minFreeBytes: number;
  clock?: () => number;
  /** Waits between attempts; rejects with the signal's reason when it fires. Injectable for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** In [0, 1): the jitter source. */
  random?: () => number;
  logger?: Pick<Log, 'warn'>;
  /** Free bytes on the cache's disk (see statfsFreeBytes); without it (and without the per-call one) no check. */
  freeBytes?: () => Promise<number>;
  /** Minimum interval between progress events of one fetch (default 100 ms); file completions always report. */
  progressIntervalMs?: number;
}

export interface FetchProgress {
  doneBytes: number;
  totalBytes: number;
  file: string;
}

export interface FetchOptions {
  onProgress?(p: FetchProgress): void;
  signal?: AbortSignal;
  freeBytes?: () => Promise<number>;
  /** A shared tier tried once per file before the origin (files with a sha256 or git SHA-1 only). */
  tier?: TierReader | undefined;
}

export interface FetchedFile {
  path: string;
  sha256: string;
  size: number;
  gitSha1: string;
}

export interface FetchResult {
  /** Every file of the listing, in listing order, with its stored blob's digests. */
  files: FetchedFile[];
  /** Bytes received from the origin (including any thrown away by a retry). */
  bytesDownloaded: number;
  /** Bytes of files committed from the tier (FetchOptions.tier). */
  bytesFromTier: number;
  /** Blobs this fetch committed from bytes of the origin (not the tier, not already stored). */
  fromOrigin: BlobRef[];
  durationMs: number;
}

export interface Downloader {
  fetchFiles(listing: Listing, origin: Origin, sink: BlobSink, opts?: FetchOptions): Promise<FetchResult>;
}

/** A Retry-After longer than this is not waited for: the error goes back to the caller (still retryable). */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

/** Free bytes available to this user on the filesystem holding `dir`. */
export function statfsFreeBytes(dir: string): () => Promise<number> {
  return async () => {
    const s = await fsp.statfs(dir);
    return Number(s.bavail) * Number(s.bsize);
  };
}

export function expectedOf(file: RemoteFile): ExpectedContent {
  const e: ExpectedContent = { size: file.size };
  if (file.sha256) e.sha256 = file.sha256;
  if (file.gitSha1) e.gitSha1 = file.gitSha1;
  return e;
}

/** Full-jitter exponential backoff: uniform in [0, min(max, base·2^attempt)). */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

/**
 * The downloader: fetches the files of a listing into a BlobSink.
 * - Files the sink already holds are not downloaded; files of one listing with the same digest download once.
 * - Concurrency is bounded in total and per origin (p-queue).
 * - A retryable failure (connection error, 408/429/5xx, stall, integrity) is retried up to `retries`
 *   times with full-jitter backoff, or after the origin's Retry-After. A dropped connection resumes from
 *   `writer.written` with a Range; an origin that answers from byte 0 makes the writer restart; an
 *   integrity failure starts the file again in a fresh writer.
 * - The first final failure aborts every other file; every uncommitted writer is aborted (its temp file
 *   removed), so nothing partial remains. Committed blobs stay in the store (unreferenced, collectable).
 *
 * Size: one closure on purpose: the queues, the per-file retry loop, the shared abort of a listing and
 * the free-disk check all act on the same per-listing state; the pure pieces (backoff, expected content)
 * stand apart above.
 */
export function createDownloader(options: DownloaderOptions): Downloader {
  const clock = options.clock ?? Date.now;
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }).then(() => undefined));
  const random = options.random ?? Math.random;
  const log = options.logger;
  const progressEvery = options.progressIntervalMs ?? 100;
  const total = new PQueue({ concurrency: Math.max(1, options.concurrency) });
  const perOrigin = new Map<string, PQueue>();

  function originQueue(name: string): PQueue {
    let q = perOrigin.get(name);
    if (!q) {
      q = new PQueue({ concurrency: Math.max(1, options.perOrigin) });
      perOrigin.set(name, q);
    }
    return q;
  }

  /** Anything thrown during an attempt, as a CacheError that says whether a retry can help. */
  function classify(err: unknown, origin: Origin, file: RemoteFile): unknown {
    if (err instanceof CacheError) return err;
    const code = (err as NodeJS.ErrnoException | null)?.code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      return new CacheError(ErrorCodes.NO_SPACE, `no space left on device while writing ${file.path}`, { cause: err });
    }
    if (isNetworkError(err)) return networkError(origin.name, err, file.path);
    return err;
  }

  return {
    async fetchFiles(listing, origin, sink, opts = {}) {
      const t0 = clock();
      if (opts.signal?.aborted) throw opts.signal.reason;
      const ac = new AbortController();
      const onOuterAbort = () => ac.abort(opts.signal?.reason);
      opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
      try {
        return await fetchAll(listing, origin, sink, opts, ac, t0);
      } finally {
        opts.signal?.removeEventListener('abort', onOuterAbort);
      }
    },
  };

  async function fetchAll(
    listing: Listing,
    origin: Origin,
    sink: BlobSink,
    opts: FetchOptions,
    ac: AbortController,
    t0: number,
  ): Promise<FetchResult> {
    const files = listing.files;
    const refs: Array<BlobRef | null> = files.map(() => null);
    const totalBytes = files.reduce((n, f) => n + f.size, 0);

    // Group by digest so identical files of one listing download once; size-only files stand alone.
    const groups = new Map<string, number[]>();
    files.forEach((f, i) => {
      const key = f.sha256 ? `s:${f.sha256}` : f.gitSha1 ? `g:${f.gitSha1}` : `i:${i}`;
      const g = groups.get(key);
      if (g) g.push(i);
      else groups.set(key, [i]);
    });

    let doneBytes = 0;
    let needed = 0;
    const pending: number[][] = [];
    for (const idx of groups.values()) {
      const f = files[idx[0]!]!;
      const found = f.sha256 || f.gitSha1 ? sink.findBlob(expectedOf(f)) : null;
      if (found) {
        for (const i of idx) refs[i] = found;
        for (const i of idx) doneBytes += files[i]!.size;
      } else {
        pending.push(idx);
        needed += f.size;
        for (const i of idx.slice(1)) doneBytes += files[i]!.size;
      }
    }

    const freeBytes = opts.freeBytes ?? options.freeBytes;
    if (freeBytes && needed > 0) {
      const free = await freeBytes();
      if (free - needed < options.minFreeBytes) {
        throw new CacheError(
          ErrorCodes.NO_SPACE,
          `not enough disk for ${listing.ref.repo}${listing.ref.subfolder ? `:${listing.ref.subfolder}` : ''}: needs ${needed} bytes, ${free} free, keeping ${options.minFreeBytes} free`,
          { details: { neededBytes: needed, freeBytes: free, minFreeBytes: options.minFreeBytes } },
        );
      }
    }

    let lastEmit = -Infinity;
    const emit = (file: string, force: boolean) => {
      if (!opts.onProgress) return;
      const now = performance.now();
      if (!force && now - lastEmit < progressEvery) return;
      lastEmit = now;
      try {
        opts.onProgress({ doneBytes, totalBytes, file });
      } catch {
        // A listener's failure is not the download's.
      }
    };
    emit(files[pending[0]?.[0] ?? 0]?.path ?? '', true);

    let bytesDownloaded = 0;
    let bytesFromTier = 0;
    const fromOrigin: BlobRef[] = [];
    let failure: { err: unknown } | null = null;

    async function downloadOne(idx: number[]): Promise<void> {
      const file = files[idx[0]!]!;
      const expected = expectedOf(file);
      if (ac.signal.aborted) throw ac.signal.reason;
      const landed = expected.sha256 || expected.gitSha1 ? sink.findBlob(expected) : null;
      let ref = landed;
      if (!ref) ref = await downloadFile(file, expected);
      for (const i of idx) refs[i] = ref;
      if (landed) doneBytes += file.size;
      emit(file.path, true);
    }

    async function downloadFile(file: RemoteFile, expected: ExpectedContent): Promise<BlobRef> {
      let writer = await sink.openWriter(expected, { label: file.path, resumable: true });
      // A resumable writer may start with the bytes of a cut-short download of the same content.
      let counted = writer.written; // bytes of this file counted in doneBytes
      doneBytes += counted;
      let committed = false;
      try {
        // Source order per file: the tier once (verified by the same writer), then the origin.
        if (opts.tier) {
          const got = await opts.tier.fill(file, writer, {
            signal: ac.signal,
            got: (n) => {
              counted += n;
              doneBytes += n;
              emit(file.path, false);
            },
            restarted: () => {
              doneBytes -= counted;
              counted = 0;
            },
          });
          if (got.kind === 'committed') {
            committed = true;
            bytesFromTier += got.bytes;
            return got.ref;
          }
          if (!got.writerUsable) {
            doneBytes -= counted;
            writer = await sink.openWriter(expected, { label: file.path, resumable: true });
            counted = writer.written;
            doneBytes += counted;
          }
        }
        for (let attempt = 0; ; attempt++) {
          try {
            // Every byte already taken over: nothing to ask for (a Range past the end would be a 416).
            if (writer.written < file.size || file.size === 0) {
              await transfer(file, writer, (n) => {
                counted += n;
                doneBytes += n;
              }, () => {
                doneBytes -= counted;
                counted = 0;
              });
            }
            const ref = await writer.commit();
            committed = true;
            fromOrigin.push(ref);
            return ref;
          } catch (raw) {
            if (ac.signal.aborted) throw ac.signal.reason;
            const err = classify(raw, origin, file);
            const ce = err instanceof CacheError ? err : null;
            const wait = typeof ce?.details?.retryAfterMs === 'number' ? ce.details.retryAfterMs : null;
            if (!ce?.retryable || attempt >= options.retries || (wait !== null && wait > MAX_RETRY_AFTER_MS)) throw err;
            if (ce.code === ErrorCodes.INTEGRITY) {
              // The bytes so far cannot be trusted: the whole file again, in a fresh writer.
              await writer.abort();
              doneBytes -= counted;
              counted = 0;
              writer = await sink.openWriter(expected, { label: file.path, resumable: true });
              counted = writer.written;
              doneBytes += counted;
            }
            const ms = wait ?? backoffMs(attempt, options.retryBaseMs, options.retryMaxMs, random);
            log?.warn(
              { origin: origin.name, file: file.path, attempt: attempt + 1, code: ce.code, retryInMs: ms, resumeAt: writer.written },
              'download attempt failed; retrying',
            );
            await sleep(ms, ac.signal);
          }
        }
      } finally {
        // Cut short (origin gone, shutdown): a resumable writer keeps its bytes for the next attempt.
        if (!committed) await writer.abort({ keepPartial: true }).catch(() => undefined);
      }
    }

    /** One attempt: open at `writer.written`, stream into the writer, abort when no byte arrives for stallTimeoutMs. */
    async function transfer(file: RemoteFile, writer: BlobWriter, got: (n: number) => void, restarted: () => void): Promise<void> {
      const attempt = new AbortController();
      let stream: Readable | null = null;
      let stalled: CacheError | null = null;
      const stop = (reason: unknown) => {
        attempt.abort(reason);
        stream?.destroy(reason instanceof Error ? reason : undefined);
      };
      const onAbort = () => stop(ac.signal.reason);
      ac.signal.addEventListener('abort', onAbort, { once: true });
      let last = performance.now();
      const check = () => {
        const idle = performance.now() - last;
        if (idle >= options.stallTimeoutMs) {
          stalled = new CacheError(
            ErrorCodes.STALLED,
            `download of ${file.path} from ${origin.name} stalled: no data for ${Math.round(idle)} ms`,
            { retryable: true, details: { stallTimeoutMs: options.stallTimeoutMs, offset: writer.written } },
          );
          stop(stalled);
        } else {
          timer = setTimeout(check, options.stallTimeoutMs - idle);
        }
      };
      let timer = setTimeout(check, options.stallTimeoutMs);
      try {
        const opened = await origin.open(listing, file, writer.written, attempt.signal);
        stream = opened.stream;
        if (attempt.signal.aborted) throw attempt.signal.reason;
        if (opened.offset !== writer.written) {
          if (opened.offset !== 0) {
            throw new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${origin.name} answered ${file.path} from byte ${opened.offset}, asked ${writer.written}`, { retryable: true });
          }
          await writer.restart();
          restarted();
        }
        last = performance.now();
        await pumpChunks(stream, async (chunk) => {
          last = performance.now();
          await writer.write(chunk);
          bytesDownloaded += chunk.byteLength;
          got(chunk.byteLength);
          emit(file.path, false);
        });
      } catch (err) {
        if (stalled) throw stalled;
        throw err;
      } finally {
        clearTimeout(timer);
        ac.signal.removeEventListener('abort', onAbort);
        if (stream && !stream.destroyed) stream.destroy();
      }
    }

    const tasks = pending.map((idx) => {
      const q = originQueue(origin.name);
      return q
        // No signal to p-queue: it would settle a running task at once, before its writer is aborted.
        // A queued task whose turn comes after an abort throws at its first line instead.
        .add(() => total.add(() => downloadOne(idx)))
        .catch((err: unknown) => {
          if (!failure) {
            failure = { err: ac.signal.aborted ? ac.signal.reason : err };
            ac.abort(err);
          }
        });
    });
    await Promise.all(tasks);
    if (failure) throw (failure as { err: unknown }).err;

    emit(files[files.length - 1]?.path ?? '', true);
    return {
      files: files.map((f, i) => {
        const r = refs[i]!;
        return { path: f.path, sha256: r.sha256, size: r.size, gitSha1: r.gitSha1 };
      }),
      bytesDownloaded,
      bytesFromTier,
      fromOrigin,
      durationMs: clock() - t0,
    };
  }
}
