import type { OpenedCache } from '../cache/maintenanceApi.js';
import type { ModelRecord } from '../cache/types.js';
import type { Log } from '../logger.js';
import type { CleanResult, OptimizeResult, VerifyResult } from '../ipc/maintenanceResults.js';

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
/** What verify, clean and optimize return is what the daemon sends: the protocol's result types. */
export type { CleanResult, OptimizeResult, VerifyResult };

export const STALE_MS = 60 * 60 * 1000;

export type VerifyStatus = VerifyResult['models'][number]['status'];


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
