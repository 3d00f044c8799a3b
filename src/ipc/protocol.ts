import { z } from '../vendor/zod.js';
import { ErrorCodes, type ErrorShape } from '../errors.js';
import type { Results } from './results.js';

/**
 * The socket protocol as one closed set of methods (docs/protocol.md is the prose version).
 *
 * Wire: `{"type":"request","data":{"id","method","params"}}` + `\f`; replies `{"type":"response",
 * "data":{"id","result"}}` or `{"type":"response","data":{"id","error":{code,message,retryable}}}`;
 * progress `{"type":"progress","data":{"id",...}}`.
 *
 * Invariants:
 *  - every method has a strict params schema: unknown keys, wrong types, strings and arrays over
 *    their bounds are refused with E_BAD_REQUEST naming the field;
 *  - schemas have no defaults or transforms, so what a client sends is what a handler receives
 *    (`ParamsOf<M>` is both); defaults live in the handlers (e.g. `get.lease` defaults to true);
 *  - parseRequest is pure and total: it never throws, whatever it is given.
 *
 * Model references are only bounded here; whether they are safe (`..`, absolute, NUL) is decided by
 * the daemon's reference parser (E_BAD_REF).
 */
export const PROTOCOL_VERSION = 1 as const;

export const LIMITS = {
  /** A model reference, alias or snapshot key. */
  modelRef: 1024,
  /** Client labels, run ids and labels, lease ids. */
  label: 256,
  /** Filesystem paths (PATH_MAX on Linux). */
  path: 4096,
  /** Items in any array param. */
  items: 1000,
  /** A request id given as a string. */
  id: 128,
} as const;

const modelRef = z.string().min(1).max(LIMITS.modelRef);
const label = z.string().min(1).max(LIMITS.label);
/**
 * A run id, wherever one is given (get, warm, stats, report and runEnd alike): one line of printable
 * text, so an id any method accepts is one every other method accepts too.
 */
const runId = label.refine((s) => !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(s), {
  message: 'a run id must be one line of printable text (no control characters)',
});
const modelList = z.array(modelRef).max(LIMITS.items);
const absolutePath = z
  .string()
  .min(1)
  .max(LIMITS.path)
  .refine((p) => p.startsWith('/'), { message: 'must be an absolute path' })
  .refine((p) => !p.includes('\0'), { message: 'must not contain NUL' });
const epochMs = z.number().int();
const durationMs = z.number().int().nonnegative();
const empty = z.strictObject({});

export const paramsSchemas = {
  hello: z.strictObject({ client: label.optional() }),
  get: z.strictObject({
    model: modelRef,
    client: label.optional(),
    run: runId.optional(),
    /** Take a lease on the model (default true). */
    lease: z.boolean().optional(),
    /**
     * 'connection' (default): the lease ends on release, disconnect or TTL. 'ttl': it outlives the
     * connection (for shell callers whose CLI process exits before they use the path) and ends on
     * release or TTL only.
     */
    leaseScope: z.enum(['connection', 'ttl']).optional(),
    /** Send progress events while fetching (default false). */
    progress: z.boolean().optional(),
    /** This request only: never contact an origin (an uncached model is E_OFFLINE); false changes nothing. */
    offline: z.boolean().optional(),
  }),
  release: z.strictObject({ lease: label }),
  leases: empty,
  warm: z.strictObject({ models: modelList.optional(), client: label.optional(), run: runId.optional(), offline: z.boolean().optional() }),
  list: empty,
  status: empty,
  pin: z.strictObject({ model: modelRef }),
  unpin: z.strictObject({ model: modelRef }),
  evict: z.strictObject({ model: modelRef }),
  verify: z.strictObject({ models: modelList.optional(), quick: z.boolean().optional(), repair: z.boolean().optional() }),
  clean: z.strictObject({
    dryRun: z.boolean().optional(),
    corrupted: z.boolean().optional(),
    partial: z.boolean().optional(),
    olderThanMs: durationMs.optional(),
    all: z.boolean().optional(),
    models: modelList.optional(),
  }),
  optimize: empty,
  restore: z.strictObject({
    model: modelRef,
    to: absolutePath,
    layout: z.enum(['plain', 'hf', 'whisperkit']).optional(),
    /** whisperkit layout, WhisperKit variant only: also place the variant's tokenizer (default false). */
    withTokenizer: z.boolean().optional(),
    offline: z.boolean().optional(),
  }),
  import: z.strictObject({ from: absolutePath }),
  stats: z.strictObject({
    sinceMs: epochMs.optional(),
    run: runId.optional(),
    by: z.enum(['model', 'client', 'day']).optional(),
    zero: z.boolean().optional(),
  }),
  metrics: z.strictObject({ format: z.enum(['json', 'prometheus']).optional() }),
  report: z.strictObject({
    sinceMs: epochMs.optional(),
    run: runId.optional(),
    format: z.enum(['md', 'json', 'html']).optional(),
  }),
  runStart: z.strictObject({ label: label.optional() }),
  runEnd: z.strictObject({ id: runId }),
  config: empty,
  shutdown: empty,
  /** The fleet tier (the first s3 origin of the config): reachability and what it holds. */
  tierStatus: empty,
  /** Delete tier blobs no runner has read for olderThanMs (last-read metadata, else LastModified). */
  tierGc: z.strictObject({ olderThanMs: durationMs, dryRun: z.boolean().optional() }),
  /** Upload the blobs, aliases, listings and refs of cached models (all when none named) the tier lacks. */
  tierPush: z.strictObject({ models: modelList.optional() }),
} as const;

export type Method = keyof typeof paramsSchemas;
export const METHODS = Object.keys(paramsSchemas) as readonly Method[];

export type ParamsOf<M extends Method> = z.output<(typeof paramsSchemas)[M]>;

export type * from './results.js';

/** The result of method M: what its handler returns and what a client's call resolves to. */
export type ResultOf<M extends Method> = Results[M];

/** Fails to compile unless Results has exactly one entry per method. */
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
type ResultsCoverMethods = Holds<SameKeys<keyof Results, Method>>;

export type RequestId = string | number;

export type ParsedRequest =
  | { [M in Method]: { ok: true; id: RequestId; method: M; params: ParamsOf<M> } }[Method]
  | { ok: false; id: RequestId | null; error: ErrorShape };

/** Progress event payload (`type: "progress"`): always carries the request id; the rest is method-specific. */
export interface ProgressData {
  id: RequestId;
  [key: string]: unknown;
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A valid request id, or undefined. */
export function validId(v: unknown): RequestId | undefined {
  if (typeof v === 'string') return v.length <= LIMITS.id ? v : undefined;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  return undefined;
}

function fail(id: RequestId | null, code: string, message: string, details?: Record<string, unknown>): ParsedRequest {
  const error: ErrorShape = { code, message, retryable: false };
  if (details) error.details = details;
  return { ok: false, id, error };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Shortens a user-supplied string for an error message. */
function quote(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

function issueText(issue: z.core.$ZodIssue): { field: string; message: string } {
  const segs = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.slice(0, 5).map(quote).join(', ');
    const field = `params${segs}${issue.keys[0] !== undefined ? `.${issue.keys[0]}` : ''}`;
    return { field, message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}` };
  }
  return { field: `params${segs}`, message: issue.message };
}

/**
 * Validates the `data` of a `request` message. Total: never throws, for any input (including
 * proxies and getters that throw); a bad id is reported with `id: null`.
 */
export function parseRequest(raw: unknown): ParsedRequest {
  try {
    return parseUnsafe(raw);
  } catch (err) {
    return fail(null, ErrorCodes.BAD_REQUEST, `request could not be read: ${err instanceof Error ? err.message : 'unknown error'}`);
  }
}

function parseUnsafe(raw: unknown): ParsedRequest {
  if (!isPlainRecord(raw)) {
    return fail(null, ErrorCodes.BAD_FRAME, `a request must be an object {id, method, params}, got ${describe(raw)}`);
  }
  const idRaw = hasOwn(raw, 'id') ? raw.id : undefined;
  const id = validId(idRaw);
  if (id === undefined) {
    return fail(
      null,
      ErrorCodes.BAD_REQUEST,
      idRaw === undefined
        ? 'request.id is missing (a string of at most 128 characters or a safe integer)'
        : `request.id must be a string of at most 128 characters or a safe integer, got ${describe(idRaw)}`,
      { field: 'id' },
    );
  }
  for (const key of Object.keys(raw)) {
    if (key !== 'id' && key !== 'method' && key !== 'params') {
      return fail(id, ErrorCodes.BAD_REQUEST, `unknown request field ${quote(key)} (expected id, method, params)`, { field: key });
    }
  }
  const method = hasOwn(raw, 'method') ? raw.method : undefined;
  if (typeof method !== 'string') {
    return fail(id, ErrorCodes.BAD_REQUEST, `request.method must be a string, got ${describe(method)}`, { field: 'method' });
  }
  if (!hasOwn(paramsSchemas, method)) {
    return fail(id, ErrorCodes.UNKNOWN_METHOD, `unknown method ${quote(method)} (known: ${METHODS.join(', ')})`, {
      method: method.slice(0, 64),
    });
  }
  const m = method as Method;
  const params = hasOwn(raw, 'params') ? raw.params : {};
  const parsed = paramsSchemas[m].safeParse(params);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const { field, message } = first ? issueText(first) : { field: 'params', message: 'invalid' };
    return fail(id, ErrorCodes.BAD_REQUEST, `${m}: ${field}: ${message}`, { method: m, field });
  }
  return { ok: true, id, method: m, params: parsed.data } as ParsedRequest;
}
