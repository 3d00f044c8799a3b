import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CacheError, ErrorCodes } from '../errors.js';
import { configErrorMap, formatIssues, toConfigIssues } from './issues.js';
import { parseJsonText } from './jsonText.js';
import { findProjectConfig, userConfigPath } from './paths.js';
import { resolveConfig, type ResolveContext } from './resolve.js';
import { configFileSchema } from './schema.js';
import type { ConfigSourceKind, ResolvedConfig } from './types.js';

/**
 * Finding, reading and validating cache-config.json. Search order: `--config` (configPath), then
 * VOCORIZE_CACHE_CONFIG, then the nearest cache-config.json in the current directory or a parent (a
 * repository's own config, found by callers that carry no environment: cron, Xcode, CI), then the per-user
 * file; else built-in defaults. A file named by the flag or the env variable must exist; the others are
 * optional. Every failure is CacheError(E_CONFIG), not
 * retryable, its message naming the file and the field.
 */

export interface LoadOptions {
  /** The `--config` flag; relative to `cwd`. */
  configPath?: string;
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Default process.platform. */
  platform?: NodeJS.Platform;
  /** Default $HOME of `env`, else os.homedir(). */
  home?: string;
  /** Base of relative paths given on the command line or in env variables. Default process.cwd(). */
  cwd?: string;
}

export type ConfigFileSourceKind = Exclude<ConfigSourceKind, 'defaults'>;

/** A config file is at most this large. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

function contextOf(opts: LoadOptions): Omit<ResolveContext, 'source'> {
  const env = opts.env ?? process.env;
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const home = path.resolve(cwd, opts.home ?? (env.HOME || os.homedir()));
  return { env, platform: opts.platform ?? process.platform, home, cwd, readTextFile: readTokenFile };
}

function readTokenFile(file: string): string | null {
  try {
    const st = fs.statSync(file);
    if (!st.isFile() || st.size > 64 * 1024) return null;
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

export interface ConfigCandidate {
  kind: ConfigFileSourceKind;
  path: string;
  /** Why this file is a candidate, for `config path`. */
  why: string;
}

/**
 * Where the config is looked for, in order (`config path`). The flag and env entries appear only when
 * given; the project entry only when a cache-config.json exists in the current directory or a parent.
 */
export function configSearchPath(opts: LoadOptions = {}): ConfigCandidate[] {
  const ctx = contextOf(opts);
  const out: ConfigCandidate[] = [];
  if (opts.configPath) out.push({ kind: 'flag', path: path.resolve(ctx.cwd, opts.configPath), why: 'given by --config' });
  const fromEnv = ctx.env.VOCORIZE_CACHE_CONFIG;
  if (fromEnv) out.push({ kind: 'env', path: path.resolve(ctx.cwd, fromEnv), why: 'given by VOCORIZE_CACHE_CONFIG' });
  const project = findProjectConfig(ctx.cwd, isRegularFile);
  if (project) out.push({ kind: 'project', path: project, why: `the nearest cache-config.json in ${ctx.cwd} or a parent` });
  out.push({ kind: 'user', path: userConfigPath(ctx.platform, ctx.env, ctx.home), why: 'the per-user config (optional)' });
  return out;
}

function isRegularFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function describeErrno(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'a parent is not a directory';
  return code ?? String(err);
}

function readConfigFile(file: string, kind: ConfigFileSourceKind): string | null {
  const givenBy =
    kind === 'flag' ? 'given by --config' : kind === 'env' ? 'given by VOCORIZE_CACHE_CONFIG' : kind === 'project' ? 'found in a parent directory' : 'the per-user config';
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((kind === 'user' || kind === 'project') && (code === 'ENOENT' || code === 'ENOTDIR')) return null;
    throw new CacheError(ErrorCodes.CONFIG, `${file}: cannot read the config file ${givenBy}: ${describeErrno(err)}`, {
      details: { file },
    });
  }
  if (!st.isFile()) {
    throw new CacheError(ErrorCodes.CONFIG, `${file}: the config file ${givenBy} is not a regular file`, { details: { file } });
  }
  if (st.size > MAX_CONFIG_BYTES) {
    throw new CacheError(ErrorCodes.CONFIG, `${file}: the config file is larger than ${MAX_CONFIG_BYTES} bytes`, { details: { file } });
  }
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CacheError(ErrorCodes.CONFIG, `${file}: cannot read the config file ${givenBy}: ${describeErrno(err)}`, {
      details: { file },
    });
  }
}

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

const SECRET_ENV_NAME = /token|secret|passw|api_?key|credential/i;

/**
 * The config safe to print: origin tokens become "***" (null stays null), and so do benchmark suite env
 * values whose names look secret (TOKEN, SECRET, PASSWORD, API_KEY, CREDENTIAL).
 */
export function redactConfig(c: ResolvedConfig): ResolvedConfig {
  const suites: ResolvedConfig['benchmark']['suites'] = {};
  for (const [name, s] of Object.entries(c.benchmark.suites)) {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.env)) env[k] = SECRET_ENV_NAME.test(k) ? '***' : v;
    suites[name] = { ...s, env };
  }
  return {
    ...c,
    source: { ...c.source },
    origins: c.origins.map((o) => (o.type === 'huggingface' ? { ...o, token: o.token === null ? null : '***' } : { ...o })),
    models: { ...c.models },
    download: { ...c.download },
    accounting: { ...c.accounting },
    log: { ...c.log },
    metrics: { ...c.metrics },
    hubMirror: c.hubMirror ? { ...c.hubMirror } : null,
    benchmark: { suites },
  };
}
