import type { ResolvedConfig } from '../config/types.js';

/**
 * The effective config written back in the file's own shape: the keys of cache-config.json
 * (`leaseTtl`, `frameLimit`, `download.stallTimeout`, ...), sizes and durations as exact unit strings
 * ("5GB", "1MiB", "30m"). Invariants: the loader accepts the document as a config file and, loaded
 * from any folder, it resolves to the same values (paths are absolute); tokens are never printed
 * (a token set in the config shows as "***", one taken from the environment or the token file is left
 * out, so the loader finds it there again).
 */
export function configFileOf(c: ResolvedConfig): Record<string, unknown> {
  const suites: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(c.benchmark.suites)) {
    suites[name] = {
      command: s.command,
      runs: s.runs,
      target: s.targetMs === null ? null : durationText(s.targetMs),
      cwd: s.cwd,
      env: { ...s.env },
    };
  }
  return {
    cacheDir: c.cacheDir,
    socketPath: c.socketPath,
    maxSize: sizeText(c.maxSize),
    lowWatermark: c.lowWatermark,
    origins: c.origins.map((o) =>
      o.type === 'directory'
        ? { type: 'directory', path: o.path }
        : o.type === 's3'
          ? {
              type: 's3',
              ...(o.endpoint !== null ? { endpoint: o.endpoint } : {}),
              bucket: o.bucket,
              prefix: o.prefix,
              region: o.region,
              ...(o.accessKeyId !== null ? { accessKeyId: o.accessKeyId, secretAccessKey: '***' } : {}),
              forcePathStyle: o.forcePathStyle,
              mode: o.mode,
              trustMetadata: o.trustMetadata,
              uploadQueue: { maxBlobs: o.uploadQueue.maxBlobs, maxBytesInFlight: sizeText(o.uploadQueue.maxBytesInFlight) },
            }
          : { type: 'huggingface', endpoint: o.endpoint, ...(o.tokenSource === 'config' ? { token: '***' } : {}) },
    ),
    models: { ...c.models },
    download: {
      concurrency: c.download.concurrency,
      perOrigin: c.download.perOrigin,
      retries: c.download.retries,
      stallTimeout: durationText(c.download.stallTimeoutMs),
      retryBase: durationText(c.download.retryBaseMs),
      retryMax: durationText(c.download.retryMaxMs),
      minFree: sizeText(c.download.minFreeBytes),
    },
    leaseTtl: durationText(c.leaseTtlMs),
    revalidateAfter: durationText(c.revalidateAfterMs),
    offline: c.offline,
    accounting: {
      retention: durationText(c.accounting.retentionMs),
      flushInterval: durationText(c.accounting.flushIntervalMs),
      flushBatch: c.accounting.flushBatch,
    },
    log: { level: c.log.level, file: c.log.file },
    metrics: { port: c.metrics.port },
    benchmark: { suites },
    frameLimit: sizeText(c.frameLimitBytes),
  };
}

const SIZE_UNITS: Array<[string, number]> = [
  ['TB', 1e12],
  ['TiB', 1024 ** 4],
  ['GB', 1e9],
  ['GiB', 1024 ** 3],
  ['MB', 1e6],
  ['MiB', 1024 ** 2],
  ['kB', 1e3],
  ['KiB', 1024],
];

/** Bytes as the largest unit that divides them exactly: 5e9 -> "5GB", 1048576 -> "1MiB", 1023 -> "1023B". */
export function sizeText(bytes: number): string {
  for (const [unit, n] of SIZE_UNITS) if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  return `${bytes}B`;
}

const DURATION_UNITS: Array<[string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** Milliseconds as the largest unit that divides them exactly: 1800000 -> "30m", 1500 -> "1500ms", 0 -> "0ms". */
export function durationText(ms: number): string {
  for (const [unit, n] of DURATION_UNITS) if (ms >= n && ms % n === 0) return `${ms / n}${unit}`;
  return `${ms}ms`;
}
