import { CacheError, ErrorCodes } from '../errors.js';
import { faultPoint } from '../faults.js';
import { modelKeyOf } from '../store/layout.js';
import type { BlobSink, ExpectedContent } from '../store/types.js';
import { distrustedDigests } from './distrustedDigests.js';
import type { OpenedCache } from './maintenanceApi.js';
import type { ModelRecord, Reservation, SnapshotFile } from './types.js';

/** What a fetch wrote into the admission's sink. */
export interface FetchedSnapshot {
  files: SnapshotFile[];
  /** Every byte transferred, from any source. */
  bytesDownloaded: number;
  /** Of bytesDownloaded, the bytes that came from a shared tier rather than the origin. */
  bytesFromTier?: number;
  durationMs: number;
}

/** One snapshot to bring into the cache, and how to fetch its files. */
export interface AdmissionSource {
  /** When given and this reference already resolves to a cached, ready model, nothing is fetched. */
  ref?: string;
  repo: string;
  subfolder: string | null;
  commit: string;
  /** Origin name recorded with the model. */
  origin: string;
  /** Expected content of every file of the snapshot (to count the bytes still to fetch). */
  files: ExpectedContent[];
  /** Writes every file of the snapshot into `sink`, taking what `sink.findBlob` already has. */
  fetch(sink: BlobSink): Promise<FetchedSnapshot>;
}

export interface AdmissionOutcome {
  model: ModelRecord;
  /** 0 when everything was in the store already. */
  bytesDownloaded: number;
  /** Of bytesDownloaded, the bytes from a shared tier (absent: none). */
  bytesFromTier?: number;
}

export interface Admissions {
  /**
   * Joins the admission running under `key`, or starts one (prepare(), then admit()) when none runs.
   * Concurrent callers share one flight and its outcome; `leader` is true for the caller that started it.
   * A caller whose `signal` aborts stops waiting (E_SHUTTING_DOWN) while the flight goes on for the others.
   */
  ensure(
    key: string,
    prepare: () => Promise<AdmissionSource>,
    signal?: AbortSignal,
  ): Promise<{ outcome: AdmissionOutcome; leader: boolean }>;
  /** The admission transaction on its own (not joined with anything). */
  admit(source: AdmissionSource): Promise<AdmissionOutcome>;
  isInFlight(key: string): boolean;
  /** Number of flights running. */
  inFlight(): number;
}

/**
 * The admission transaction: blob scope → count the bytes not in the store → make room (LRU, never a
 * pinned model or one isLeased() names) → reserve them → fetch into the scope → admit → release the
 * reservation and the scope, whatever happened. Invariants: space is made and reserved before the
 * first byte is written; every blob the admission finds or writes stays in the store until it ends;
 * blobs of a damaged predecessor that cannot be trusted are fetched again, never reused; the pin of
 * the predecessor (the same model, else any pinned commit of the same repo and subfolder) carries over;
 * the fault point 'before-admit' fires after the fetch, before the admit.
 */
export function createAdmissions(opts: {
  cache: OpenedCache;
  isLeased: (modelId: number) => boolean;
  /** Told about a blob found corrupt (changed behind the cache) and quarantined. */
  onQuarantined?: (sha256: string) => void;
}): Admissions {
  const { cache } = opts;
  const flights = new Map<string, Promise<AdmissionOutcome>>();

  async function admit(source: AdmissionSource): Promise<AdmissionOutcome> {
    if (source.ref !== undefined) {
      const again = cache.lookup(source.ref);
      if (again.hit && cache.confirmIntact(again.model.id)) return { model: again.model, bytesDownloaded: 0 };
    }
    const key = modelKeyOf(source.repo, source.subfolder, source.commit);
    const previous = cache.getModel(key);
    const suspect = previous ? distrustedDigests(cache, previous, opts.onQuarantined) : new Set<string>();
    const scope = cache.blobScope();
    const sink: BlobSink = {
      findBlob: (e: ExpectedContent) => {
        if ((e.sha256 && suspect.has(e.sha256)) || (e.gitSha1 && suspect.has(e.gitSha1))) return null;
        return scope.findBlob(e);
      },
      openWriter: (e, o) => scope.openWriter(e, o),
    };

    let reservation: Reservation | null = null;
    try {
      let needed = 0;
      for (const f of source.files) {
        if (!sink.findBlob(f)) needed += f.size;
      }
      cache.makeRoom(needed, opts.isLeased);
      reservation = cache.reserve(needed);
      const res = await source.fetch(sink);
      faultPoint('before-admit', key);
      const model = cache.admit({
        repo: source.repo,
        subfolder: source.subfolder,
        commit: source.commit,
        origin: source.origin,
        fetchMs: res.bytesDownloaded > 0 ? res.durationMs : (previous?.fetchMs ?? null),
        files: res.files,
        pinned: previous?.pinned ?? pinnedPredecessor(source),
      });
      return { model, bytesDownloaded: res.bytesDownloaded, ...(res.bytesFromTier ? { bytesFromTier: res.bytesFromTier } : {}) };
    } finally {
      reservation?.release();
      scope.release();
    }
  }

  /** A pin follows a branch to its new commit. */
  function pinnedPredecessor(source: AdmissionSource): boolean {
    for (const m of cache.list()) {
      if (m.repo === source.repo && m.subfolder === source.subfolder && m.pinned) return true;
    }
    return false;
  }

  return {
    async ensure(key, prepare, signal) {
      let leader = false;
      let flight = flights.get(key);
      if (!flight) {
        leader = true;
        flight = (async () => admit(await prepare()))().finally(() => flights.delete(key));
        flights.set(key, flight);
      }
      return { outcome: await waitFor(flight, signal), leader };
    },
    admit,
    isInFlight: (key) => flights.has(key),
    inFlight: () => flights.size,
  };
}

/** Stops waiting when the caller's signal aborts; the shared work goes on for the others. */
function waitFor<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new CacheError(ErrorCodes.SHUTTING_DOWN, 'request cancelled'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CacheError(ErrorCodes.SHUTTING_DOWN, 'request cancelled', { retryable: true }));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
