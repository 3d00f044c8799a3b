/**
 * Result of the `config` method: the daemon's effective configuration, redacted (origin tokens and
 * secret-looking benchmark env values are "***"). Plain JSON data, the shape of the resolved config.
 */

export type OriginView =
  | {
      type: 'huggingface';
      endpoint: string;
      /** "***" when a token is set, null otherwise. */
      token: string | null;
      /** Where the token came from ('config', 'HF_TOKEN', ..., or the token file's path); null without a token. */
      tokenSource: string | null;
    }
  | { type: 'directory'; path: string }
  | {
      type: 's3';
      endpoint: string | null;
      bucket: string;
      prefix: string;
      region: string;
      accessKeyId: string | null;
      /** "***" when set, null otherwise. */
      secretAccessKey: string | null;
      forcePathStyle: boolean;
      mode: 'read-write' | 'read-only';
      trustMetadata: boolean;
      uploadQueue: { maxBlobs: number; maxBytesInFlight: number };
    };

export interface ConfigView {
  /** The config file in effect (absolute), or defaults (path null). */
  source: { kind: 'flag' | 'env' | 'project' | 'user' | 'defaults'; path: string | null };
  cacheDir: string;
  socketPath: string;
  maxSize: number;
  lowWatermark: number;
  origins: OriginView[];
  /** Alias -> model reference. */
  models: Record<string, string>;
  download: {
    concurrency: number;
    perOrigin: number;
    retries: number;
    stallTimeoutMs: number;
    retryBaseMs: number;
    retryMaxMs: number;
    minFreeBytes: number;
  };
  leaseTtlMs: number;
  revalidateAfterMs: number;
  offline: boolean;
  accounting: { retentionMs: number; flushIntervalMs: number; flushBatch: number };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'; file: string | null };
  metrics: { port: number | null; host: '127.0.0.1' };
  benchmark: {
    suites: Record<string, { command: string; runs: number; targetMs: number | null; cwd: string; env: Record<string, string> }>;
  };
  frameLimitBytes: number;
}

export interface ConfigResult {
  config: ConfigView;
}
