/** Results of the fleet-tier methods (tierStatus, tierGc, tierPush). Plain JSON data. */

export interface TierStatusResult {
  /** "s3 tier <endpoint> bucket <bucket> [prefix <prefix>/]". */
  tier: string;
  endpoint: string | null;
  bucket: string;
  prefix: string;
  mode: 'read-write' | 'read-only';
  trustMetadata: boolean;
  reachable: boolean;
  /** Why it is not reachable (absent when it is). */
  error?: string;
  /** The store refuses a conditional PUT over an existing key (detected by trying it; false on a read-only tier). */
  conditionalPut: boolean;
  /** Every object under the prefix (blobs, aliases, listings, refs); null when unreachable. */
  objects: number | null;
  bytes: number | null;
  /** Blobs only. */
  blobs: number | null;
  blobBytes: number | null;
}

export interface TierGcItem {
  sha256: string;
  bytes: number;
  /** Last read by any runner (object metadata), or null when no runner recorded a read. */
  lastReadMs: number | null;
  lastModifiedMs: number;
  /** Which time decided its age: the last-read metadata, else the object's LastModified. */
  basis: 'last-read' | 'last-modified';
}

export interface TierGcResult {
  tier: string;
  dryRun: boolean;
  olderThanMs: number;
  /** Blobs unread since this time (ms since the epoch) were (or, dry run, would be) deleted. */
  cutoffMs: number;
  scanned: number;
  deleted: TierGcItem[];
  freedBytes: number;
}

export interface TierPushModel {
  model: string;
  blobs: number;
  uploaded: number;
  /** Already in the tier. */
  skipped: number;
  uploadedBytes: number;
}

export interface TierPushCounts {
  uploaded: number;
  skipped: number;
}

export interface TierPushResult {
  tier: string;
  models: TierPushModel[];
  /** Unique blobs over all models (a blob shared by two models is pushed once). */
  blobs: TierPushCounts & { uploadedBytes: number };
  aliases: TierPushCounts;
  listings: TierPushCounts;
  refs: TierPushCounts;
}
