import type { Readable } from 'node:stream';
import type { S3OriginConfig } from '../../config/types.js';
import { CacheError, ErrorCodes } from '../../errors.js';
import type { Log } from '../../logger.js';

/**
 * The fleet tier: a content-addressed blob store on an S3-compatible bucket, shared by many runners.
 *
 * Object layout (all keys under the configured prefix):
 *   blobs/sha256/<hex>               the blob; metadata sha256=<hex>, last-read=<ISO time>
 *   git-sha1/<hex>                   alias: body is the sha256 hex of the blob whose git SHA-1 is <hex>
 *   listings/<repo>/<commit>.json    a listing (JSON)
 *   refs/<repo>/<revision>           a commit (JSON string)
 * Nothing read from the tier is trusted by this module: blobs are verified by the caller against their
 * key, aliases against the listing's git SHA-1, and refs/listings are used only with trustMetadata.
 */

export interface TierProbe {
  reachable: boolean;
  /** Why the store is not reachable or not usable (names the endpoint and bucket). */
  error?: string;
  /** The store refuses a PUT with If-None-Match: * over an existing key (AWS, MinIO, R2, moto); Swift 2.30 ignores it. */
  conditionalPut: boolean;
}

export interface TierBlobHead {
  size: number;
  /** From the last-read metadata; null when the object has none (or it does not parse). */
  lastReadMs: number | null;
}

export interface TierBlobListing {
  sha256: string;
  size: number;
  lastReadMs: number | null;
  lastModifiedMs: number;
}

export interface TierOpenedBlob {
  stream: Readable;
  /** Byte offset the stream starts at. */
  offset: number;
  /** Total size of the blob. */
  total: number;
}

export interface TierStore {
  readonly config: S3OriginConfig;
  /** Reachability and store quirks; the first successful answer is cached. */
  probe(signal?: AbortSignal): Promise<TierProbe>;
  headBlob(sha256: string, signal?: AbortSignal): Promise<TierBlobHead | null>;
  /** null: no such blob. The stream starts at `offset` (a Range read). */
  openBlob(sha256: string, offset: number, signal?: AbortSignal): Promise<TierOpenedBlob | null>;
  /**
   * Stores a blob whose bytes the caller has verified. `body` is called once per attempt (multipart
   * above a threshold). 'exists': the key was already there and nothing was written.
   */
  putBlob(sha256: string, size: number, body: () => Readable, signal?: AbortSignal): Promise<'stored' | 'exists'>;
  /** Refreshes the last-read metadata of a blob to now (the caller throttles this). */
  touchBlob(sha256: string): Promise<void>;
  /** The sha256 an alias names, or null when there is none (or its body is not a sha256 hex). Untrusted. */
  getAlias(gitSha1: string): Promise<string | null>;
  putAlias(gitSha1: string, sha256: string): Promise<void>;
  /** JSON at a key relative to the prefix (listings/..., refs/...); null when absent. Untrusted. */
  getJson(key: string): Promise<unknown>;
  putJson(key: string, value: unknown): Promise<void>;
  /** Every blob under blobs/sha256/, with its metadata (one HEAD per blob for last-read). */
  listBlobs(signal?: AbortSignal): AsyncIterable<TierBlobListing>;
  /** Deletes blobs by sha256; returns how many were deleted. */
  deleteBlobs(sha256s: readonly string[]): Promise<number>;
  /** Stops the client's sockets. */
  close(): void;
}

export interface TierStoreDeps {
  logger?: Pick<Log, 'debug' | 'info' | 'warn'>;
  clock?: () => number;
}

export function createTierStore(config: S3OriginConfig, deps: TierStoreDeps = {}): TierStore {
  void deps;
  const notYet = (): never => {
    throw new CacheError(ErrorCodes.INTERNAL, `the s3 tier ${config.bucket} is not implemented yet`);
  };
  return {
    config,
    probe: async () => notYet(),
    headBlob: async () => notYet(),
    openBlob: async () => notYet(),
    putBlob: async () => notYet(),
    touchBlob: async () => notYet(),
    getAlias: async () => notYet(),
    putAlias: async () => notYet(),
    getJson: async () => notYet(),
    putJson: async () => notYet(),
    listBlobs: () => notYet(),
    deleteBlobs: async () => notYet(),
    close: () => {},
  };
}
