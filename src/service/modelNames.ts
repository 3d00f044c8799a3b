import { aliasesByKey, displayNames, type DisplayNames } from '../accounting/displayName.js';
import type { OpenedCache } from '../cache/maintenanceApi.js';
import { canonicalRef, parseModelRef } from '../origin/modelRef.js';

/** The snapshot key a reference's remembered commit names (`<repo>[:<subfolder>]@<commit>`). */
export function snapshotKeyOf(r: { repo: string; subfolder: string | null; commit: string }): string {
  return `${r.repo}${r.subfolder ? `:${r.subfolder}` : ''}@${r.commit}`;
}

/**
 * Display names for stats, reports and metrics: each config alias whose reference the cache has
 * resolved names that snapshot; an alias never resolved (or one that does not parse) names nothing.
 * Memory lookups only (no I/O, no network).
 */
export function modelNames(cache: Pick<OpenedCache, 'lookup'>, aliases: Record<string, string>): DisplayNames {
  const keyOf = (alias: string): string | null => {
    try {
      const look = cache.lookup(canonicalRef(parseModelRef(alias, aliases)));
      if (look.hit) return look.model.key;
      return look.ref ? snapshotKeyOf(look.ref) : null;
    } catch {
      return null;
    }
  };
  return displayNames(aliasesByKey(Object.keys(aliases).map((a): [string, string | null] => [a, keyOf(a)])));
}
