import type { Log } from '../logger.js';

/** The cache logs through the one logger interface (pino's argument order); this one drops everything. */
export const NOOP_LOGGER: Log = { info() {}, warn() {}, error() {}, debug() {} };

/**
 * Points where a test (or tracer) may observe progress; the hook runs synchronously.
 * 'linked': admit built the tree under tmp/; 'published': admit renamed it into snapshots/, index not yet
 * written; 'evict-indexed': evict committed its index transaction, files not yet removed.
 */
export type CacheStage = 'linked' | 'published' | 'evict-indexed';

export type OnStage = (stage: CacheStage, key: string) => void;
