import { clean } from './clean.js';
import { importHfCache } from './importHfCache.js';
import { optimize } from './optimize.js';
import { restore } from './restore.js';
import type {
  CleanOptions,
  CleanResult,
  ImportResult,
  MaintenanceDeps,
  OptimizeResult,
  RestoreOptions,
  RestoreResult,
  VerifyOptions,
  VerifyResult,
} from './types.js';
import { verify } from './verify.js';

export type {
  CleanOptions,
  CleanResult,
  ImportResult,
  MaintenanceDeps,
  OptimizeResult,
  RestoreOptions,
  RestoreResult,
  VerifyOptions,
  VerifyResult,
} from './types.js';
export { STALE_MS } from './types.js';

export interface Maintenance {
  verify(o: VerifyOptions): Promise<VerifyResult>;
  clean(o: CleanOptions): Promise<CleanResult>;
  optimize(): Promise<OptimizeResult>;
  restore(o: RestoreOptions): Promise<RestoreResult>;
  importHfCache(o: { from: string }): Promise<ImportResult>;
}

/**
 * The maintenance commands (verify, clean, optimize, restore, import) over one open cache. The daemon
 * calls them from its handlers; the CLI calls them directly while it holds the cache lock. The cache
 * must come from openCache (they use its maintenance API).
 */
export function maintenance(deps: MaintenanceDeps): Maintenance {
  return {
    verify: (o) => verify(deps, o),
    clean: (o) => clean(deps, o),
    optimize: () => optimize(deps),
    restore: (o) => restore(deps, o),
    importHfCache: (o) => importHfCache(deps, o),
  };
}
