import type { ErrorShape } from '../errors.js';

/**
 * Results of the methods that serve, list and manage cached models (hello, get, release, warm, list,
 * status, pin, unpin, evict, shutdown). Plain JSON data: what the daemon sends is what a client reads.
 */

export interface HelloResult {
  /** The protocol version the daemon speaks (PROTOCOL_VERSION). */
  protocol: 1;
  /** The daemon's package version. */
  version: string;
  pid: number;
  socket: string;
}

export interface Lease {
  id: string;
  /** Epoch ms after which the daemon may drop the lease (unless released earlier). */
  expiresAt: number;
}

export interface GetResult {
  /** Absolute path of the model's snapshot folder. */
  path: string;
  hit: boolean;
  /** The snapshot key (`<repo>[:<subfolder>]@<commit>`). */
  model: string;
  /** The canonical reference that was asked for. */
  ref: string;
  commit: string;
  files: number;
  bytes: number;
  /** Null when the request asked for `lease: false`. */
  lease: Lease | null;
}

/** A lease as `leases` lists it. */
export interface LeaseView {
  id: string;
  /** The snapshot key of the leased model. */
  model: string;
  /** Its display name (alias, else `<repo>[:<subfolder>]@<7-hex commit>`). */
  name: string;
  holder: {
    /** The client label the `get` carried, or null. */
    client: string | null;
    /** The connection holding it (it ends when that connection closes); null for a `leaseScope: 'ttl'` lease. */
    connection: number | null;
    /** 'connection': ends on release, disconnect or TTL; 'ttl': ends on release or TTL only. */
    scope: 'connection' | 'ttl';
  };
  /** Epoch ms it was taken. */
  takenAt: number;
  /** Milliseconds since it was taken. */
  ageMs: number;
  /** Epoch ms it ends unless released earlier. */
  expiresAt: number;
}

export interface LeasesResult {
  /** Unexpired leases, oldest first. */
  leases: LeaseView[];
}

export interface ReleaseResult {
  /** False when the lease was unknown (already released, expired or never existed). */
  released: boolean;
}

/** One model of a warm request: fetched or found (`ok: true`), or the error that stopped it. */
export type WarmItem =
  | { model: string; ok: true; hit: boolean; path: string; bytes: number }
  | { model: string; ok: false; error: ErrorShape };

export interface WarmResult {
  /** In the order the models were asked for (or the config's aliases, when none were given). */
  results: WarmItem[];
}

/** A cached model as list shows it. */
export interface ModelView {
  /** The snapshot key (`<repo>[:<subfolder>]@<commit>`). */
  model: string;
  /** What people read: the config alias resolving to this snapshot, else `<repo>[:<subfolder>]@<7-hex commit>`. */
  name: string;
  repo: string;
  subfolder: string | null;
  commit: string;
  /** Absolute snapshot directory. */
  path: string;
  /** The origin it was fetched from. */
  origin: string;
  bytes: number;
  files: number;
  createdAt: number;
  lastAccess: number;
  hits: number;
  pinned: boolean;
  /** A client holds a lease on it (it cannot be evicted). */
  leased: boolean;
  state: 'ready' | 'damaged';
}

export interface ListResult {
  models: ModelView[];
}

export interface StatusResult {
  daemon: { running: boolean; pid: number; version: string; socket: string; uptimeMs: number };
  cacheDir: string;
  usedBytes: number;
  reservedBytes: number;
  limitBytes: number;
  /** Fraction of limitBytes that eviction frees down to. */
  lowWatermark: number;
  models: number;
  blobs: number;
  pinned: number;
  damaged: number;
  leases: number;
  downloadsInFlight: number;
  offline: boolean;
  /** One line per origin, in order: `huggingface <endpoint>` or `directory <path>`. */
  origins: string[];
  /** The Hub-compatible HTTP endpoint (`http://127.0.0.1:<port>`), or null when it is off. */
  hubUrl: string | null;
  /** The file holding the endpoint's local secret (send it as HF_TOKEN), or null when the endpoint is off. */
  hubSecretFile: string | null;
  hits: number;
  misses: number;
  errors: number;
  /** hits / (hits + misses); null before the first request. */
  hitRate: number | null;
  /** The last verify run; null when the cache was never verified. */
  lastVerify: { ts: number; mode: 'full' | 'quick'; ok: boolean; corrupted: number; missing: number; orphans: number } | null;
  /**
   * Present when this daemon found index.db missing, damaged or of an unknown schema at start and rebuilt
   * it from the store: when, why, where the broken file(s) went, and what was found (damaged models
   * re-fetch only their missing files on the next get).
   */
  index?: { rebuiltAt: number; reason: string; movedAside: string[]; models: number; files: number; damaged: number };
  /**
   * Present when the index cannot be read right now (SQLite says it is damaged): the answer comes from
   * memory (request counts 0, lastVerify null) and the daemon is restarting to rebuild the index.
   */
  indexDamaged?: string;
  /** Present when this daemon found accounting.db damaged at start and recreated it empty (history lost). */
  accountingReset?: { at: number; movedAside: string[] };
}

/** pin and unpin. */
export interface PinResult {
  /** The snapshot key. */
  model: string;
  pinned: boolean;
}

export interface EvictResult {
  /** The snapshot key. */
  model: string;
  freedBytes: number;
}

export interface ShutdownResult {
  stopping: true;
}
