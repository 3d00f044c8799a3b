import type { S3OriginConfig } from '../config/types.js';
import type { Log } from '../logger.js';
import type { TierStore } from '../origin/s3/tierStore.js';
import type { FleetStore } from './fleetTier.js';

/**
 * The tier's store client, made on first use: the module that loads the S3 SDK is imported only when a
 * request actually reaches the tier, never at start-up and never on paths that do not touch the tier.
 */
export function lazyTierStore(config: S3OriginConfig, deps: { logger?: Pick<Log, 'debug' | 'info' | 'warn'>; clock?: () => number }): FleetStore {
  let made: Promise<TierStore> | null = null;
  let store: TierStore | null = null;
  let closed = false;
  const get = (): Promise<TierStore> =>
    (made ??= import('../origin/s3/tierStore.js').then((m) => {
      store = m.createTierStore(config, deps);
      if (closed) store.close();
      return store;
    }));
  return {
    openBlob: async (sha256, offset, signal) => (await get()).openBlob(sha256, offset, signal),
    getAlias: async (gitSha1) => (await get()).getAlias(gitSha1),
    headBlob: async (sha256, signal) => (await get()).headBlob(sha256, signal),
    touchBlob: async (sha256) => (await get()).touchBlob(sha256),
    putBlob: async (sha256, size, body, signal) => (await get()).putBlob(sha256, size, body, signal),
    putAlias: async (gitSha1, sha256) => (await get()).putAlias(gitSha1, sha256),
    putJson: async (key, value) => (await get()).putJson(key, value),
    getJson: async (key) => (await get()).getJson(key),
    close() {
      closed = true;
      store?.close();
    },
  };
}
