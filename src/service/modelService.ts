import { performance } from 'node:perf_hooks';
import { createAdmissions, type AdmissionOutcome, type AdmissionSource } from '../cache/admission.js';
import type { OpenedCache } from '../cache/maintenanceApi.js';
import { soleCachedModel } from '../cache/soleCachedModel.js';
import type { ModelRecord, SnapshotFile } from '../cache/types.js';
import { CacheError, ErrorCodes, toErrorShape } from '../errors.js';
import { storedSubfolder } from '../origin/fileFilter.js';
import type { Listing, ModelRef, Origin } from '../origin/types.js';
import type { BlobSink, ExpectedContent } from '../store/types.js';
import type { Lease, Leases } from './leases.js';
import { snapshotKeyOf } from './modelNames.js';
import { UNRESOLVED_MODEL } from '../accounting/displayName.js';
import { resolveThroughChain } from '../origin/resolveThroughChain.js';
import type { Downloader, GetContext, GetResult, RequestEvent } from './getTypes.js';

export type { Downloader, GetContext, GetResult, RequestEvent };


export interface ModelServiceDeps {
  cache: OpenedCache;
  leases: Leases;
  downloader: Downloader;
  /** Ordered origins, tried in turn. Replaced on config reload. */
  origins: () => Origin[];
  aliases: () => Record<string, string>;
  offline: () => boolean;
  revalidateAfterMs: () => number;
  parseRef: (text: string, aliases: Record<string, string>) => ModelRef;
  canonicalRef: (ref: ModelRef) => string;
  record: (e: RequestEvent) => void;
  clock?: () => number;
  logger?: { info(o: object, m?: string): void; warn(o: object, m?: string): void; error(o: object, m?: string): void };
  /** Aborted at shutdown: downloads stop and their temp files are removed. */
  shutdownSignal?: AbortSignal;
}

const COMMIT_RE = /^[0-9a-f]{40}$/;

/**
 * `get` end to end. Invariants:
 *  - a hit is a memory lookup, a touch and a lease: no I/O, no hashing, no network; except the first
 *    hit of a model after start or after an event that could have changed it, which lstats its files
 *    against their fingerprints (never hashing) and serves it only when all match;
 *  - one fetch per canonical reference however many callers wait (single flight); every waiter
 *    of a fetch that transferred bytes counts a miss, but only the leader counts the bytes;
 *  - space is made (LRU, never leased or pinned) and reserved before the first byte is written;
 *  - a branch older than revalidateAfter is re-resolved in the background; the hit never waits.
 */
export function createModelService(deps: ModelServiceDeps) {
  const clock = deps.clock ?? Date.now;
  const { cache, leases } = deps;
  const admissions = createAdmissions({
    cache,
    isLeased: (id) => leases.isLeased(id),
    onQuarantined: (sha256) => deps.logger?.warn({ blob: sha256 }, 'blob changed behind the cache: quarantined'),
  });
  const revalidating = new Set<string>();

  function served(model: ModelRecord, canon: string, hit: boolean, ctx: GetContext): GetResult {
    cache.touch(model.id, clock(), hit);
    let lease: Lease | null = null;
    if (ctx.lease !== false) lease = leases.acquire(model.id, ctx.connId ?? null, ctx.client ?? null);
    return {
      path: model.path,
      hit,
      model: model.key,
      ref: canon,
      commit: model.commit,
      files: model.fileCount,
      bytes: model.size,
      lease: lease ? { id: lease.id, expiresAt: lease.expiresAt } : null,
    };
  }

  async function get(text: string, ctx: GetContext = {}): Promise<GetResult> {
    // A close of the connection while this request runs is remembered, so no lease outlives it.
    const untrack = ctx.connId != null ? leases.track(ctx.connId) : null;
    try {
      return await getTracked(text, ctx);
    } finally {
      untrack?.();
    }
  }

  async function getTracked(text: string, ctx: GetContext): Promise<GetResult> {
    const t0 = performance.now();
    let canonical: string | null = null;
    try {
      const ref = deps.parseRef(text, deps.aliases());
      const canon = deps.canonicalRef(ref);
      canonical = canon;
      const look = cache.lookup(canon);
      // The first hit of a model since start (or since an event distrusted it) lstats its files; a
      // model that fails is now damaged and takes the miss path, which re-fetches what cannot be trusted.
      if (look.hit && cache.confirmIntact(look.model.id)) {
        const out = served(look.model, canon, true, ctx);
        if (ctx.offline !== true) maybeRevalidate(ref, canon);
        deps.record({
          model: look.model.key,
          outcome: 'hit',
          bytesServed: look.model.size,
          bytesDownloaded: 0,
          durationMs: performance.now() - t0,
          client: ctx.client,
          run: ctx.run,
          savedMs: look.model.fetchMs ?? 0,
        });
        return out;
      }
      const { outcome, leader } = await admissions.ensure(canon, () => prepare(ref, canon, ctx), ctx.signal);
      const hit = outcome.bytesDownloaded === 0;
      const out = served(outcome.model, canon, hit, ctx);
      deps.record({
        model: outcome.model.key,
        outcome: hit ? 'hit' : 'miss',
        bytesServed: outcome.model.size,
        bytesDownloaded: leader ? outcome.bytesDownloaded : 0,
        durationMs: performance.now() - t0,
        client: ctx.client,
        run: ctx.run,
        savedMs: hit ? (outcome.model.fetchMs ?? 0) : 0,
      });
      return out;
    } catch (err) {
      // Accounted under the snapshot its reference resolved to; a reference that never resolved (a typo,
      // an unknown repo, offline and uncached) is one bucket, so user text never becomes a row or a label.
      const rec = canonical === null ? null : cache.getRef(canonical);
      deps.record({
        model: rec ? snapshotKeyOf(rec) : UNRESOLVED_MODEL,
        outcome: 'error',
        bytesServed: 0,
        bytesDownloaded: 0,
        durationMs: performance.now() - t0,
        client: ctx.client,
        run: ctx.run,
        errorCode: toErrorShape(err).code,
      });
      throw err;
    }
  }

  /** Resolve through the origin chain in its configured order. */
  const resolve = (ref: ModelRef, signal?: AbortSignal) => resolveThroughChain(deps.origins(), ref, signal, deps.logger);

  /** The work a flight starts with: resolve the reference (remembering its commit) into what to admit. */
  async function prepare(ref: ModelRef, canon: string, ctx: GetContext): Promise<AdmissionSource> {
    // Offline (the daemon's config, or this request's caller's environment): never a fetch; a request
    // may still join a flight another request started, which never calls this.
    if (deps.offline() || ctx.offline === true) {
      const cached = onlyCachedCommit(ref, canon, 'offline');
      if (cached) return cached;
      throw offlineMiss(canon);
    }
    const signal = deps.shutdownSignal;
    let resolved: { listing: Listing; origin: Origin };
    try {
      resolved = await resolve(ref, signal);
    } catch (err) {
      const cached = onlyCachedCommit(ref, canon, 'no origin could resolve it');
      if (cached) return cached;
      throw err;
    }
    const { listing, origin } = resolved;
    cache.putRef({
      ref: canon,
      repo: ref.repo,
      revision: ref.revision,
      subfolder: storedSubfolder(ref),
      commit: listing.commit,
      origin: origin.name,
      resolvedAt: clock(),
    });
    return sourceOf(listing, origin, canon, ctx);
  }

  /**
   * A branch whose ref is unknown (never resolved, or lost with a rebuilt index) while no origin can
   * resolve it: the only ready commit cached for its repo and subfolder, if exactly one, is served. The
   * ref is remembered as resolved at time 0, so the first hit with an origin back re-resolves it.
   */
  function onlyCachedCommit(ref: ModelRef, canon: string, why: string): AdmissionSource | null {
    if (COMMIT_RE.test(ref.revision) || cache.getRef(canon)) return null;
    const m = soleCachedModel(cache.list(), ref.repo, ref.subfolder);
    if (!m) return null;
    deps.logger?.warn({ ref: canon, commit: m.commit, why }, 'branch not resolvable: serving the only cached commit');
    cache.putRef({ ref: canon, repo: ref.repo, revision: ref.revision, subfolder: ref.subfolder, commit: m.commit, origin: m.origin, resolvedAt: 0 });
    return {
      ref: canon,
      repo: m.repo,
      subfolder: m.subfolder,
      commit: m.commit,
      origin: m.origin,
      files: [],
      fetch: () => Promise.reject(new CacheError(ErrorCodes.INTERNAL, `${canon}: the cached commit ${m.commit} vanished`)),
    };
  }

  /**
   * A snapshot of a listing the caller already has (no resolve): a hit when it is cached and intact,
   * else the admission of the listing's files, one flight per canonical reference (joined by concurrent
   * callers). `wrapSink` sees the sink the download writes into (a tap on its writers). Takes no lease
   * and records nothing: the caller does both.
   */
  async function ensureListed(
    listing: Listing,
    origin: Origin,
    opts: { wrapSink?: (sink: BlobSink) => BlobSink; signal?: AbortSignal } = {},
  ): Promise<{ model: ModelRecord; bytesDownloaded: number; leader: boolean; cached: boolean }> {
    const canon = deps.canonicalRef(listing.ref);
    const look = cache.lookup(canon);
    if (look.hit && cache.confirmIntact(look.model.id)) return { model: look.model, bytesDownloaded: 0, leader: false, cached: true };
    const { outcome, leader } = await admissions.ensure(
      canon,
      async () => {
        cache.putRef({
          ref: canon,
          repo: listing.ref.repo,
          revision: listing.ref.revision,
          subfolder: storedSubfolder(listing.ref),
          commit: listing.commit,
          origin: origin.name,
          resolvedAt: clock(),
        });
        return sourceOf(listing, origin, canon, {}, opts.wrapSink);
      },
      opts.signal,
    );
    return { model: outcome.model, bytesDownloaded: outcome.bytesDownloaded, leader, cached: false };
  }

  /** The admission of a resolved listing: its files fetched through the downloader into the cache. */
  function sourceOf(
    listing: Listing,
    origin: Origin,
    canon: string,
    ctx: GetContext,
    wrapSink: (sink: BlobSink) => BlobSink = (s) => s,
  ): AdmissionSource {
    return {
      ref: canon,
      repo: listing.ref.repo,
      // A filtered snapshot is its own model: the filter is part of its key (and snapshot folder).
      subfolder: storedSubfolder(listing.ref),
      commit: listing.commit,
      origin: origin.name,
      files: listing.files.map(expectedOf),
      fetch: async (sink) => {
        const res = await deps.downloader.fetchFiles(listing, origin, wrapSink(sink), {
          signal: deps.shutdownSignal,
          onProgress: ctx.onProgress ? (p) => ctx.onProgress?.({ model: canon, ...p }) : undefined,
        });
        const files: SnapshotFile[] = res.files.map((f) => ({
          path: f.path,
          blob: f.sha256,
          size: f.size,
          gitSha1: f.gitSha1 || undefined,
        }));
        return { files, bytesDownloaded: res.bytesDownloaded, durationMs: res.durationMs };
      },
    };
  }

  function maybeRevalidate(ref: ModelRef, canon: string): void {
    if (COMMIT_RE.test(ref.revision) || deps.offline()) return;
    const rec = cache.getRef(canon);
    if (!rec || clock() - rec.resolvedAt < deps.revalidateAfterMs()) return;
    if (revalidating.has(canon) || admissions.isInFlight(canon)) return;
    revalidating.add(canon);
    void (async () => {
      try {
        const { listing, origin } = await resolve(ref, deps.shutdownSignal);
        if (listing.commit === rec.commit) {
          cache.putRef({ ...rec, resolvedAt: clock() });
          return;
        }
        // Fetch the new commit first; the old snapshot keeps serving until the ref moves.
        const outcome: AdmissionOutcome = await admissions.admit(sourceOf(listing, origin, `${canon}#revalidate`, {}));
        cache.putRef({ ...rec, commit: outcome.model.commit, origin: origin.name, resolvedAt: clock() });
        deps.logger?.info({ ref: canon, from: rec.commit, to: listing.commit }, 'branch moved: new snapshot cached');
      } catch (err) {
        deps.logger?.warn({ ref: canon, err: toErrorShape(err) }, 'background revalidation failed; keeping the cached commit');
      } finally {
        revalidating.delete(canon);
      }
    })();
  }

  return { get, ensureListed, resolve, inFlight: admissions.inFlight };
}

export type ModelService = ReturnType<typeof createModelService>;

/** E_OFFLINE: offline by the config ("offline") or the caller's HF_HUB_OFFLINE / VOCORIZE_CACHE_OFFLINE. */
function offlineMiss(canon: string): CacheError {
  return new CacheError(
    ErrorCodes.OFFLINE,
    `offline: ${canon} is not fully cached (unset HF_HUB_OFFLINE / VOCORIZE_CACHE_OFFLINE, or "offline" in the config, to fetch it)`,
  );
}

function expectedOf(f: { size: number; sha256?: string; gitSha1?: string }): ExpectedContent {
  const e: ExpectedContent = { size: f.size };
  if (f.sha256) e.sha256 = f.sha256;
  if (f.gitSha1) e.gitSha1 = f.gitSha1;
  return e;
}
