export interface CacheLogger {
  info(msg: string, obj?: object): void;
  warn(msg: string, obj?: object): void;
  error(msg: string, obj?: object): void;
  debug(msg: string, obj?: object): void;
}

export const NOOP_LOGGER: CacheLogger = { info() {}, warn() {}, error() {}, debug() {} };

/**
 * Points where a test (or tracer) may observe progress; the hook runs synchronously.
 * 'linked': admit built the tree under tmp/; 'published': admit renamed it into snapshots/, index not yet
 * written; 'evict-indexed': evict committed its index transaction, files not yet removed.
 */
export type CacheStage = 'linked' | 'published' | 'evict-indexed';

export type OnStage = (stage: CacheStage, key: string) => void;
