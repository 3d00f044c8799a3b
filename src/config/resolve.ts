import path from 'node:path';
import { CacheError, ErrorCodes } from '../errors.js';
import { cacheDirProblem } from './cacheDirCheck.js';
import { formatIssues } from './issueText.js';
import { defaultCacheDir, defaultSocketPath, expandPath, hfTokenPath, socketPathLimit } from './paths.js';
import type { ConfigFile } from './schema.js';
import type { BenchSuiteConfig, ConfigSourceKind, OriginConfig, ResolvedConfig } from './types.js';
import { showValue } from './units.js';

/** Built-in values for everything the file may leave out (paths excepted: they depend on the OS). */
export const DEFAULTS = {
  maxSize: 5e9,
  lowWatermark: 0.9,
  endpoint: 'https://huggingface.co',
  download: {
    concurrency: 4,
    perOrigin: 4,
    retries: 4,
    stallTimeoutMs: 30_000,
    retryBaseMs: 500,
    retryMaxMs: 30_000,
    minFreeBytes: 100e6,
  },
  leaseTtlMs: 30 * 60_000,
  revalidateAfterMs: 24 * 3_600_000,
  accounting: { retentionMs: 90 * 86_400_000, flushIntervalMs: 250, flushBatch: 256 },
  logLevel: 'info',
  benchRuns: 3,
  frameLimitBytes: 1024 * 1024,
  s3: { region: 'us-east-1', uploadMaxBlobs: 64, uploadMaxBytesInFlight: 2e9 },
} as const;

export interface ResolveContext {
  source: { kind: ConfigSourceKind; path: string | null };
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  home: string;
  /** Base for relative paths in env variables (and in the file when there is none). */
  cwd: string;
  /** Reads a small text file (the HF token file); null when absent or unreadable. */
  readTextFile: (file: string) => string | null;
}

const ENV_WHERE = 'environment';

function fail(where: string, field: string, message: string, details: Record<string, unknown> = {}): never {
  throw new CacheError(ErrorCodes.CONFIG, formatIssues(where, [{ field, message }]), {
    details: { file: where === ENV_WHERE ? null : where, field, ...details },
  });
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** Env booleans as huggingface_hub reads them: 1/true/yes/on and 0/false/no/off, any case. */
function envFlag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const v = envValue(env, name);
  if (v === undefined) return undefined;
  const t = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(t)) return true;
  if (['0', 'false', 'no', 'off'].includes(t)) return false;
  return fail(ENV_WHERE, name, `expected 1 or 0 (true/false, yes/no, on/off), got ${showValue(v)}`);
}

function httpUrl(v: string): string | null {
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  } catch {
    return null;
  }
  return v.replace(/\/+$/, '');
}

/**
 * Applies defaults, env overrides, `~` expansion and path resolution to a validated file, and checks what
 * needs the whole picture (socket path length, retry bounds). Throws CacheError(E_CONFIG) naming the
 * file (or "environment") and the field. Reads nothing but the HF token file, through `ctx.readTextFile`,
 * and the metadata of the existing ancestors of the cache dir, the socket's folder and the log file's folder
 * (config/cacheDirCheck.ts: a dangling link or a pseudo-filesystem on the way is a config error).
 */
export function resolveConfig(file: ConfigFile, ctx: ResolveContext): ResolvedConfig {
  const where = ctx.source.path ?? 'built-in defaults';
  const baseDir = ctx.source.path ? path.dirname(ctx.source.path) : ctx.cwd;
  const { env, home } = ctx;

  const filePath = (field: string, p: string): string => {
    try {
      return expandPath(p, baseDir, home);
    } catch (err) {
      return fail(where, field, (err as Error).message);
    }
  };
  const envPath = (name: string): string | undefined => {
    const v = envValue(env, name);
    if (v === undefined) return undefined;
    if (v.includes('\0')) fail(ENV_WHERE, name, 'must not contain a NUL byte');
    try {
      return expandPath(v, ctx.cwd, home);
    } catch (err) {
      return fail(ENV_WHERE, name, (err as Error).message);
    }
  };

  const logFile = (p: string): string => {
    const issue = cacheDirProblem(path.dirname(p), ctx.platform, 'log.file');
    return issue ? fail(where, 'log.file', issue) : p;
  };

  const cacheDirFromEnv = envPath('VOCORIZE_CACHE_DIR');
  const cacheDir =
    cacheDirFromEnv ??
    (file.cacheDir !== undefined ? filePath('cacheDir', file.cacheDir) : defaultCacheDir(ctx.platform, env, home));
  const cacheDirIssue = cacheDirProblem(cacheDir, ctx.platform);
  if (cacheDirIssue) {
    fail(
      cacheDirFromEnv !== undefined ? ENV_WHERE : where,
      cacheDirFromEnv !== undefined ? 'VOCORIZE_CACHE_DIR (cacheDir)' : 'cacheDir',
      cacheDirIssue,
      { cacheDir },
    );
  }

  const socketFromEnv = envPath('VOCORIZE_CACHE_SOCKET');
  const socketPath =
    socketFromEnv ?? (file.socketPath !== undefined ? filePath('socketPath', file.socketPath) : defaultSocketPath(cacheDir));
  const limit = socketPathLimit(ctx.platform);
  const socketBytes = Buffer.byteLength(socketPath);
  if (socketBytes >= limit) {
    const derived = socketFromEnv === undefined && file.socketPath === undefined;
    fail(
      socketFromEnv !== undefined ? ENV_WHERE : where,
      socketFromEnv !== undefined ? 'VOCORIZE_CACHE_SOCKET (socketPath)' : 'socketPath',
      `${JSON.stringify(socketPath)} is ${socketBytes} bytes; a Unix socket path must be shorter than ${limit} bytes on ${ctx.platform}` +
        (derived ? ' (it defaults to <cacheDir>/run/daemon.sock: set socketPath or VOCORIZE_CACHE_SOCKET to a shorter path)' : ''),
      { limit, bytes: socketBytes },
    );
  }

  const socketDirIssue = cacheDirProblem(path.dirname(socketPath), ctx.platform, 'socketPath');
  if (socketDirIssue) {
    fail(
      socketFromEnv !== undefined ? ENV_WHERE : where,
      socketFromEnv !== undefined ? 'VOCORIZE_CACHE_SOCKET (socketPath)' : 'socketPath',
      socketDirIssue,
      { socketPath },
    );
  }

  const endpointFromEnv = envValue(env, 'HF_ENDPOINT');
  let defaultEndpoint: string = DEFAULTS.endpoint;
  if (endpointFromEnv !== undefined) {
    defaultEndpoint = httpUrl(endpointFromEnv) ?? fail(ENV_WHERE, 'HF_ENDPOINT', `expected an http(s) URL, got ${showValue(endpointFromEnv)}`);
  }

  let tokenFile: { path: string; token: string | null } | undefined;
  const envToken = (): { token: string; tokenSource: string } | null => {
    for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN']) {
      const t = envValue(env, name)?.trim();
      if (t) return { token: t, tokenSource: name };
    }
    if (!tokenFile) {
      const p = hfTokenPath(env, home, ctx.cwd);
      tokenFile = { path: p, token: ctx.readTextFile(p)?.trim() || null };
    }
    return tokenFile.token ? { token: tokenFile.token, tokenSource: tokenFile.path } : null;
  };

  const inputOrigins = file.origins ?? [{ type: 'huggingface' as const }];
  const origins: OriginConfig[] = inputOrigins.map((o, i) => {
    if (o.type === 'directory') return { type: 'directory', path: filePath(`origins[${i}].path`, o.path) };
    if (o.type === 's3') {
      return {
        type: 's3',
        endpoint: o.endpoint !== undefined ? o.endpoint.replace(/\/+$/, '') : null,
        bucket: o.bucket,
        prefix: (o.prefix ?? '').replace(/^\/+|\/+$/g, ''),
        region: o.region ?? DEFAULTS.s3.region,
        accessKeyId: o.accessKeyId ?? null,
        secretAccessKey: o.secretAccessKey ?? null,
        forcePathStyle: o.forcePathStyle ?? o.endpoint !== undefined,
        mode: o.mode ?? 'read-write',
        trustMetadata: o.trustMetadata ?? false,
        uploadQueue: {
          maxBlobs: o.uploadQueue?.maxBlobs ?? DEFAULTS.s3.uploadMaxBlobs,
          maxBytesInFlight: o.uploadQueue?.maxBytesInFlight ?? DEFAULTS.s3.uploadMaxBytesInFlight,
        },
      };
    }
    const endpoint = o.endpoint !== undefined ? o.endpoint.replace(/\/+$/, '') : defaultEndpoint;
    let auth: { token: string | null; tokenSource: string | null } = { token: null, tokenSource: null };
    if (typeof o.token === 'string' && o.token.trim() !== '') auth = { token: o.token.trim(), tokenSource: 'config' };
    else if (o.token === undefined) auth = envToken() ?? auth;
    return { type: 'huggingface', endpoint, ...auth };
  });

  const d = file.download ?? {};
  const download = {
    concurrency: d.concurrency ?? DEFAULTS.download.concurrency,
    perOrigin: d.perOrigin ?? DEFAULTS.download.perOrigin,
    retries: d.retries ?? DEFAULTS.download.retries,
    stallTimeoutMs: d.stallTimeout ?? DEFAULTS.download.stallTimeoutMs,
    retryBaseMs: d.retryBase ?? DEFAULTS.download.retryBaseMs,
    retryMaxMs: d.retryMax ?? DEFAULTS.download.retryMaxMs,
    minFreeBytes: d.minFree ?? DEFAULTS.download.minFreeBytes,
  };
  if (download.retryMaxMs < download.retryBaseMs) {
    if (d.retryMax !== undefined) {
      fail(where, 'download.retryMax', `must be at least download.retryBase (${download.retryBaseMs} ms), got ${download.retryMaxMs} ms`);
    }
    fail(where, 'download.retryBase', `must be at most download.retryMax (${download.retryMaxMs} ms), got ${download.retryBaseMs} ms`);
  }

  const a = file.accounting ?? {};
  const suites: Record<string, BenchSuiteConfig> = {};
  for (const [name, s] of Object.entries(file.benchmark?.suites ?? {})) {
    suites[name] = {
      command: s.command,
      runs: s.runs ?? DEFAULTS.benchRuns,
      targetMs: s.target ?? null,
      cwd: s.cwd !== undefined ? filePath(`benchmark.suites.${name}.cwd`, s.cwd) : baseDir,
      env: { ...(s.env ?? {}) },
    };
  }

  const offlineOverride = envFlag(env, 'VOCORIZE_CACHE_OFFLINE');
  const offline = offlineOverride ?? ((file.offline ?? false) || envFlag(env, 'HF_HUB_OFFLINE') === true);

  return {
    source: { ...ctx.source },
    cacheDir,
    socketPath,
    maxSize: file.maxSize ?? DEFAULTS.maxSize,
    lowWatermark: file.lowWatermark ?? DEFAULTS.lowWatermark,
    origins,
    models: { ...(file.models ?? {}) },
    download,
    leaseTtlMs: file.leaseTtl ?? DEFAULTS.leaseTtlMs,
    revalidateAfterMs: file.revalidateAfter ?? DEFAULTS.revalidateAfterMs,
    offline,
    accounting: {
      retentionMs: a.retention ?? DEFAULTS.accounting.retentionMs,
      flushIntervalMs: a.flushInterval ?? DEFAULTS.accounting.flushIntervalMs,
      flushBatch: a.flushBatch ?? DEFAULTS.accounting.flushBatch,
    },
    log: {
      level: file.log?.level ?? DEFAULTS.logLevel,
      file: file.log?.file != null ? logFile(filePath('log.file', file.log.file)) : null,
    },
    metrics: { port: file.metrics?.port ?? null, host: '127.0.0.1' },
    hubMirror: file.hubMirror ? { port: file.hubMirror.port, anonymousMisses: file.hubMirror.anonymousMisses ?? true } : null,
    benchmark: { suites },
    frameLimitBytes: file.frameLimit ?? DEFAULTS.frameLimitBytes,
  };
}
