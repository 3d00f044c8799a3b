import type { ResolvedConfig, S3OriginConfig } from '../config/types.js';
import type { TierLive } from '../ipc/accountingResults.js';
import type { Log } from '../logger.js';
import { createCircuitBreaker, type CircuitBreaker } from '../origin/s3/circuitBreaker.js';
import { createTierMetadataOrigin, listingJson, listingKey, refKey, type TierMetadataStore } from '../origin/s3/tierMetadata.js';
import { createTierSource, type TierReadStore, type TierSource } from '../origin/s3/tierSource.js';
import { createUploadQueue, type TierWriteStore, type UploadBatch, type UploadQueue } from '../origin/s3/uploadQueue.js';
import type { Listing, Origin } from '../origin/types.js';
import type { BlobRef } from '../store/types.js';

/** The object store as the fleet tier uses it (src/origin/s3/tierStore.ts's TierStore fits). */
export type FleetStore = TierReadStore & TierWriteStore & TierMetadataStore & { close(): void };

/** The fleet tier of one daemon: reads before the origins, background uploads after them, counters. */
export interface FleetTier {
  readonly name: string;
  readonly mode: S3OriginConfig['mode'];
  /** Tried once per file before the origin. */
  readonly reader: TierSource;
  /** With trustMetadata: resolves refs and listings from the tier when every origin is unreachable. */
  readonly fallback: Origin | null;
  /**
   * After a fetch from `origin` (not the tier): a read-write tier is offered the blobs the origin sent,
   * then their git-SHA-1 aliases, the listing and the ref. Never waits; a read-only tier does nothing.
   */
  afterFetch(listing: Listing, origin: Origin, res: { files: Array<{ path: string; sha256: string }>; fromOrigin: BlobRef[] }): void;
  live(): TierLive;
  /** Resolves when no upload is waiting or running. */
  idle(): Promise<void>;
  close(): void;
}

export interface FleetTierTuning {
  /** Consecutive failed reads that open the breaker. Default 3. */
  failureThreshold: number;
  /** How long an open breaker skips the tier before one trial read. Default 30 s. */
  coolDownMs: number;
  /** One read's open (or alias lookup) must answer within this. Default 5 s. */
  openTimeoutMs: number;
  /** A read that receives no byte for this long fails. Default 10 s. */
  stallTimeoutMs: number;
  /** Blobs uploading at once. Default 2. */
  uploadConcurrency: number;
}

const DEFAULT_TUNING: FleetTierTuning = { failureThreshold: 3, coolDownMs: 30_000, openTimeoutMs: 5_000, stallTimeoutMs: 10_000, uploadConcurrency: 2 };
const DAY_MS = 86_400_000;

export interface FleetTierDeps {
  /** Makes the store client (only called when the config has an s3 entry). */
  openStore: (config: S3OriginConfig) => FleetStore;
  /** The local file of a stored blob (for uploads). */
  blobFile: (sha256: string) => string;
  clock: () => number;
  logger?: Pick<Log, 'warn' | 'info'>;
  tuning?: Partial<FleetTierTuning>;
}

/** The first `s3` entry of the config's origins, or null. */
export function tierConfigOf(config: Pick<ResolvedConfig, 'origins'>): S3OriginConfig | null {
  for (const o of config.origins) if (o.type === 's3') return o;
  return null;
}

/** `s3://<bucket>[/<prefix>]`. */
export function tierName(c: Pick<S3OriginConfig, 'bucket' | 'prefix'>): string {
  return `s3://${c.bucket}${c.prefix ? `/${c.prefix}` : ''}`;
}

/** The fleet tier the config names (its first s3 origin), or null when it names none. */
export function fleetTierFromConfig(config: Pick<ResolvedConfig, 'origins'>, deps: FleetTierDeps): FleetTier | null {
  const c = tierConfigOf(config);
  return c ? createFleetTier(c, deps) : null;
}

export function createFleetTier(c: S3OriginConfig, deps: FleetTierDeps): FleetTier {
  const t = { ...DEFAULT_TUNING, ...deps.tuning };
  const name = tierName(c);
  const store = deps.openStore(c);
  const breaker: CircuitBreaker = createCircuitBreaker({ failureThreshold: t.failureThreshold, coolDownMs: t.coolDownMs, clock: deps.clock });
  const reader = createTierSource({
    store,
    name,
    objectOf: (sha256) => `${name}/blobs/sha256/${sha256}`,
    breaker,
    openTimeoutMs: t.openTimeoutMs,
    stallTimeoutMs: t.stallTimeoutMs,
    // A read-only runner cannot refresh last-read times: no HEAD for them either.
    touchEveryMs: c.mode === 'read-only' ? Number.POSITIVE_INFINITY : DAY_MS,
    clock: deps.clock,
    logger: deps.logger,
  });
  const uploads: UploadQueue | null =
    c.mode === 'read-write'
      ? createUploadQueue({
          store,
          name,
          maxBlobs: c.uploadQueue.maxBlobs,
          maxBytesInFlight: c.uploadQueue.maxBytesInFlight,
          concurrency: t.uploadConcurrency,
          blobFile: deps.blobFile,
          logger: deps.logger,
        })
      : null;
  const fallback = c.trustMetadata ? createTierMetadataOrigin({ name, store }) : null;

  return {
    name,
    mode: c.mode,
    reader,
    fallback,
    afterFetch(listing, origin, res) {
      if (!uploads || origin === fallback) return;
      const stored = new Map(res.files.map((f) => [f.path, f.sha256]));
      const batch: UploadBatch = {
        blobs: res.fromOrigin.map((b) => ({ sha256: b.sha256, size: b.size })),
        aliases: listing.files.flatMap((f) => {
          const sha256 = stored.get(f.path);
          return !f.sha256 && f.gitSha1 && sha256 ? [{ gitSha1: f.gitSha1, sha256 }] : [];
        }),
        json: [
          { key: listingKey(listing.ref, listing.commit), value: listingJson(listing) },
          ...(listing.ref.revision !== listing.commit ? [{ key: refKey(listing.ref.repo, listing.ref.revision), value: listing.commit }] : []),
        ],
      };
      uploads.offer(batch);
    },
    live() {
      const r = reader.counters();
      const u = uploads?.counters();
      return {
        name,
        mode: c.mode,
        breaker: breaker.state(),
        failures: r.failures,
        skippedOpen: r.skippedOpen,
        misses: r.misses,
        poisoned: r.poisoned,
        poisonReports: reader.poisonReports().map((p) => p.message),
        uploaded: u?.uploaded ?? 0,
        uploadedBytes: u?.uploadedBytes ?? 0,
        uploadExisted: u?.existed ?? 0,
        uploadSkippedFull: u?.skippedFull ?? 0,
        uploadSkippedGone: u?.skippedGone ?? 0,
        uploadFailed: u?.failed ?? 0,
        uploadPending: u?.pending ?? 0,
      };
    },
    idle: () => uploads?.idle() ?? Promise.resolve(),
    close() {
      uploads?.close();
      try {
        store.close();
      } catch {
        // closing the client's sockets cannot fail the daemon's shutdown
      }
    },
  };
}
