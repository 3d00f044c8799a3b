import path from 'node:path';
import { CacheError, ErrorCodes } from '../errors.js';
import { configErrorMap, formatIssues, toConfigIssues } from './issues.js';
import { parseJsonText } from './jsonText.js';
import { configSearchPath, contextOf, readConfigFile, type ConfigFileSourceKind, type LoadOptions } from './configSource.js';
import { resolveConfig, type ResolveContext } from './resolve.js';
import { configFileSchema } from './schema.js';
import type { ResolvedConfig } from './types.js';

export { redactConfig } from './redact.js';
export { configSearchPath, MAX_CONFIG_BYTES, type ConfigCandidate, type ConfigFileSourceKind, type LoadOptions } from './configSource.js';

/**
 * Finding, reading and validating cache-config.json. Search order: `--config` (configPath), then
 * VOCORIZE_CACHE_CONFIG, then the nearest cache-config.json in the current directory or a parent (a
 * repository's own config, found by callers that carry no environment: cron, Xcode, CI), then the per-user
 * file; else built-in defaults. A file named by the flag or the env variable must exist; the others are
 * optional. Every failure is CacheError(E_CONFIG), not
 * retryable, its message naming the file and the field.
 */

function parseAndResolve(text: string, file: string, kind: ConfigFileSourceKind, ctx: Omit<ResolveContext, 'source'>): ResolvedConfig {
  const json = parseJsonText(text);
  if (!json.ok) {
    throw new CacheError(ErrorCodes.CONFIG, `${file}:${json.line}:${json.column}: invalid JSON: ${json.message}`, {
      details: { file, line: json.line, column: json.column },
    });
  }
  const parsed = configFileSchema.safeParse(json.value, { error: configErrorMap, reportInput: true });
  if (!parsed.success) {
    const issues = toConfigIssues(parsed.error.issues);
    throw new CacheError(ErrorCodes.CONFIG, formatIssues(file, issues), {
      details: { file, field: issues[0]?.field, issues },
    });
  }
  return resolveConfig(parsed.data, { ...ctx, source: { kind, path: file } });
}

/** The effective config. Throws CacheError(E_CONFIG) naming the file and the field. */
export function loadConfig(opts: LoadOptions = {}): ResolvedConfig {
  const ctx = contextOf(opts);
  for (const candidate of configSearchPath(opts)) {
    const text = readConfigFile(candidate.path, candidate.kind);
    if (text !== null) return parseAndResolve(text, candidate.path, candidate.kind, ctx);
  }
  return resolveConfig({}, { ...ctx, source: { kind: 'defaults', path: null } });
}

/**
 * Validates and resolves config text already read from `file` (the watcher's reload). The source kind is
 * inferred by matching `file` against the search path ('flag' when it is neither the env nor the user file).
 */
export function parseConfigText(text: string, file: string, opts: LoadOptions = {}): ResolvedConfig {
  const ctx = contextOf(opts);
  const abs = path.resolve(ctx.cwd, file);
  const match = configSearchPath({ ...opts, configPath: undefined }).find((c) => c.path === abs);
  return parseAndResolve(text, abs, match?.kind ?? 'flag', ctx);
}
