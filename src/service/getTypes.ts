import type { TierReader } from '../origin/s3/tierSource.js';
import type { Listing, Origin } from '../origin/types.js';
import type { BlobRef, BlobSink } from '../store/types.js';

/** What the service needs from the downloader (src/origin/fetchModel.ts). */
export interface Downloader {
  fetchFiles(
    listing: Listing,
    origin: Origin,
    sink: BlobSink,
    opts: {
      onProgress?: (p: { doneBytes: number; totalBytes: number; file: string }) => void;
      signal?: AbortSignal;
      tier?: TierReader | undefined;
    },
  ): Promise<{
    files: Array<{ path: string; sha256: string; size: number; gitSha1: string }>;
    bytesDownloaded: number;
    bytesFromTier: number;
    fromOrigin: BlobRef[];
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
  /** Bytes taken from the fleet tier (bytesDownloaded: from the origin). */
  bytesFromTier?: number | undefined;
  /** A miss whose every transferred file came from the fleet tier. */
  tierHit?: boolean | undefined;
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
