import type { ModelRecord } from './types.js';

/**
 * The one ready model cached for a repo and subfolder, or null when there is none or more than one.
 * For a branch whose ref is unknown (an index rebuilt from the store records no branch) while no origin
 * can resolve it: a single cached commit is the only answer the disk can prove; two are a guess.
 */
export function soleCachedModel(models: Iterable<ModelRecord>, repo: string, subfolder: string | null): ModelRecord | null {
  let found: ModelRecord | null = null;
  for (const m of models) {
    if (m.repo !== repo || m.subfolder !== subfolder || m.state !== 'ready') continue;
    if (found) return null;
    found = m;
  }
  return found;
}
