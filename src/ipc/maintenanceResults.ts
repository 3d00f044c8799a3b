/**
 * Results of the maintenance methods (verify, clean, optimize, restore, import). Plain JSON data: what
 * the daemon sends is what a client reads.
 */

export interface VerifyResult {
  ok: boolean;
  mode: 'full' | 'quick';
  models: Array<{ model: string; status: 'ok' | 'corrupted' | 'missing' | 'repaired'; corrupted: string[]; missing: string[] }>;
  orphans: {
    /** Blob files no live index row names. */
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

export interface CleanResult {
  dryRun: boolean;
  /** kind: 'model' | 'blob' | 'row' | 'temp' | 'snapshot' | 'quarantine'. */
  removed: Array<{ kind: string; name: string; bytes: number }>;
  skipped: Array<{ model: string; reason: string }>;
  freedBytes: number;
}

export interface OptimizeResult {
  sweptTempBytes: number;
  orphanBlobs: number;
  orphanBytes: number;
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

export interface RestoreResult {
  /** The destination folder, as asked for (absolute). */
  to: string;
  /** The model's own folder inside `to`: `to` itself for the plain layout, the snapshot folder for hf and whisperkit. */
  path: string;
  files: number;
  bytes: number;
  method: 'clone' | 'hardlink' | 'copy' | 'mixed';
  layout: string;
  /** The model was already cached (no fetch was needed). */
  hit: boolean;
}

export interface ImportResult {
  /** Every model the folder holds that the cache now has; `alreadyCached`: it was cached before (nothing was copied). */
  imported: Array<{ model: string; files: number; bytes: number; alreadyCached: boolean }>;
  refused: Array<{ path: string; reason: string }>;
}
