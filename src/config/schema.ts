import { z } from '../vendor/zod.js';
import { BUCKET_PATTERN, PREFIX_PATTERN } from './s3Names.js';
import { DURATION_HINT, DURATION_PATTERN, SIZE_HINT, SIZE_PATTERN, formatBytes, parseDuration, parseSize, showValue } from './units.js';

/**
 * The shape of cache-config.json, as zod 4 schemas. Parsing it validates the file and turns sizes into
 * bytes and durations into milliseconds; defaults, env overrides and path resolution happen later
 * (resolve.ts), because they need the file's location, the home dir and the environment.
 * Every object is strict: an unknown key is an error. The JSON Schema for editors is emitted from
 * this same schema for its input side (jsonSchema.ts).
 */

type Msg = { input?: unknown };

function sizeField(description: string | null, min = 0, max = Number.MAX_SAFE_INTEGER) {
  const msg = (iss: Msg) => `expected ${SIZE_HINT}, got ${showValue(iss.input)}`;
  return z
    .union(
      [
        z.number({ error: msg }).int({ error: msg }).min(0, { error: msg }),
        z.string({ error: msg }).regex(SIZE_PATTERN, { error: msg }),
      ],
      { error: msg },
    )
    .meta(description === null ? {} : { description })
    .transform((v, ctx) => {
      let n: number;
      try {
        n = parseSize(v);
      } catch (err) {
        ctx.issues.push({ code: 'custom', message: (err as Error).message, input: v });
        return z.NEVER;
      }
      if (n < min) {
        ctx.issues.push({ code: 'custom', message: `must be at least ${min === 1 ? '1 byte' : min < 1e6 ? `${min} bytes` : formatBytes(min)}, got ${showValue(v)}`, input: v });
        return z.NEVER;
      }
      if (n > max) {
        ctx.issues.push({ code: 'custom', message: `must be at most ${formatBytes(max)} (${max} bytes), got ${showValue(v)}`, input: v });
        return z.NEVER;
      }
      return n;
    });
}

function durationField(description: string | null, min = 0) {
  const msg = (iss: Msg) => `expected ${DURATION_HINT}, got ${showValue(iss.input)}`;
  return z
    .union(
      [
        z.number({ error: msg }).int({ error: msg }).min(0, { error: msg }),
        z.string({ error: msg }).regex(DURATION_PATTERN, { error: msg }),
      ],
      { error: msg },
    )
    .meta(description === null ? {} : { description })
    .transform((v, ctx) => {
      let n: number;
      try {
        n = parseDuration(v);
      } catch (err) {
        ctx.issues.push({ code: 'custom', message: (err as Error).message, input: v });
        return z.NEVER;
      }
      if (n < min) {
        ctx.issues.push({ code: 'custom', message: `must be at least ${min} ms, got ${showValue(v)}`, input: v });
        return z.NEVER;
      }
      return n;
    });
}

/** Upper bound of `frameLimit`: the daemon holds up to this much of one unfinished frame per connection. */
export const MAX_FRAME_LIMIT_BYTES = 64 * 1024 * 1024;

const PATH_NOTE = 'Relative paths resolve against this file\'s folder; "~" is the home directory.';

function barePath() {
  return z
    .string()
    .min(1)
    .refine((s) => !s.includes('\0'), { error: 'must not contain a NUL byte' });
}

function pathField(description: string) {
  return barePath().describe(`${description} ${PATH_NOTE}`);
}

function intField(description: string, min: number, max: number) {
  return z.number().int().min(min).max(max).describe(description);
}

/**
 * Keys a record in the file may not use: zod drops `__proto__` from a parsed record (it would replace
 * the result's prototype), and `constructor` / `prototype` shadow Object members wherever a name is
 * looked up. Each is refused with an error naming the key, never silently dropped.
 */
export const RESERVED_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** `schema` (a record) preceded by a check of the raw object's own keys against RESERVED_KEYS. */
function withoutReservedKeys<T extends z.ZodType>(schema: T) {
  return z.preprocess((input, ctx) => {
    if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
      for (const key of RESERVED_KEYS) {
        if (Object.prototype.hasOwnProperty.call(input, key)) {
          ctx.issues.push({ code: 'custom', message: `key ${JSON.stringify(key)} is reserved; choose another name`, input, path: [key] });
        }
      }
    }
    return input;
  }, schema);
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const nameKey = (what: string) =>
  z.string().regex(NAME_PATTERN, {
    error: (iss: Msg) =>
      `${what} ${showValue(iss.input)} must start with a letter or digit and hold only letters, digits, ".", "_" and "-"`,
  });

const huggingFaceOrigin = z
  .strictObject({
    type: z.literal('huggingface'),
    endpoint: z
      .url({ protocol: /^https?$/, error: (iss: Msg) => `expected an http(s) URL, got ${showValue(iss.input)}` })
      .describe('Hub base URL. Default: $HF_ENDPOINT, else https://huggingface.co.')
      .optional(),
    token: z
      .string()
      .min(1)
      .nullable()
      .describe(
        'Access token. Prefer HF_TOKEN or the huggingface_hub token file ($HF_HOME/token), which are used when this is absent; null sends no token at all.',
      )
      .optional(),
  })
  .describe('The Hugging Face Hub HTTP API (or a server speaking it).');

const directoryOrigin = z
  .strictObject({
    type: z.literal('directory'),
    path: pathField('Root of a mirror laid out as <path>/<repo>/<file>.'),
  })
  .describe('A local or mounted mirror, for air-gapped CI.');


const s3Origin = z
  .strictObject({
    type: z.literal('s3'),
    endpoint: z
      .url({ protocol: /^https?$/, error: (iss: Msg) => `expected an http(s) URL, got ${showValue(iss.input)}` })
      .describe('Base URL of an S3-compatible store (MinIO, R2, Ceph RGW, Swift s3api). Default: AWS S3 for the region.')
      .optional(),
    bucket: z
      .string({ error: (iss: Msg) => `expected a bucket name, got ${showValue(iss.input)}` })
      .regex(BUCKET_PATTERN, {
        error: (iss: Msg) => `bucket ${showValue(iss.input)} must be 3-63 characters of a-z, 0-9, "." and "-", starting and ending with a letter or digit`,
      })
      .describe('Bucket holding the tier. It must exist; the cache never creates it.'),
    prefix: z
      .string()
      .refine((s) => s === '' || PREFIX_PATTERN.test(s), {
        error: (iss: Msg) => `prefix ${showValue(iss.input)} must be "/"-separated segments of letters, digits, ".", "_" and "-" (no empty, "." or ".." segment)`,
      })
      .describe('Key prefix inside the bucket, so several fleets can share one. Default "".')
      .optional(),
    region: z.string().min(1).describe('Signing region. Default "us-east-1".').optional(),
    accessKeyId: z
      .string()
      .min(1)
      .describe('Access key. Prefer the standard AWS environment variables or profile, used when this is absent.')
      .optional(),
    secretAccessKey: z.string().min(1).describe('Secret key; given together with accessKeyId. Never printed.').optional(),
    forcePathStyle: z
      .boolean()
      .describe('Address the bucket as <endpoint>/<bucket> rather than <bucket>.<endpoint>. Default: true when endpoint is set.')
      .optional(),
    mode: z
      .enum(['read-write', 'read-only'])
      .describe('"read-only": this runner only reads the tier and never writes to it. Default "read-write".')
      .optional(),
    trustMetadata: z
      .boolean()
      .describe(
        'Use revision -> commit refs and file listings stored in the tier (an air-gapped fleet with no Hub access). Blobs are always verified by content; metadata is not self-verifying. Default false.',
      )
      .optional(),
    uploadQueue: z
      .strictObject({
        maxBlobs: intField('Blobs waiting or uploading at once; more are skipped (logged and counted). Default 64.', 1, 100_000).optional(),
        maxBytesInFlight: sizeField('Bytes of blobs waiting or uploading at once; more are skipped. Default "2GB".', 1).optional(),
      })
      .describe('Background upload of Hub downloads to a read-write tier.')
      .optional(),
  })
  .refine((o) => (o.accessKeyId === undefined) === (o.secretAccessKey === undefined), {
    error: 'accessKeyId and secretAccessKey must be given together (or neither, to use the AWS environment variables or profile)',
  })
  .describe('A shared S3-compatible object store (the fleet tier), tried before the origins after it.');

const originSchema = z.discriminatedUnion('type', [huggingFaceOrigin, directoryOrigin, s3Origin]);

const downloadSchema = z
  .strictObject({
    concurrency: intField('Files downloaded at once, over all origins. Default 4.', 1, 256).optional(),
    perOrigin: intField('Files downloaded at once from one origin. Default 4.', 1, 256).optional(),
    retries: intField('Retries of a failed request (5xx, 429, network) with backoff. Default 4.', 0, 100).optional(),
    stallTimeout: durationField('A download making no progress this long is aborted. Default "30s".', 1).optional(),
    retryBase: durationField('First backoff delay, doubled per retry. Default "500ms".', 1).optional(),
    retryMax: durationField('Longest backoff delay. Default "30s".', 1).optional(),
    minFree: sizeField('Keep at least this much free on the cache disk. Default "100MB".').optional(),
  })
  .describe('Download behaviour.');

const accountingSchema = z
  .strictObject({
    retention: durationField('Keep per-request events this long, then roll them into daily totals. Default "90d".', 1).optional(),
    flushInterval: durationField('Write buffered events at least this often. Default "250ms".', 1).optional(),
    flushBatch: intField('Write buffered events once this many are waiting. Default 256.', 1, 1_000_000).optional(),
  })
  .describe('Request accounting in the index.');

const logSchema = z
  .strictObject({
    level: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .describe('Default "info".')
      .optional(),
    file: barePath()
      .nullable()
      .describe(`Daemon log file (JSON lines). Default ~/Library/Logs/Vocorize/cache-manager.log (macOS), $XDG_STATE_HOME/vocorize/cache-manager.log elsewhere. ${PATH_NOTE}`)
      .optional(),
  })
  .describe('Daemon logging.');

const metricsSchema = z
  .strictObject({
    port: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .nullable()
      .describe('Port of an optional Prometheus listener on 127.0.0.1 (0: any free port). Default: none.')
      .optional(),
  })
  .describe('Prometheus metrics over HTTP, loopback only.');

const hubMirrorSchema = z
  .strictObject({
    port: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .describe('Port of the Hub-compatible HTTP endpoint on 127.0.0.1 (0: any free port; see `daemon status --json` hubUrl).'),
    anonymousMisses: z
      .boolean()
      .describe(
        'Requests without the local secret (hubSecretFile) may make the cache download public files (true, default) or are served only what is already cached (false).',
      )
      .optional(),
  })
  .describe('The Hub-compatible HTTP endpoint: unmodified Hugging Face clients (HF_ENDPOINT) read through the cache. Absent: off.');

const benchSuiteSchema = z
  .strictObject({
    command: z.string().min(1).describe('Shell command that runs the suite.'),
    runs: intField('Timed runs per benchmark. Default 3.', 1, 1000).optional(),
    target: durationField(null).nullable().describe('Target median wall time, shown pass/fail. Default: none.').optional(),
    cwd: pathField('Working directory. Default: this file\'s folder.').optional(),
    env: withoutReservedKeys(
      z
        .record(
          z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
            error: (iss: Msg) => `environment variable name ${showValue(iss.input)} is not valid`,
          }),
          z.string(),
        )
        .describe('Extra environment variables.'),
    ).optional(),
  })
  .describe('A test suite the benchmarker runs.');

const benchmarkSchema = z
  .strictObject({
    suites: withoutReservedKeys(
      z
        .record(nameKey('suite name'), benchSuiteSchema)
        .describe(
          "Suites by name. Default: a Vocorize checkout's test scripts found where bench runs (test-unit.sh, test-integration.sh, test.sh, or under scripts/) as unit (target 10s), integration (30s) and all.",
        ),
    ).optional(),
  })
  .describe('The benchmarker.');

export const configFileSchema = z
  .strictObject({
    $schema: z.string().describe('JSON Schema of this file, for editors; ignored.').optional(),
    cacheDir: pathField(
      'Cache directory. Default: ~/Library/Caches/Vocorize/models (macOS), $XDG_CACHE_HOME/vocorize/models or ~/.cache/vocorize/models (Linux). Env VOCORIZE_CACHE_DIR overrides.',
    ).optional(),
    socketPath: pathField(
      'Daemon socket. Default <cacheDir>/run/daemon.sock. Must be shorter than 104 bytes (macOS) or 108 (Linux). Env VOCORIZE_CACHE_SOCKET overrides.',
    ).optional(),
    maxSize: sizeField('Cache size limit: "5GB", "750MB" (decimal), "4GiB" (binary) or bytes. Default "5GB".', 1).optional(),
    lowWatermark: z
      .number()
      .gt(0)
      .lte(1)
      .describe('Eviction frees space down to maxSize * lowWatermark. In (0, 1]; default 0.9.')
      .optional(),
    origins: z
      .array(originSchema)
      .describe('Where models come from, tried in order. Default: [{"type": "huggingface"}].')
      .optional(),
    models: withoutReservedKeys(
      z.record(nameKey('alias'), z.string().min(1).describe('<repo>[@<revision>][:<subfolder>]')).describe('Aliases: name -> model reference.'),
    ).optional(),
    download: downloadSchema.optional(),
    leaseTtl: durationField('A lease not renewed or released ends after this. Default "30m".', 1).optional(),
    revalidateAfter: durationField('Re-resolve a branch to its commit in the background after this. Default "24h".').optional(),
    offline: z
      .boolean()
      .describe('Never contact an origin. Also on with HF_HUB_OFFLINE=1; VOCORIZE_CACHE_OFFLINE=1/0 overrides both.')
      .optional(),
    accounting: accountingSchema.optional(),
    log: logSchema.optional(),
    metrics: metricsSchema.optional(),
    hubMirror: hubMirrorSchema.optional(),
    benchmark: benchmarkSchema.optional(),
    frameLimit: sizeField('Largest socket frame accepted. Default "1MiB".', 1024, MAX_FRAME_LIMIT_BYTES).optional(),
  })
  .meta({
    title: 'vocorize model cache: cache-config.json',
    description:
      'Configuration of the vocorize model cache daemon and CLI. Sizes: "5GB", "750MB", "4GiB" or bytes. Durations: "500ms", "30s", "30m", "24h", "7d" or milliseconds.',
  });

/** The file as written (sizes and durations as strings or numbers). */
export type ConfigFileInput = z.input<typeof configFileSchema>;
/** The file after validation (sizes in bytes, durations in ms, paths not yet resolved). */
export type ConfigFile = z.output<typeof configFileSchema>;
