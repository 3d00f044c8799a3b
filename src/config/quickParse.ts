import { DURATION_PATTERN, SIZE_PATTERN, parseDuration, parseSize } from './units.js';
import type { ConfigFile } from './schema.js';
import { BUCKET_PATTERN, PREFIX_PATTERN } from './s3Names.js';

/**
 * A second reading of cache-config.json for the commands that must start fast: it accepts only files
 * it is sure of and then returns what `configFileSchema` (schema.ts) would, without loading zod.
 *
 * Contract: `quickParseConfigFile(v)` is either null ("not sure": the caller validates with the schema,
 * which also words every error) or deep-equal to the schema's successful output for `v`. It never
 * accepts what the schema refuses; it may refuse what the schema accepts (a new field it does not know
 * yet, an unusual spelling), which costs only speed. test/config/quickParse.test.ts checks both sides
 * against the schema, and that every field of the schema is known here.
 */
export function quickParseConfigFile(v: unknown): ConfigFile | null {
  try {
    return top(v);
  } catch (err) {
    if (err === UNSURE) return null;
    throw err;
  }
}

const UNSURE = Symbol('unsure');
const unsure = (): never => {
  throw UNSURE;
};

type Obj = Record<string, unknown>;
type Field = (v: unknown) => unknown;

const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A plain http(s) URL: scheme, host name or IPv4 address, optional port and path. Anything fancier is left to the schema. */
const PLAIN_URL = /^https?:\/\/[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(?::[1-9][0-9]{0,4})?(?:\/[A-Za-z0-9._~/-]*)?$/;

function plainObject(v: unknown): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) return unsure();
  for (const k of Object.keys(v)) if (RESERVED.has(k)) unsure();
  if (Object.getOwnPropertySymbols(v).length > 0 || Object.getOwnPropertyNames(v).length !== Object.keys(v).length) unsure();
  return v as Obj;
}

/** A strict object: every key known, every value checked; absent keys stay absent. */
function strict(fields: Record<string, Field>): Field {
  return (v) => {
    const o = plainObject(v);
    const out: Obj = {};
    for (const k of Object.keys(o)) {
      const f = Object.prototype.hasOwnProperty.call(fields, k) ? fields[k] : undefined;
      if (!f) return unsure();
      out[k] = f(o[k]);
    }
    return out;
  };
}

function record(key: RegExp, value: Field): Field {
  return (v) => {
    const o = plainObject(v);
    const out: Obj = {};
    for (const k of Object.keys(o)) {
      if (!key.test(k)) unsure();
      out[k] = value(o[k]);
    }
    return out;
  };
}

const str =
  (min = 0): Field =>
  (v) =>
    typeof v === 'string' && v.length >= min ? v : unsure();

const pathStr: Field = (v) => (typeof v === 'string' && v.length >= 1 && !v.includes('\0') ? v : unsure());

const nullable =
  (f: Field): Field =>
  (v) =>
    v === null ? null : f(v);

const int =
  (min: number, max: number): Field =>
  (v) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max ? v : unsure();

const bool: Field = (v) => (typeof v === 'boolean' ? v : unsure());

function units(pattern: RegExp, parse: (v: string | number) => number, min: number, max = Number.MAX_SAFE_INTEGER): Field {
  return (v) => {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v) || v < 0) unsure();
    } else if (typeof v !== 'string' || !pattern.test(v)) unsure();
    let n: number;
    try {
      n = parse(v as string | number);
    } catch {
      return unsure();
    }
    return n >= min && n <= max ? n : unsure();
  };
}

const size = (min: number, max?: number): Field => units(SIZE_PATTERN, parseSize, min, max);
const duration = (min: number): Field => units(DURATION_PATTERN, parseDuration, min);

const origin: Field = (v) => {
  const o = plainObject(v);
  if (o.type === 'huggingface') {
    return strict({
      type: (x) => x,
      endpoint: (x) => (typeof x === 'string' && PLAIN_URL.test(x) ? x : unsure()),
      token: nullable(str(1)),
    })(o);
  }
  if (o.type === 'directory') return strict({ type: (x) => x, path: pathStr })(o);
  if (o.type === 's3') {
    if (!('bucket' in o) || ('accessKeyId' in o) !== ('secretAccessKey' in o)) unsure();
    return strict({
      type: (x) => x,
      endpoint: (x) => (typeof x === 'string' && PLAIN_URL.test(x) ? x : unsure()),
      bucket: (x) => (typeof x === 'string' && BUCKET_PATTERN.test(x) ? x : unsure()),
      prefix: (x) => (typeof x === 'string' && (x === '' || PREFIX_PATTERN.test(x)) ? x : unsure()),
      region: str(1),
      accessKeyId: str(1),
      secretAccessKey: str(1),
      forcePathStyle: bool,
      mode: (x) => (x === 'read-write' || x === 'read-only' ? x : unsure()),
      trustMetadata: bool,
      uploadQueue: strict({ maxBlobs: int(1, 100_000), maxBytesInFlight: size(1) }),
    })(o);
  }
  return unsure();
};

/** schema.ts MAX_FRAME_LIMIT_BYTES (not imported: schema.ts loads zod); the test checks they agree. */
export const QUICK_MAX_FRAME_LIMIT_BYTES = 64 * 1024 * 1024;

const TOP_FIELDS: Record<string, Field> = {
  $schema: str(),
  cacheDir: pathStr,
  socketPath: pathStr,
  maxSize: size(1),
  lowWatermark: (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 1 ? v : unsure()),
  origins: (v) => (Array.isArray(v) && Object.getPrototypeOf(v) === Array.prototype ? Array.from(v, origin) : unsure()),
  models: record(NAME, str(1)),
  download: strict({
    concurrency: int(1, 256),
    perOrigin: int(1, 256),
    retries: int(0, 100),
    stallTimeout: duration(1),
    retryBase: duration(1),
    retryMax: duration(1),
    minFree: size(0),
  }),
  leaseTtl: duration(1),
  revalidateAfter: duration(0),
  offline: bool,
  accounting: strict({ retention: duration(1), flushInterval: duration(1), flushBatch: int(1, 1_000_000) }),
  log: strict({
    level: (v) => (typeof v === 'string' && ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(v) ? v : unsure()),
    file: nullable(pathStr),
  }),
  metrics: strict({ port: nullable(int(0, 65535)) }),
  hubMirror: (v) => {
    const o = plainObject(v);
    return 'port' in o ? strict({ port: int(0, 65535), anonymousMisses: bool })(o) : unsure();
  },
  benchmark: strict({
    suites: record(
      NAME,
      strict({
        command: str(1),
        runs: int(1, 1000),
        target: nullable(duration(0)),
        cwd: pathStr,
        env: record(ENV_NAME, str()),
      }),
    ),
  }),
  frameLimit: size(1024, QUICK_MAX_FRAME_LIMIT_BYTES),
};
const top = strict(TOP_FIELDS) as (v: unknown) => ConfigFile;

/** The top-level fields this reading knows (the test compares them with the schema's). */
export const QUICK_KNOWN_FIELDS: readonly string[] = Object.keys(TOP_FIELDS);
