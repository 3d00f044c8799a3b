import type Database from 'better-sqlite3';
import type { Layout } from '../store/layout.js';
import type { BlobSink } from '../store/types.js';

export type { Layout };

export type ModelState = 'ready' | 'damaged';

/** One cached snapshot (repo or subfolder at one commit): the unit of LRU eviction. */
export interface ModelRecord {
  id: number;
  /** '<repo>[:<subfolder>]@<commit>' */
  key: string;
  repo: string;
  subfolder: string | null;
  commit: string;
  /** Absolute snapshot directory: the path clients get. */
  path: string;
  origin: string;
  size: number;
  fileCount: number;
  createdAt: number;
  lastAccess: number;
  hits: number;
  pinned: boolean;
  state: ModelState;
  /** Wall time of the last fetch from an origin, ms (for "time saved"). */
  fetchMs: number | null;
}

/** A revision resolved to a commit once and remembered. */
export interface RefRecord {
  /** canonical '<repo>@<revision>[:<subfolder>]' */
  ref: string;
  repo: string;
  revision: string;
  subfolder: string | null;
  commit: string;
  origin: string;
  resolvedAt: number;
}

export interface SnapshotFile {
  /** relative, '/'-separated, already validated as safe */
  path: string;
  /** sha256 of a blob already committed to the store */
  blob: string;
  size: number;
  gitSha1?: string;
  /** Fingerprint of the snapshot file as published (lstat), for verify --quick and damage checks. */
  ino?: number;
  mtimeMs?: number;
  /** The fingerprint is void (verify found the file corrupt): it matches nothing until re-admitted. */
  distrusted?: boolean;
}

export interface AdmitRequest {
  repo: string;
  subfolder: string | null;
  commit: string;
  origin: string;
  fetchMs: number | null;
  files: SnapshotFile[];
  /** Carry the pin of a snapshot this one replaces. */
  pinned?: boolean;
}

/** A hit carries the record; a miss says why. Never thrown. */
export type Lookup =
  | { hit: true; model: ModelRecord }
  | { hit: false; reason: 'unresolved' | 'not-cached' | 'damaged'; ref: RefRecord | null };

/** Space held for a download in progress so concurrent admissions cannot overshoot the limit. */
export interface Reservation {
  readonly bytes: number;
  release(): void;
}

export interface EvictionResult {
  evicted: Array<{ id: number; key: string; bytes: number }>;
  freedBytes: number;
}

export interface CacheTotals {
  /** Bytes of unique blobs (what the cache occupies). */
  usedBytes: number;
  reservedBytes: number;
  limitBytes: number;
  lowWatermark: number;
  models: number;
  blobs: number;
  pinned: number;
  damaged: number;
}

export interface BlobScope extends BlobSink {
  /** End the holds. Idempotent. Unreferenced blobs no one else holds are then collectable. */
  release(): void;
}

/**
 * The cache library. One instance per cache dir per process; the daemon is the only writer
 * while it runs. Lookups are served from memory (loaded from the index at open; the tree is never
 * walked at start-up). All index writes of one admission/eviction happen in one transaction.
 */
export interface Cache extends BlobSink {
  readonly layout: Layout;
  /** The open index, for the accounting module's own prepared statements. */
  readonly db: Database.Database;

  getRef(ref: string): RefRecord | null;
  putRef(rec: RefRecord): void;

  /** In-memory: ref → commit → model. No I/O. */
  lookup(ref: string): Lookup;
  getModel(idOrKey: number | string): ModelRecord | null;
  /** Files of a model from the index. */
  files(modelId: number): SnapshotFile[];
  list(): ModelRecord[];
  /** The model whose snapshot tree contains absolute path `p` (the dir itself or anything under it). In memory. */
  modelAt(p: string): ModelRecord | null;

  /** Record an access (a hit unless `hit` is false): memory now, index write batched. */
  touch(modelId: number, now?: number, hit?: boolean): void;

  /** Publish a snapshot whose blobs are all committed: build the tree under tmp/, rename, one transaction. */
  admit(req: AdmitRequest): ModelRecord;

  reserve(bytes: number): Reservation;
  /**
   * A sink for one admission in flight: every blob it finds or writes stays in the store, even at
   * refcount 0 (its last owner evicted meanwhile), until release(). Holds of concurrent scopes on one
   * blob are counted, so one admission finishing never exposes another's blobs to eviction.
   */
  blobScope(): BlobScope;
  /**
   * Evict least-recently-used models until `incomingBytes` fits under the limit (down to the low
   * watermark), never a pinned model or one for which isLeased(id) is true. Throws E_TOO_LARGE when
   * incomingBytes alone exceeds the limit, E_NO_SPACE when it cannot fit after evicting all it may.
   */
  makeRoom(incomingBytes: number, isLeased: (modelId: number) => boolean): EvictionResult;
  /**
   * Remove one model (index rows, memory, snapshot dir, blobs whose refcount reaches 0) and log the
   * eviction; returns the blob bytes freed. The index and the paths change at once; deleting the files'
   * data finishes off the event loop (see settled()).
   */
  evict(modelId: number, reason: string): number;
  /** Resolves when the file removals of every eviction so far have ended. close() finishes them itself. */
  settled(): Promise<void>;
  setPinned(modelId: number, pinned: boolean): void;
  /**
   * Marks a model damaged (index and memory): no lookup serves it as a hit until it is re-admitted.
   * The fingerprints of `files` (paths found corrupt) are voided, so they are re-fetched, never reused.
   */
  markDamaged(modelId: number, files?: readonly string[]): void;
  /**
   * Whether a model may be served as a hit. The first call after the cache opens, or after distrust(),
   * lstats every file against its recorded fingerprint; a model that fails is marked damaged (false).
   * A model that passed is trusted: later calls are a memory lookup until an event distrusts it.
   */
  confirmIntact(modelId: number): boolean;
  /** Something may have changed the model's files (a watcher event): check them before its next hit. */
  distrust(modelId: number): void;
  setLimits(limitBytes: number, lowWatermark: number): void;
  totals(): CacheTotals;

  /** Flush batched writes. */
  flush(): void;
  /** Finishes pending file removals, writes the last touches and closes the index. */
  close(): void;
}
