import type { OpenedCache } from '../cache/maintenanceApi.js';
import type { ModelRecord } from '../cache/types.js';
import type { Log } from '../logger.js';

/** What the maintenance commands need from their host (the daemon, or the CLI holding the cache lock). */
export interface MaintenanceDeps {
  cache: OpenedCache;
  isLeased: (modelId: number) => boolean;
  clock: () => number;
  logger: Pick<Log, 'info' | 'warn' | 'error'>;
  /** Re-fetches a damaged model through the model service (which re-downloads missing blob files). */
  refetch: (m: ModelRecord) => Promise<{ hit: boolean }>;
  retentionMs: () => number;
  flushAccounting: () => void;
  /**
   * How old (by `clock`) a temp file or an unreferenced blob row must be before it counts as an orphan.
   * A download in progress keeps temp files and committed-but-not-yet-admitted blobs (refcount 0) that
   * must not be swept. Default STALE_MS; pass 0 when the caller holds the cache exclusively.
   */
  staleMs?: number;
  /** Test hook: runs synchronously after clean removed a model (the crash tests pause here). */
  onStage?: (stage: 'clean-step', name: string) => void;
  /** Hash threads for verify/import. Default os.availableParallelism(). */
  hashThreads?: number;
}

/** One hour: no live download leaves a temp file or a pending blob untouched that long (stall timeout is seconds). */
export const STALE_MS = 60 * 60 * 1000;

export type VerifyStatus = 'ok' | 'corrupted' | 'missing' | 'repaired';

/** Assignable to the socket protocol's verify result (ResultOf<'verify'>), which the daemon sends as is. */
export interface VerifyResult {
  ok: boolean;
  mode: 'full' | 'quick';
  models: Array<{ model: string; status: VerifyStatus; corrupted: string[]; missing: string[] }>;
  orphans: {
    /** Blob files no live index row names (no row, a refcount-0 row, or not a regular file). */
    blobs: Array<{ digest: string; bytes: number }>;
    /** Stale entries of tmp/ (absolute paths). */
    temp: Array<{ path: string; bytes: number }>;
    /** Blob rows whose blob file is missing. */
    rows: number;
    /** Directories under snapshots/ that no model owns (absolute paths). */
    snapshots: Array<{ path: string; bytes: number }>;
  };
  filesChecked: number;
  bytesHashed: number;
  durationMs: number;
  /** Model keys re-fetched successfully, and orphans removed ('orphan blob <digest>', ...). */
  repaired: string[];
  /** Problems still present when verify returns (after repair). */
  problems: number;
}

export interface VerifyOptions {
  models?: number[];
  quick: boolean;
  repair: boolean;
  onProgress?: (d: { doneBytes: number; totalBytes: number; file: string }) => void;
}

export interface CleanOptions {
  dryRun: boolean;
  corrupted: boolean;
  partial: boolean;
  olderThanMs: number | null;
  all: boolean;
  models: number[];
}

/** Assignable to the socket protocol's clean result (ResultOf<'clean'>). kind: 'model' | 'blob' | 'row' | 'temp' | 'snapshot' | 'quarantine'. */
export interface CleanResult {
  dryRun: boolean;
  removed: Array<{ kind: string; name: string; bytes: number }>;
  skipped: Array<{ model: string; reason: string }>;
  freedBytes: number;
}

export interface OptimizeResult {
  sweptTempBytes: number;
  orphanBlobs: number;
  orphanBytes: number;
  /** Snapshot trees no model owns, removed. */
  orphanSnapshots: number;
  orphanSnapshotBytes: number;
  evictedModels: number;
  evictedBytes: number;
  /** Disk bytes freed: temp + orphan blobs + orphan snapshot trees + evicted + index shrink. */
  freedBytes: number;
  dbBytesBefore: number;
  dbBytesAfter: number;
  eventsRolled: number;
  daysTouched: number;
}

export type RestoreLayout = 'plain' | 'hf' | 'whisperkit';
export type RestoreMethod = 'clone' | 'hardlink' | 'copy' | 'mixed';

export interface RestoreOptions {
  model: ModelRecord;
  to: string;
  layout: RestoreLayout;
  /** '<repo>@<revision>[:<subfolder>]': the revision names refs/<revision> in the hf layout. */
  ref: string;
  /** whisperkit layout only: the cached tokenizer snapshot to place next to the model. */
  tokenizer?: ModelRecord;
}

export interface RestoreResult {
  path: string;
  files: number;
  bytes: number;
  method: RestoreMethod;
  layout: string;
}

export interface ImportResult {
  imported: Array<{ model: string; files: number; bytes: number }>;
  refused: Array<{ path: string; reason: string }>;
}
