import type { Readable } from 'node:stream';
import { CacheError, ErrorCodes, toErrorShape } from '../../errors.js';
import type { Log } from '../../logger.js';
import type { BlobRef, BlobWriter } from '../../store/types.js';
import type { RemoteFile } from '../types.js';
import type { CircuitBreaker } from './circuitBreaker.js';

/** What reading from the tier needs of the object store (src/origin/s3/tierStore.ts provides it). */
export interface TierReadStore {
  /** The blob's bytes from `offset` (a Range), or null when the tier does not hold it. */
  openBlob(sha256: string, offset: number, signal?: AbortSignal): Promise<{ stream: Readable; offset: number; total: number } | null>;
  /** The sha256 a git-SHA-1 alias names, or null when there is none. Untrusted: the bytes are checked against the git SHA-1. */
  getAlias(gitSha1: string): Promise<string | null>;
  /** The blob's size and last-read time, or null when the tier does not hold it. */
  headBlob(sha256: string, signal?: AbortSignal): Promise<{ size: number; lastReadMs: number | null } | null>;
  /** Refreshes the blob's last-read time (the tier's own LRU hygiene). */
  touchBlob(sha256: string): Promise<void>;
}

/** A tier blob whose bytes were not what its key (or the listing) says. */
export interface PoisonReport {
  /** Where the bad object lives: `s3://<bucket>/<key>`. */
  object: string;
  file: string;
  sha256: string | null;
  gitSha1: string | null;
  /** A verify-style sentence: what was wrong and what was done instead. */
  message: string;
  at: number;
}

export interface TierCounters {
  /** Files committed from tier bytes. */
  hits: number;
  /** Bytes received from the tier (committed files only). */
  bytes: number;
  /** Files the tier did not hold. */
  misses: number;
  /** Attempts that failed (refused, 5xx, timeout, cut mid-transfer). */
  failures: number;
  /** Files not tried because the breaker was open. */
  skippedOpen: number;
  /** Objects whose bytes did not verify. */
  poisoned: number;
}

/** The outcome of one file's tier attempt. */
export type TierFill =
  | { kind: 'committed'; ref: BlobRef; bytes: number }
  /** Go to the next source. `writerUsable` false: the writer is gone (its bytes failed verification); open a fresh one. */
  | { kind: 'fallback'; writerUsable: boolean };

export interface TierFillIo {
  signal: AbortSignal;
  /** Bytes accepted by the writer. */
  got(n: number): void;
  /** The writer dropped what it held (the tier answered from byte 0). */
  restarted(): void;
}

/** The tier as the downloader sees it: one attempt per file, before the Hub. */
export interface TierReader {
  readonly name: string;
  fill(file: RemoteFile, writer: BlobWriter, io: TierFillIo): Promise<TierFill>;
}

export interface TierSource extends TierReader {
  counters(): TierCounters;
  /** The latest poison reports (newest last, bounded). */
  poisonReports(): PoisonReport[];
}

export interface TierSourceOptions {
  store: TierReadStore;
  /** Names the tier in logs: `s3://<bucket>/<prefix>`. */
  name: string;
  /** The full object address of a blob, for reports. */
  objectOf(sha256: string): string;
  breaker: CircuitBreaker;
  /** An attempt whose open (or alias lookup) takes longer fails (counts against the breaker). */
  openTimeoutMs: number;
  /** An attempt that receives no byte for this long fails. */
  stallTimeoutMs: number;
  /**
   * A blob whose last-read time is older than this is refreshed after a read (a HEAD first, so a blob
   * read by another runner today costs no write); each process checks a blob at most this often.
   * Infinity: never (a read-only tier, which cannot write the time).
   */
  touchEveryMs: number;
  clock: () => number;
  logger?: Pick<Log, 'warn' | 'info'>;
  onPoisoned?(r: PoisonReport): void;
}

const SHA256_RE = /^[0-9a-f]{64}$/;
const MAX_REPORTS = 50;

/** Marks an error thrown by the writer (the cache's disk), which is not the tier's failure. */
class WriterError extends Error {
  constructor(readonly inner: unknown) {
    super('writer failed');
  }
}

/**
 * Reads files from the shared tier into the store's verifying writer. Invariants:
 *  - the tier's bytes pass through the same BlobWriter as a Hub download: committed only when they
 *    hash to the listing's sha256 (or git SHA-1, for files reached through an alias) and size;
 *  - a blob that fails verification is never admitted: reported (warn log naming the object, a counter,
 *    a verify-style message) and the caller falls back to the next source with a fresh writer;
 *  - a dead or slow tier costs at most one bounded attempt per file (open timeout, stall timeout), and
 *    none while the breaker is open; errors of the tier never reach the caller, only errors of the
 *    local writer (disk) and the caller's abort do.
 */
export function createTierSource(o: TierSourceOptions): TierSource {
  const counters: TierCounters = { hits: 0, bytes: 0, misses: 0, failures: 0, skippedOpen: 0, poisoned: 0 };
  const reports: PoisonReport[] = [];
  const touched = new Map<string, number>();

  function poisoned(file: RemoteFile, sha256: string | null, why: string): void {
    counters.poisoned++;
    const object = sha256 ? o.objectOf(sha256) : `${o.name} (alias of git SHA-1 ${file.gitSha1})`;
    const r: PoisonReport = {
      object,
      file: file.path,
      sha256,
      gitSha1: file.gitSha1 ?? null,
      message: `tier object ${object} is corrupt (${why}): not served; ${file.path} fetched from the next origin instead`,
      at: o.clock(),
    };
    reports.push(r);
    if (reports.length > MAX_REPORTS) reports.shift();
    o.logger?.warn({ tier: o.name, object, file: file.path, why }, 'tier blob failed verification: not served');
    try {
      o.onPoisoned?.(r);
    } catch {
      // A listener's failure is not the download's.
    }
  }

  function failed(file: RemoteFile, err: unknown): TierFill {
    counters.failures++;
    o.breaker.failure();
    o.logger?.warn({ tier: o.name, file: file.path, err: toErrorShape(err), breaker: o.breaker.state() }, 'tier read failed; using the next origin');
    return { kind: 'fallback', writerUsable: true };
  }

  function maybeTouch(sha256: string): void {
    if (!Number.isFinite(o.touchEveryMs)) return;
    const now = o.clock();
    const last = touched.get(sha256);
    if (last !== undefined && now - last < o.touchEveryMs) return;
    touched.set(sha256, now);
    if (touched.size > 100_000) touched.clear();
    (async () => {
      const head = await o.store.headBlob(sha256);
      if (head && (head.lastReadMs === null || now - head.lastReadMs >= o.touchEveryMs)) await o.store.touchBlob(sha256);
    })().catch((err: unknown) => {
      o.logger?.warn({ tier: o.name, blob: sha256, err: toErrorShape(err) }, 'could not refresh a tier blob\'s last-read time');
    });
  }

  /** `work` under the open timeout and the caller's signal. */
  async function bounded<T>(what: string, signal: AbortSignal, work: (s: AbortSignal) => Promise<T>): Promise<T> {
    const ac = new AbortController();
    const onAbort = () => ac.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${o.name}: ${what} took over ${o.openTimeoutMs} ms`, { retryable: true });
        ac.abort(err);
        reject(err);
      }, o.openTimeoutMs);
    });
    try {
      return await Promise.race([work(ac.signal), timeout]);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  async function fill(file: RemoteFile, writer: BlobWriter, io: TierFillIo): Promise<TierFill> {
    if (!file.sha256 && !file.gitSha1) return { kind: 'fallback', writerUsable: true };
    if (!o.breaker.allow()) {
      counters.skippedOpen++;
      return { kind: 'fallback', writerUsable: true };
    }
    let sha256: string | null = file.sha256 ?? null;
    let stream: Readable | null = null;
    let received = 0;
    try {
      if (!sha256) {
        const named = await bounded('alias lookup', io.signal, () => o.store.getAlias(file.gitSha1!));
        if (named === null) {
          o.breaker.success();
          counters.misses++;
          return { kind: 'fallback', writerUsable: true };
        }
        if (!SHA256_RE.test(named)) {
          o.breaker.success();
          poisoned(file, null, `the alias names "${named.slice(0, 80)}", not a sha256`);
          return { kind: 'fallback', writerUsable: true };
        }
        sha256 = named;
      }
      const key = sha256;
      const opened = await bounded('open', io.signal, (s) => o.store.openBlob(key, writer.written, s));
      if (!opened) {
        o.breaker.success();
        counters.misses++;
        return { kind: 'fallback', writerUsable: true };
      }
      stream = opened.stream;
      if (opened.total !== file.size) {
        o.breaker.success();
        poisoned(file, key, `${opened.total} bytes, the listing says ${file.size}`);
        return { kind: 'fallback', writerUsable: true };
      }
      if (opened.offset !== writer.written) {
        if (opened.offset !== 0) throw new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${o.name} answered from byte ${opened.offset}, asked ${writer.written}`, { retryable: true });
        await writer.restart().catch((err: unknown) => {
          throw new WriterError(err);
        });
        io.restarted();
      }
      await pump(stream, writer, io, (n) => (received += n));
      if (writer.written !== file.size) {
        throw new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${o.name} sent ${writer.written} of ${file.size} bytes of ${file.path}`, { retryable: true });
      }
    } catch (err) {
      if (io.signal.aborted) throw io.signal.reason;
      if (err instanceof WriterError) throw err.inner;
      return failed(file, err);
    } finally {
      if (stream && !stream.destroyed) stream.destroy();
    }
    let ref: BlobRef;
    try {
      ref = await writer.commit();
    } catch (err) {
      if (err instanceof CacheError && err.code === ErrorCodes.INTEGRITY) {
        o.breaker.success();
        poisoned(file, sha256, err.message);
        return { kind: 'fallback', writerUsable: false };
      }
      throw err;
    }
    o.breaker.success();
    counters.hits++;
    counters.bytes += received;
    maybeTouch(ref.sha256);
    return { kind: 'committed', ref, bytes: received };
  }

  /** Streams into the writer; a gap of stallTimeoutMs without a byte, or the caller's abort, ends it. */
  async function pump(stream: Readable, writer: BlobWriter, io: TierFillIo, count: (n: number) => void): Promise<void> {
    let stalled: CacheError | null = null;
    let last = Date.now();
    const onAbort = () => stream.destroy(io.signal.reason instanceof Error ? io.signal.reason : undefined);
    io.signal.addEventListener('abort', onAbort, { once: true });
    const check = () => {
      const idle = Date.now() - last;
      if (idle >= o.stallTimeoutMs) {
        stalled = new CacheError(ErrorCodes.STALLED, `${o.name} stalled: no data for ${idle} ms`, { retryable: true });
        stream.destroy(stalled);
      } else timer = setTimeout(check, o.stallTimeoutMs - idle);
    };
    let timer = setTimeout(check, o.stallTimeoutMs);
    try {
      for await (const chunk of stream as AsyncIterable<Uint8Array>) {
        last = Date.now();
        try {
          await writer.write(chunk);
        } catch (err) {
          throw new WriterError(err);
        }
        count(chunk.byteLength);
        io.got(chunk.byteLength);
      }
    } catch (err) {
      if (stalled) throw stalled;
      throw err;
    } finally {
      clearTimeout(timer);
      io.signal.removeEventListener('abort', onAbort);
    }
  }

  return {
    name: o.name,
    fill,
    counters: () => ({ ...counters }),
    poisonReports: () => reports.slice(),
  };
}
