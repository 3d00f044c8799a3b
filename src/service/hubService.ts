import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { OpenedCache } from '../cache/maintenanceApi.js';
import { createHubListingsRepo, type HubListingRow, type ListedFileRow } from '../db/hubListingsRepo.js';
import { CacheError, ErrorCodes, toErrorShape } from '../errors.js';
import type { Log } from '../logger.js';
import { canonicalRef } from '../origin/modelRef.js';
import { resolveThroughChain } from '../origin/resolveThroughChain.js';
import type { Listing, ModelRef, Origin, RemoteFile } from '../origin/types.js';
import { contentKey, createFileTaps, type FileTap } from './fileTap.js';
import type { RequestEvent } from './getTypes.js';
import type { Lease, Leases } from './leases.js';
import type { ModelService } from './modelService.js';

const HEX40 = /^[0-9a-f]{40}$/;
/**
 * Most bytes a reader of a download in flight takes from the tap at once: what one client that stops
 * reading can hold in the daemon's memory (a whole window per reader would let a few readers hold GBs).
 */
const READ_CHUNK_BYTES = 1024 * 1024;

/** Who asks: `authorized` requests carry the daemon's local secret and may use the configured token. */
export interface HubCaller {
  authorized: boolean;
  client?: string | undefined;
  run?: string | undefined;
}

/** A repo at a commit, every file with its path from the repo root. */
export interface RepoListing {
  repo: string;
  /** The revision asked for. */
  revision: string;
  commit: string;
  files: ListedFileRow[];
  /** Fetched without the configured token. */
  isPublic: boolean;
  /** When it was first fetched from an origin (epoch ms). */
  fetchedAt: number;
  /** The origin (by name) that listed it. */
  origin: string;
  /** Served from memory because the origin chain could not be reached just now: a miss fails at once. */
  unreachable?: CacheError;
}

/** One file being served: its bytes from `from` to `to` (inclusive) as a stream, then finish(). */
export interface ServedFile {
  /** True when the bytes came from the cache (no byte from an origin for this request). */
  readonly cached: boolean;
  /**
   * The bytes [from, to]. On a miss they follow the download as it arrives; the last byte of the file
   * is delivered only after the whole file verified, and a failed verification destroys the stream with
   * an error (the caller must cut the client's connection, not end it).
   */
  stream(from: number, to: number): Readable;
  /** Ends the request: releases its lease and accounts it (`bytesServed` bytes went out; `error` when it failed). */
  finish(bytesServed: number, error?: unknown): void;
}

export interface HubServiceDeps {
  cache: OpenedCache;
  leases: Leases;
  models: Pick<ModelService, 'ensureListed'>;
  /** The configured origins (they may use the configured token). */
  origins: () => Origin[];
  /** The same chain without any token: what anonymous callers are served through. */
  anonymousOrigins: () => Origin[];
  /** Whether any configured origin sends a token (else every fetch is anonymous anyway). */
  tokenConfigured: () => boolean;
  offline: () => boolean;
  revalidateAfterMs: () => number;
  /** Anonymous callers may make the cache download (true) or are served only what is cached (false). */
  anonymousMisses: () => boolean;
  record: (e: RequestEvent) => void;
  clock?: () => number;
  logger?: Pick<Log, 'warn' | 'info'>;
}

/** The accounting name of a file: `<repo>@<commit>`, or `<repo>:<top folder>@<commit>` for a file in a folder. */
export function accountedModelOf(repo: string, commit: string, filePath: string): string {
  const slash = filePath.indexOf('/');
  return slash > 0 ? `${repo}:${filePath.slice(0, slash)}@${commit}` : `${repo}@${commit}`;
}

/** The single-file reference of one file of a repo at a commit (the exact-path filter form). */
export function fileRefOf(repo: string, commit: string, filePath: string): ModelRef {
  return { repo, revision: commit, subfolder: null, filter: { include: [], exclude: [], files: [filePath] } };
}

/**
 * What the Hub-compatible endpoint asks of the cache (no HTTP here): listings of a repo at a revision,
 * remembered in the index so they answer offline, and single files served through the model machinery
 * (a single-file model per file: LRU, pins, leases and accounting as for any model).
 *
 * Security rule: a caller without the local secret is served through the tokenless chain and only
 * listings known public (fetched without a token); a listing fetched with the token is re-checked
 * anonymously before such a caller sees it, and refused (E_REPO_NOT_FOUND / E_GATED_REPO /
 * E_UNAUTHORIZED) when that fails or cannot be done (offline).
 */
export function createHubService(deps: HubServiceDeps) {
  const clock = deps.clock ?? Date.now;
  const repo = createHubListingsRepo(deps.cache.db);
  const taps = createFileTaps();
  const resolving = new Map<string, Promise<RepoListing>>();
  /** Parsed listings by repo and commit (most recently used last), with their files by path. */
  const parsed = new Map<string, { row: HubListingRow; byPath: Map<string, ListedFileRow> }>();
  const PARSED_MAX = 64;

  function memo(row: HubListingRow): HubListingRow {
    const key = `${row.repo}@${row.commit}`;
    parsed.delete(key);
    parsed.set(key, { row, byPath: new Map(row.files.map((f) => [f.path, f])) });
    if (parsed.size > PARSED_MAX) parsed.delete(parsed.keys().next().value!);
    return row;
  }

  function listingRow(repoId: string, commit: string): HubListingRow | null {
    const hit = parsed.get(`${repoId}@${commit}`);
    if (hit) return hit.row;
    const row = repo.getListing('model', repoId, commit);
    return row ? memo(row) : null;
  }

  const toListing = (row: HubListingRow, revision: string): RepoListing => ({
    repo: row.repo,
    revision,
    commit: row.commit,
    files: row.files,
    isPublic: row.isPublic,
    fetchedAt: row.fetchedAt,
    origin: row.origin,
  });

  /** The remembered listing of `repoId` at `revision` (any age), or null. */
  function remembered(repoId: string, revision: string): { row: HubListingRow; resolvedAt: number } | null {
    if (HEX40.test(revision)) {
      const row = listingRow(repoId, revision);
      return row ? { row, resolvedAt: Infinity } : null;
    }
    const ref = repo.getRef('model', repoId, revision);
    if (!ref) return null;
    const row = listingRow(repoId, ref.commit);
    return row ? { row, resolvedAt: ref.resolvedAt } : null;
  }

  function refused(repoId: string, why: string): CacheError {
    return new CacheError(
      ErrorCodes.UNAUTHORIZED,
      `${repoId} needs the configured Hub token: send the local secret as HF_TOKEN (see hubSecretFile in status) (${why})`,
      { details: { repo: repoId } },
    );
  }

  async function fetchListing(repoId: string, revision: string, caller: HubCaller): Promise<RepoListing> {
    const chain = caller.authorized ? deps.origins() : deps.anonymousOrigins();
    const ref: ModelRef = { repo: repoId, revision, subfolder: null };
    const { listing, origin } = await resolveThroughChain(chain, ref, undefined, deps.logger);
    const isPublic = !caller.authorized || !deps.tokenConfigured();
    const now = clock();
    const prior = repo.getListing('model', repoId, listing.commit);
    const row: HubListingRow = {
      kind: 'model',
      repo: repoId,
      commit: listing.commit,
      origin: origin.name,
      isPublic: isPublic || (prior?.isPublic ?? false),
      files: listing.files.map(toRow),
      fetchedAt: prior?.fetchedAt ?? now,
    };
    repo.putListing(row);
    memo(row);
    if (!HEX40.test(revision)) repo.putRef({ kind: 'model', repo: repoId, revision, commit: listing.commit, resolvedAt: now });
    return toListing(row, revision);
  }

  /**
   * `repoId` at `revision`: from memory while fresh (a commit always is; a branch for revalidateAfter),
   * else from the origin chain; when the chain cannot answer (offline, origin down) the remembered
   * listing of any age. One fetch per (caller kind, repo, revision) at a time.
   */
  async function listing(repoId: string, revision: string, caller: HubCaller): Promise<RepoListing> {
    const mem = remembered(repoId, revision);
    const allowed = (row: HubListingRow) => caller.authorized || row.isPublic;
    if (mem && allowed(mem.row) && (deps.offline() || clock() - mem.resolvedAt < deps.revalidateAfterMs())) {
      return toListing(mem.row, revision);
    }
    if (deps.offline()) {
      if (mem) throw refused(repoId, 'offline: it cannot be checked to be public');
      throw new CacheError(ErrorCodes.OFFLINE, `offline: ${repoId}@${revision} is not cached (no listing remembered)`, {
        details: { repo: repoId, revision },
      });
    }
    const key = `${caller.authorized ? 'a' : 'p'}:${repoId}@${revision}`;
    let flight = resolving.get(key);
    if (!flight) {
      flight = fetchListing(repoId, revision, caller).finally(() => resolving.delete(key));
      resolving.set(key, flight);
    }
    try {
      return await flight;
    } catch (err) {
      const e = err instanceof CacheError ? err : null;
      const unreachable = e?.code === ErrorCodes.ORIGIN_UNAVAILABLE || e?.code === ErrorCodes.STALLED;
      if (unreachable && mem && allowed(mem.row)) {
        deps.logger?.warn({ repo: repoId, revision, err: toErrorShape(err) }, 'origin unreachable: serving the remembered listing');
        return { ...toListing(mem.row, revision), unreachable: e! };
      }
      throw err;
    }
  }

  /** The entry of `filePath` in the listing, or E_ENTRY_NOT_FOUND naming it (details.commit set). */
  function entryOf(l: RepoListing, filePath: string): ListedFileRow {
    const f = parsed.get(`${l.repo}@${l.commit}`)?.byPath.get(filePath) ?? l.files.find((x) => x.path === filePath);
    if (!f) {
      throw new CacheError(ErrorCodes.ENTRY_NOT_FOUND, `${filePath} not found in ${l.repo}@${l.commit}`, {
        details: { repo: l.repo, commit: l.commit, path: filePath },
      });
    }
    return f;
  }

  /**
   * Whether `caller` may read file `f` (its bytes or its headers). A request with the secret, or any
   * request when no token is configured, may. Otherwise the file must be known readable without the
   * token: remembered as such, or checked now by asking the tokenless chain for its end (an empty range,
   * no content transferred) and remembered. A file that cannot be checked (offline, origin down) is
   * refused, cached or not: bytes fetched with the token never reach a request without the secret.
   */
  async function authorizeFile(l: RepoListing, f: ListedFileRow, caller: HubCaller): Promise<void> {
    if (caller.authorized || !deps.tokenConfigured()) return;
    if (repo.isPublicFile('model', l.repo, l.commit, f.path)) return;
    if (deps.offline()) throw refused(l.repo, `offline: ${f.path} cannot be checked to be public`);
    const chain = deps.anonymousOrigins();
    const origin = chain.find((o) => o.name === l.origin) ?? chain[0];
    if (!origin) throw refused(l.repo, 'no origin to check it with');
    const remote = rowToRemote(f);
    try {
      const opened = await origin.open({ ref: fileRefOf(l.repo, l.commit, f.path), commit: l.commit, files: [remote], origin: origin.name }, remote, f.size);
      opened.stream.destroy();
    } catch (err) {
      const code = err instanceof CacheError ? err.code : null;
      if (code === ErrorCodes.REPO_NOT_FOUND || code === ErrorCodes.GATED_REPO || code === ErrorCodes.UNAUTHORIZED) throw err;
      throw refused(l.repo, `${f.path} could not be checked to be public: ${toErrorShape(err).message}`);
    }
    repo.markPublicFile('model', l.repo, l.commit, f.path);
  }

  /** Whether the content of `f` is in the store (served without an origin). */
  function isCached(l: RepoListing, f: ListedFileRow): boolean {
    const canon = canonicalRef(fileRefOf(l.repo, l.commit, f.path));
    const look = deps.cache.lookup(canon);
    if (look.hit) return true;
    return deps.cache.findBlob(expectedOfRow(f)) !== null;
  }

  /** Accounts a metadata-only file request (HEAD): a hit when the file is cached, else a miss. */
  function recordProbe(l: RepoListing, f: ListedFileRow, caller: HubCaller, t0: number): boolean {
    const cached = isCached(l, f);
    deps.record({
      model: accountedModelOf(l.repo, l.commit, f.path),
      outcome: cached ? 'hit' : 'miss',
      bytesServed: 0,
      bytesDownloaded: 0,
      durationMs: performance.now() - t0,
      client: caller.client,
      run: caller.run,
    });
    return cached;
  }

  /** Accounts a request that failed before any file was chosen. */
  function recordError(modelName: string, caller: HubCaller, t0: number, err: unknown): void {
    deps.record({
      model: modelName,
      outcome: 'error',
      bytesServed: 0,
      bytesDownloaded: 0,
      durationMs: performance.now() - t0,
      client: caller.client,
      run: caller.run,
      errorCode: toErrorShape(err).code,
    });
  }

  /**
   * Serves one file of a listing: a hit reads the snapshot file under a lease; a miss starts (or joins)
   * the single-file admission and follows its download through a tap.
   */
  function serveFile(l: RepoListing, f: ListedFileRow, caller: HubCaller, t0: number): ServedFile {
    const cachedNow = isCached(l, f);
    if (!cachedNow && deps.offline()) {
      throw new CacheError(ErrorCodes.OFFLINE, `offline: ${l.repo}@${l.commit}:${f.path} is not cached`);
    }
    if (!cachedNow && l.unreachable) {
      throw new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${l.repo}@${l.commit}:${f.path} is not cached and the origin cannot be reached (${l.unreachable.message})`, {
        retryable: true,
      });
    }
    if (!cachedNow && !caller.authorized && !deps.anonymousMisses()) {
      throw refused(l.repo, 'anonymous downloads are turned off (hubMirror.anonymousMisses)');
    }
    const chain = caller.authorized ? deps.origins() : deps.anonymousOrigins();
    const origin = chain.find((o) => o.name === l.origin) ?? chain[0];
    if (!origin) throw new CacheError(ErrorCodes.CONFIG, 'no origins configured: add one to "origins" in the config');
    const fileListing: Listing = {
      ref: fileRefOf(l.repo, l.commit, f.path),
      commit: l.commit,
      files: [rowToRemote(f)],
      origin: origin.name,
    };
    const key = contentKey(expectedOfRow(f));
    const tap: FileTap | null = key !== null ? taps.acquire(key, f.size) : null;
    let lease: Lease | null = null;
    let finished = false;
    let outcome: { cached: boolean; bytesDownloaded: number; leader: boolean; filePath: string } | null = null;
    let failure: unknown = null;
    const flight = deps.models
      .ensureListed(fileListing, origin, { wrapSink: (s) => taps.wrapSink(s) })
      .then((r) => {
        const filePath = path.join(r.model.path, f.path);
        if (!finished) lease = deps.leases.acquire(r.model.id, null, caller.client ?? null);
        deps.cache.touch(r.model.id, clock(), r.cached || r.bytesDownloaded === 0);
        outcome = { cached: r.cached || r.bytesDownloaded === 0, bytesDownloaded: r.bytesDownloaded, leader: r.leader, filePath };
        return outcome;
      });
    flight.catch((err: unknown) => {
      failure = err;
    });

    async function* follow(from: number, to: number, signal: AbortSignal): AsyncGenerator<Buffer> {
      let pos = from;
      let sentGen: number | null = null;
      const settled = flight.then(
        () => undefined,
        () => undefined,
      );
      while (pos <= to) {
        if (outcome) {
          yield* readFile(outcome.filePath, pos, to);
          return;
        }
        if (failure) throw failure;
        const v = tap ? tap.view(pos, Math.min(to + 1, pos + READ_CHUNK_BYTES)) : { kind: 'wait' as const };
        if (v.kind === 'bytes') {
          if (sentGen !== null && sentGen !== v.gen) throw new CacheError(ErrorCodes.INTEGRITY, `${f.path}: the download restarted after bytes were sent`);
          sentGen = v.gen;
          pos += v.data.byteLength;
          yield v.data;
          continue;
        }
        if (v.kind === 'failed' && sentGen === v.gen) throw v.err;
        if (signal.aborted) return;
        await Promise.race([tap ? tap.changed(signal) : settled, settled]);
      }
    }

    return {
      get cached() {
        return cachedNow;
      },
      stream(from, to) {
        const ac = new AbortController();
        const r = Readable.from(follow(from, to, ac.signal), { objectMode: false });
        r.once('close', () => ac.abort());
        return r;
      },
      finish(bytesServed, error) {
        if (finished) return;
        finished = true;
        if (tap && key) taps.release(key);
        const done = () => {
          if (lease) deps.leases.release((lease as Lease).id);
        };
        const o = outcome as typeof outcome;
        const err = error ?? (o ? null : failure);
        deps.record({
          model: accountedModelOf(l.repo, l.commit, f.path),
          outcome: err ? 'error' : cachedNow || o?.cached ? 'hit' : 'miss',
          bytesServed,
          bytesDownloaded: o?.leader ? o.bytesDownloaded : 0,
          durationMs: performance.now() - t0,
          client: caller.client,
          run: caller.run,
          ...(err ? { errorCode: toErrorShape(err).code } : {}),
        });
        if (o) done();
        else flight.then(done, () => undefined);
      },
    };
  }

  return { listing, entryOf, authorizeFile, isCached, recordProbe, recordError, serveFile, tapsAlive: () => taps.size() };
}

export type HubService = ReturnType<typeof createHubService>;

function toRow(f: RemoteFile): ListedFileRow {
  const r: ListedFileRow = { path: f.path, size: f.size };
  if (f.sha256) r.sha256 = f.sha256;
  if (f.gitSha1) r.gitSha1 = f.gitSha1;
  return r;
}

function rowToRemote(f: ListedFileRow): RemoteFile {
  const r: RemoteFile = { path: f.path, size: f.size };
  if (f.sha256) r.sha256 = f.sha256;
  if (f.gitSha1) r.gitSha1 = f.gitSha1;
  return r;
}

function expectedOfRow(f: ListedFileRow): { size: number; sha256?: string; gitSha1?: string } {
  const e: { size: number; sha256?: string; gitSha1?: string } = { size: f.size };
  if (f.sha256) e.sha256 = f.sha256;
  if (f.gitSha1) e.gitSha1 = f.gitSha1;
  return e;
}

/** Bytes [from, to] of a file, in chunks. */
async function* readFile(p: string, from: number, to: number): AsyncGenerator<Buffer> {
  if (to < from) return;
  const s = fs.createReadStream(p, { start: from, end: to, highWaterMark: 1 << 20 });
  for await (const chunk of s) yield chunk as Buffer;
}
