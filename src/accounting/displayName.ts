/**
 * How people see a model in stats, reports and metric labels. The stored events and every --json
 * `model` field keep the full snapshot key (`<repo>[:<subfolder>]@<40-hex commit>`); the display name
 * is the config alias that resolves to that snapshot, else `<repo>[:<subfolder>]@<7-hex commit>`.
 */

/** The one model name under which requests that never resolved to a snapshot are accounted. */
export const UNRESOLVED_MODEL = '(unresolved)';

/** Snapshot key -> display name. */
export type DisplayNames = (model: string) => string;

const KEY_RE = /^(.+)@([0-9a-f]{40})$/;

/** `<repo>[:<subfolder>]@<commit>` with the commit cut to 7 hex digits; anything else unchanged. */
export function shortModelKey(key: string): string {
  const m = KEY_RE.exec(key);
  return m ? `${m[1]}@${m[2]!.slice(0, 7)}` : key;
}

/**
 * Display names from the aliases that currently resolve to a snapshot (snapshot key -> alias). When
 * several aliases name one snapshot the alphabetically first is shown.
 */
export function displayNames(aliasOfKey: ReadonlyMap<string, string> = new Map()): DisplayNames {
  return (model) => aliasOfKey.get(model) ?? shortModelKey(model);
}

/** The snapshot key -> alias map for `displayNames`, from alias -> snapshot key (null: not resolved yet). */
export function aliasesByKey(keyOfAlias: Iterable<[alias: string, key: string | null]>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [alias, key] of [...keyOfAlias].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (key !== null && !out.has(key)) out.set(key, alias);
  }
  return out;
}
