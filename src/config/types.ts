/** The effective configuration, after defaults, env overrides, `~` expansion and path resolution. */

export interface HuggingFaceOriginConfig {
  type: 'huggingface';
  /** Base URL without a trailing slash. */
  endpoint: string;
  /** Never print it; `redactConfig` replaces it. */
  token: string | null;
  /** Where the token came from: 'config', 'HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', or the token file's path; null without a token. */
  tokenSource: string | null;
}

export interface DirectoryOriginConfig {
  type: 'directory';
  /** Absolute. */
  path: string;
}

export type OriginConfig = HuggingFaceOriginConfig | DirectoryOriginConfig;

export interface BenchSuiteConfig {
  command: string;
  runs: number;
  targetMs: number | null;
  /** Absolute. */
  cwd: string;
  env: Record<string, string>;
}

export type ConfigSourceKind = 'flag' | 'env' | 'project' | 'user' | 'defaults';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface DownloadConfig {
  concurrency: number;
  perOrigin: number;
  retries: number;
  stallTimeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Keep at least this many bytes free on the cache's disk. */
  minFreeBytes: number;
}

export interface ResolvedConfig {
  /** The file in effect (absolute), or defaults (path null). */
  source: { kind: ConfigSourceKind; path: string | null };
  /** Absolute. */
  cacheDir: string;
  /** Absolute; default `<cacheDir>/run/daemon.sock`; byte length below the platform's limit. */
  socketPath: string;
  /** Bytes; default 5 GB (5e9). */
  maxSize: number;
  /** Fraction in (0, 1]; eviction frees down to maxSize * lowWatermark. Default 0.9. */
  lowWatermark: number;
  origins: OriginConfig[];
  /** Alias -> model reference string (not parsed here). */
  models: Record<string, string>;
  download: DownloadConfig;
  leaseTtlMs: number;
  /** Branch re-resolution interval. */
  revalidateAfterMs: number;
  offline: boolean;
  accounting: { retentionMs: number; flushIntervalMs: number; flushBatch: number };
  log: { level: LogLevel; file: string | null };
  /** Optional Prometheus listener, loopback only. */
  metrics: { port: number | null; host: '127.0.0.1' };
  /** The Hub-compatible HTTP endpoint, loopback only; null when off. */
  hubMirror: { port: number; anonymousMisses: boolean } | null;
  benchmark: { suites: Record<string, BenchSuiteConfig> };
  /** Socket frame limit in bytes. */
  frameLimitBytes: number;
}
