import { configSearchPath, contextOf, readConfigFile, type LoadOptions } from './configSource.js';
import { parseJsonText } from './jsonText.js';
import { quickParseConfigFile } from './quickParse.js';
import { resolveConfig } from './resolve.js';
import type { ResolvedConfig } from './types.js';

/**
 * `loadConfig` (load.ts) without the schema library, for commands that must start fast: the same search,
 * read and resolution, with quickParse.ts in place of the schema. Returns null when it is not sure (a
 * file quickParse does not accept, invalid JSON): the caller then calls `loadConfig`, which gives the
 * same result or words the error. Whatever it throws, `loadConfig` throws too for the same inputs (the
 * read and the resolution are the same functions, called in the same order).
 */
export function quickLoadConfig(opts: LoadOptions = {}): ResolvedConfig | null {
  const ctx = contextOf(opts);
  for (const candidate of configSearchPath(opts)) {
    const text = readConfigFile(candidate.path, candidate.kind);
    if (text === null) continue;
    const json = parseJsonText(text);
    if (!json.ok) return null;
    const file = quickParseConfigFile(json.value);
    if (!file) return null;
    return resolveConfig(file, { ...ctx, source: { kind: candidate.kind, path: candidate.path } });
  }
  return resolveConfig({}, { ...ctx, source: { kind: 'defaults', path: null } });
}
