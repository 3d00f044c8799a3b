import { Readable } from 'node:stream';
import { CacheError, ErrorCodes, type ErrorCode } from '../errors.js';
import type { Log } from '../logger.js';
import { discard, header, httpRequest, readBody, type HttpAnswer } from './httpClient.js';
import { hubError, isNetworkError, networkError, type HubContext } from './hubErrors.js';
import { assertListingStorable } from './listingRules.js';
import { selectFiles } from './fileFilter.js';
import { assertSafeRelativePath } from './modelRef.js';
import type { Listing, ModelRef, OpenedFile, Origin, RemoteFile } from './types.js';

export interface HuggingFaceOriginOptions {
  /** Base URL, e.g. `https://huggingface.co` (a trailing slash is ignored). */
  endpoint: string;
  /** Sent as `Authorization: Bearer …` to the endpoint's own host only; never logged, never in a message. */
  token?: string | null;
  /** Only debug is used, with URLs stripped of their query. */
  logger?: Pick<Log, 'debug'>;
  /** Redirect hops per request (default 10). */
  maxRedirects?: number;
}

const HEX40 = /^[0-9a-f]{40}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const JSON_LIMIT = 64 * 1024 * 1024;
const MAX_PAGES = 100_000;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const encodePath = (p: string): string => p.split('/').map(encodeURIComponent).join('/');
const encodeRepo = (repo: string): string => repo.split('/').map(encodeURIComponent).join('/');

/**
 * The Hugging Face Hub as an Origin (see reference/hf-hub-protocol.md). resolve pins the revision to a commit
 * and lists the files at that commit with the tree API; open downloads `/<repo>/resolve/<commit>/<path>`,
 * following redirects by hand so the token only ever goes to the endpoint's own origin (scheme+host+port):
 * the CDN an LFS file is redirected to never sees it. No retries here: the downloader retries.
 */
export function createHuggingFaceOrigin(opts: HuggingFaceOriginOptions): Origin {
  const base = opts.endpoint.replace(/\/+$/, '');
  const baseUrl = new URL(base);
  const host = baseUrl.host;
  const token = opts.token && opts.token.length > 0 ? opts.token : null;
  const maxRedirects = opts.maxRedirects ?? 10;
  const log = opts.logger;

  /** Never let the token into text that leaves this module (server messages could echo it). */
  const scrub = (e: CacheError): CacheError => {
    if (!token || !e.message.includes(token)) return e;
    return new CacheError(e.code, e.message.split(token).join('***'), { retryable: e.retryable, details: e.details });
  };

  function headersFor(url: URL, extra: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { 'User-Agent': 'vocorize-cache/0.1', ...extra };
    if (token && url.origin === baseUrl.origin) h.Authorization = `Bearer ${token}`;
    return h;
  }

  /**
   * One logical request: follows up to maxRedirects redirects (relative or absolute), re-deciding the
   * Authorization header at every hop; refuses non-http(s) targets and https → http downgrades.
   * Answers the final non-redirect response; errors are mapped with `ctx`.
   */
  async function request(
    start: URL,
    ctx: HubContext,
    extra: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<HttpAnswer> {
    let url = start;
    for (let hop = 0; ; hop++) {
      let ans: HttpAnswer;
      try {
        log?.debug({ url: `${url.origin}${url.pathname}`, range: extra.Range }, 'hub request');
        ans = await httpRequest(url, { headers: headersFor(url, extra), signal });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        throw scrub(networkError(url.host, err, `${ctx.repo}${ctx.path ? `:${ctx.path}` : ''}`));
      }
      if (!REDIRECTS.has(ans.status)) return ans;
      discard(ans.body);
      const loc = header(ans.headers, 'location');
      if (!loc) throw new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${url.host}: HTTP ${ans.status} without a Location for ${ctx.repo}`);
      if (hop >= maxRedirects) {
        throw new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${host}: more than ${maxRedirects} redirects for ${ctx.repo}${ctx.path ? `:${ctx.path}` : ''}`);
      }
      const next = new URL(loc, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${url.host}: refusing a redirect to a ${next.protocol} URL`);
      }
      if (url.protocol === 'https:' && next.protocol === 'http:') {
        throw new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${url.host}: refusing a redirect from https to http (${next.host})`);
      }
      url = next;
    }
  }

  async function getJson(url: URL, ctx: HubContext, signal?: AbortSignal): Promise<{ value: unknown; ans: HttpAnswer }> {
    const ans = await request(url, ctx, { Accept: 'application/json' }, signal);
    if (ans.status !== 200) {
      discard(ans.body);
      throw scrub(hubError(ans.status, ans.headers, ctx));
    }
    let text: Buffer;
    try {
      text = await readBody(ans.body, JSON_LIMIT);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (isNetworkError(err)) throw networkError(host, err, ctx.repo);
      throw new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${host}: ${(err as Error).message} for ${ctx.repo}`);
    }
    try {
      return { value: JSON.parse(text.toString('utf8')) as unknown, ans };
    } catch {
      throw new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${host}: answer for ${ctx.repo} is not JSON`);
    }
  }

  const ctxOf = (ref: ModelRef, notFound: ErrorCode, extra: Partial<HubContext> = {}): HubContext => ({
    host,
    repo: ref.repo,
    revision: ref.revision,
    tokenSent: token !== null,
    notFound,
    ...extra,
  });

  async function resolveCommit(ref: ModelRef, signal?: AbortSignal): Promise<string> {
    const url = new URL(`${base}/api/models/${encodeRepo(ref.repo)}/revision/${encodeURIComponent(ref.revision)}`);
    const { value } = await getJson(url, ctxOf(ref, ErrorCodes.REPO_NOT_FOUND), signal);
    const sha = (value as { sha?: unknown } | null)?.sha;
    if (typeof sha !== 'string' || !HEX40.test(sha)) {
      throw new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${host}: no commit sha in the answer for ${ref.repo}@${ref.revision}`);
    }
    return sha;
  }

  async function listTree(ref: ModelRef, commit: string, signal?: AbortSignal): Promise<RemoteFile[]> {
    const folder = ref.subfolder ? `/${encodePath(ref.subfolder)}` : '';
    let url: URL | null = new URL(`${base}/api/models/${encodeRepo(ref.repo)}/tree/${commit}${folder}?recursive=true&expand=false`);
    const ctx = ctxOf(ref, ErrorCodes.ENTRY_NOT_FOUND, { revision: commit, path: ref.subfolder ?? '' });
    const seen = new Set<string>();
    const files = new Map<string, RemoteFile>();
    const prefix = ref.subfolder ? `${ref.subfolder}/` : '';
    for (let page = 0; url; page++) {
      if (page >= MAX_PAGES || seen.has(url.href)) {
        throw new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${host}: tree listing of ${ref.repo} does not end (pagination loop)`);
      }
      seen.add(url.href);
      const { value, ans } = await getJson(url, ctx, signal);
      if (!Array.isArray(value)) throw new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${host}: tree listing of ${ref.repo} is not an array`);
      for (const entry of value) {
        const f = parseTreeEntry(entry, ref, prefix);
        if (!f) continue;
        if (files.has(f.path)) throw new CacheError(ErrorCodes.UNSAFE_PATH, `path ${JSON.stringify(f.path)} appears twice in the listing of ${ref.repo}`);
        files.set(f.path, f);
      }
      url = nextLink(header(ans.headers, 'link'), ans.url);
    }
    return [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  function parseTreeEntry(entry: unknown, ref: ModelRef, prefix: string): RemoteFile | null {
    const bad = (why: string) => new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${host}: malformed tree entry in ${ref.repo}: ${why}`);
    if (!entry || typeof entry !== 'object') throw bad('not an object');
    const e = entry as Record<string, unknown>;
    if (e.type !== 'file') return null;
    if (typeof e.path !== 'string') throw bad('path is not a string');
    assertSafeRelativePath(e.path);
    if (!e.path.startsWith(prefix)) {
      throw new CacheError(ErrorCodes.UNSAFE_PATH, `path ${JSON.stringify(e.path)} in the listing of ${ref.repo} is outside ${ref.subfolder}`);
    }
    const rel = assertSafeRelativePath(e.path.slice(prefix.length));
    const lfs = e.lfs && typeof e.lfs === 'object' ? (e.lfs as Record<string, unknown>) : null;
    const size = lfs && typeof lfs.size === 'number' ? lfs.size : e.size;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw bad(`size of ${rel} is not a byte count`);
    const out: RemoteFile = { path: rel, size };
    if (lfs) {
      const oid = typeof lfs.oid === 'string' ? lfs.oid.toLowerCase() : '';
      if (!HEX64.test(oid)) throw bad(`lfs.oid of ${rel} is not a sha256`);
      out.sha256 = oid;
    } else if (typeof e.oid === 'string' && HEX40.test(e.oid.toLowerCase())) {
      out.gitSha1 = e.oid.toLowerCase();
    }
    return out;
  }

  return {
    name: 'huggingface',

    async resolve(ref: ModelRef, signal?: AbortSignal): Promise<Listing> {
      const commit = await resolveCommit(ref, signal);
      const files = await listTree(ref, commit, signal);
      if (files.length === 0) {
        throw new CacheError(ErrorCodes.ENTRY_NOT_FOUND, `${ref.repo}@${ref.revision}${ref.subfolder ? `:${ref.subfolder}` : ''} has no files on ${host}`);
      }
      assertListingStorable(files.map((f) => f.path), `${ref.repo}${ref.subfolder ? `:${ref.subfolder}` : ''}@${commit} on ${host}`);
      return { ref, commit, files: selectFiles(ref, files), origin: 'huggingface' };
    },

    /**
     * 206 → the stream starts at `offset`; 200 → it starts at 0 (the server ignored the Range: the caller
     * restarts). 416 means the Range starts at or past the end: when `offset` equals the file's size the
     * file is complete (an empty stream at `offset`), otherwise the file changed size and it is fetched
     * again from 0.
     */
    async open(listing: Listing, file: RemoteFile, offset: number, signal?: AbortSignal): Promise<OpenedFile> {
      const full = listing.ref.subfolder ? `${listing.ref.subfolder}/${file.path}` : file.path;
      const url = new URL(`${base}/${encodeRepo(listing.ref.repo)}/resolve/${listing.commit}/${encodePath(full)}`);
      const ctx = ctxOf(listing.ref, ErrorCodes.ENTRY_NOT_FOUND, { revision: listing.commit, path: full });
      const ans = await request(url, ctx, offset > 0 ? { Range: `bytes=${offset}-` } : {}, signal);
      if (ans.status === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(ans.headers, 'content-range') ?? '');
        if (!m || Number(m[1]) !== offset) {
          ans.body.destroy();
          throw new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${ans.url.host}: 206 for ${full} does not start at byte ${offset}`, { retryable: true });
        }
        return { stream: ans.body, offset, total: m[3] === '*' ? file.size : Number(m[3]) };
      }
      if (ans.status === 200) {
        const len = Number(header(ans.headers, 'content-length'));
        return { stream: ans.body, offset: 0, total: Number.isSafeInteger(len) ? len : file.size };
      }
      discard(ans.body);
      if (ans.status === 416 && offset > 0) {
        const m = /^bytes \*\/(\d+)$/.exec(header(ans.headers, 'content-range') ?? '');
        const total = m ? Number(m[1]) : file.size;
        if (offset === file.size && total === file.size) return { stream: Readable.from([]), offset, total };
        return this.open(listing, file, 0, signal);
      }
      throw scrub(hubError(ans.status, ans.headers, ctx));
    },
  };
}

/** The `rel="next"` target of a Link header, resolved against the page's URL; null when there is none. */
export function nextLink(link: string | undefined, pageUrl: URL): URL | null {
  if (!link) return null;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /(?:^|;)\s*rel="?next"?\s*(?:;|$)/i.test(m[2]!)) return new URL(m[1]!, pageUrl);
  }
  return null;
}
