import type { IncomingHttpHeaders } from 'node:http';
import { CacheError, ErrorCodes, type ErrorCode } from '../errors.js';

/** What a failing request was about, for the message. */
export interface HubContext {
  host: string;
  repo: string;
  revision?: string;
  /** A file path or subfolder in the repo. */
  path?: string;
  tokenSent: boolean;
  /** The code a bare 404 (no X-Error-Code) maps to on this route. */
  notFound: ErrorCode;
}

function first(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `Retry-After` (seconds or an HTTP date) in ms; else, for 429, the reset of an exhausted `RateLimit` window. */
export function retryAfterMs(headers: IncomingHttpHeaders, now: number = Date.now()): number | undefined {
  const ra = first(headers, 'retry-after')?.trim();
  if (ra) {
    if (/^\d+(\.\d+)?$/.test(ra)) return Math.round(Number(ra) * 1000);
    const at = Date.parse(ra);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const rl = first(headers, 'ratelimit');
  if (rl) {
    const r = /(?:^|;)\s*r=(\d+)/.exec(rl);
    const t = /(?:^|;)\s*t=(\d+)/.exec(rl);
    if (r && t && Number(r[1]) === 0) return Number(t[1]) * 1000;
  }
  return undefined;
}

/**
 * Maps a Hub error answer to a CacheError. Final: RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo,
 * 401/403 (credentials). Retryable: 408, 429, 5xx (with `details.retryAfterMs` when the Hub said).
 * Messages name the repo/revision/path and never contain the token (only whether one was sent).
 */
export function hubError(status: number, headers: IncomingHttpHeaders, ctx: HubContext): CacheError {
  const code = first(headers, 'x-error-code');
  const serverMsg = (first(headers, 'x-error-message') ?? '').slice(0, 200);
  const where = `${ctx.repo}${ctx.revision ? `@${ctx.revision}` : ''}${ctx.path ? `:${ctx.path}` : ''}`;
  const auth = ctx.tokenSent ? 'a token was sent' : 'no token was sent (set HF_TOKEN)';
  const details = { status, host: ctx.host, ...(code ? { hubCode: code } : {}) };

  if (status === 408 || status === 429 || status >= 500) {
    const wait = retryAfterMs(headers);
    const what = status === 429 ? 'rate limited' : status === 408 ? 'request timeout' : 'server error';
    return new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${ctx.host}: ${what} (HTTP ${status}) for ${where}; retry later`, {
      retryable: true,
      details: wait === undefined ? details : { ...details, retryAfterMs: wait },
    });
  }
  switch (code) {
    case 'RepoNotFound':
      return new CacheError(
        ErrorCodes.REPO_NOT_FOUND,
        `repository ${ctx.repo} not found on ${ctx.host} (or it is private and ${auth})`,
        { details },
      );
    case 'RevisionNotFound':
      return new CacheError(ErrorCodes.REVISION_NOT_FOUND, `revision ${ctx.revision ?? '?'} not found in ${ctx.repo} on ${ctx.host}`, { details });
    case 'EntryNotFound':
      return new CacheError(ErrorCodes.ENTRY_NOT_FOUND, `${ctx.path ?? 'entry'} not found in ${ctx.repo}@${ctx.revision ?? '?'} on ${ctx.host}`, { details });
    case 'GatedRepo':
      return new CacheError(
        ErrorCodes.GATED_REPO,
        `repository ${ctx.repo} is gated on ${ctx.host}: ${ctx.tokenSent ? 'the token has not been granted access' : 'log in (set HF_TOKEN) and request access'}`,
        { details },
      );
    default:
      break;
  }
  if (status === 401 || status === 403) {
    const why = /invalid credentials/i.test(serverMsg) ? 'the token is invalid' : ctx.tokenSent ? 'the token was refused' : 'a token is required';
    return new CacheError(ErrorCodes.UNAUTHORIZED, `${ctx.host}: unauthorized (HTTP ${status}) for ${where}: ${why}`, { details });
  }
  if (status === 404) {
    return new CacheError(ctx.notFound, `${where} not found on ${ctx.host} (HTTP 404)`, { details });
  }
  return new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${ctx.host}: unexpected HTTP ${status} for ${where}`, { retryable: false, details });
}

const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN',
  'EAI_AGAIN', 'ENOTFOUND', 'EADDRNOTAVAIL', 'ERR_STREAM_PREMATURE_CLOSE', 'HPE_INVALID_CONSTANT', 'ERR_HTTP_CONTENT_LENGTH_MISMATCH',
]);

/** True for errors of the connection itself (refused, reset, dropped mid-body, DNS hiccup). */
export function isNetworkError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || e.code.startsWith('UND_ERR') || e.code.startsWith('HPE_'))) return true;
  return e.message === 'aborted' || e.message === 'socket hang up';
}

/** A connection-level failure as a retryable E_ORIGIN_UNAVAILABLE naming the host. */
export function networkError(host: string, err: unknown, what: string): CacheError {
  const e = err as { code?: unknown; message?: unknown };
  const reason = typeof e?.code === 'string' ? e.code : typeof e?.message === 'string' ? e.message : String(err);
  return new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `cannot reach ${host} for ${what}: ${reason}`, {
    retryable: true,
    cause: err,
    details: { host },
  });
}
