import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CacheError, ErrorCodes } from '../errors.js';
import { findProjectConfig, userConfigPath } from './paths.js';
import type { ResolveContext } from './resolve.js';
import type { ConfigSourceKind } from './types.js';

/**
 * Where the config file is and reading it, without validating it (load.ts validates): the search
 * order, the context paths resolve against, and the read with its size bound. Needs no schema library.
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

export function contextOf(opts: LoadOptions): Omit<ResolveContext, 'source'> {
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

export function readConfigFile(file: string, kind: ConfigFileSourceKind): string | null {
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
