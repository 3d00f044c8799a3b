import type { Listing, Origin } from '../origin/types.js';
import type { BlobSink } from '../store/types.js';

/** What the service needs from the downloader (src/origin/fetchModel.ts). */
export interface Downloader {
  fetchFiles(
    listing: Listing,
    origin: Origin,
    sink: BlobSink,
    opts: {
      onProgress?: (p: { doneBytes: number; totalBytes: number; file: string }) => void;
      signal?: AbortSignal;
    },
  ): Promise<{
    files: Array<{ path: string; sha256: string; size: number; gitSha1: string }>;
    bytesDownloaded: number;
    durationMs: number;
  }>;
}

export interface RequestEvent {
  model: string;
  outcome: 'hit' | 'miss' | 'error';
  bytesServed: number;
  bytesDownloaded: number;
  durationMs: number;
  client?: string | undefined;
  run?: string | undefined;
  errorCode?: string | undefined;
  savedMs?: number | undefined;
}

export interface GetContext {
  client?: string | undefined;
  run?: string | undefined;
  connId?: number | null;
  /** Take a lease (default true). */
  lease?: boolean;
  onProgress?: (p: { model: string; doneBytes: number; totalBytes: number; file: string }) => void;
  signal?: AbortSignal;
  /** Offline for this request (the caller's environment asked for it), whatever the daemon's config says. */
  offline?: boolean | undefined;
}

/** What get returns is what the daemon sends: the protocol's result. */
export type { GetResult } from '../ipc/modelResults.js';
