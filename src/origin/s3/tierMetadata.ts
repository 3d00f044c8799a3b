import { CacheError, ErrorCodes } from '../../errors.js';
import { storedSubfolder } from '../fileFilter.js';
import { assertListingStorable } from '../listingRules.js';
import { assertSafeRelativePath } from '../modelRef.js';
import type { Listing, ModelRef, OpenedFile, Origin, RemoteFile } from '../types.js';

/** What reading metadata from the tier needs of the object store (src/origin/s3/tierStore.ts). */
export interface TierMetadataStore {
  getJson(key: string): Promise<unknown>;
  getAlias(gitSha1: string): Promise<string | null>;
  openBlob(sha256: string, offset: number, signal?: AbortSignal): Promise<OpenedFile | null>;
}

const COMMIT_RE = /^[0-9a-f]{40}$/;
const SHA256_RE = /^[0-9a-f]{64}$/;
const SHA1_RE = /^[0-9a-f]{40}$/;

/** Key (relative to the tier's prefix) of a revision's commit: `refs/<repo>/<revision>`. */
export function refKey(repo: string, revision: string): string {
  return `refs/${repo}/${revision}`;
}

/**
 * Key of a listing: `listings/<repo>/<commit>.json` for a whole, unfiltered repo; a reference to a
 * subfolder or with a file filter lists other files, so it has its own key below the commit:
 * `listings/<repo>/<commit>/<stored subfolder>.json` (the stored subfolder names the filter).
 */
export function listingKey(ref: Pick<ModelRef, 'repo' | 'subfolder' | 'filter'>, commit: string): string {
  return listingKeyOfStored(ref.repo, storedSubfolder(ref), commit);
}

/** The same key from a cached model's stored subfolder (which already names its filter). */
export function listingKeyOfStored(repo: string, storedSubfolder: string | null, commit: string): string {
  return storedSubfolder === null ? `listings/${repo}/${commit}.json` : `listings/${repo}/${commit}/${storedSubfolder}.json`;
}

/** The JSON a listing is stored as on the tier. */
export function listingJson(l: Listing): { commit: string; files: RemoteFile[] } {
  return {
    commit: l.commit,
    files: l.files.map((f) => ({
      path: f.path,
      size: f.size,
      ...(f.sha256 ? { sha256: f.sha256 } : {}),
      ...(f.gitSha1 ? { gitSha1: f.gitSha1 } : {}),
    })),
  };
}

/**
 * A listing read back from the tier, checked for shape: the commit it claims, safe relative paths,
 * sizes, and at least one well-formed digest per file. Throws E_ORIGIN_UNAVAILABLE naming the key
 * when the object is not such a listing (a retry does not help until the tier is repaired).
 */
export function parseListingJson(value: unknown, key: string, commit: string): RemoteFile[] {
  const bad = (why: string) => new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `tier listing ${key} is unusable: ${why}`, { retryable: false });
  if (typeof value !== 'object' || value === null) throw bad('not a JSON object');
  const v = value as { commit?: unknown; files?: unknown };
  if (v.commit !== commit) throw bad(`it names commit ${JSON.stringify(v.commit)}, not ${commit}`);
  if (!Array.isArray(v.files) || v.files.length === 0) throw bad('no files array');
  const files: RemoteFile[] = [];
  for (const raw of v.files as unknown[]) {
    const f = raw as Partial<RemoteFile> | null;
    if (!f || typeof f.path !== 'string' || !Number.isSafeInteger(f.size) || (f.size as number) < 0) throw bad('a file without a path or size');
    try {
      assertSafeRelativePath(f.path);
    } catch {
      throw bad(`unsafe path ${JSON.stringify(f.path.slice(0, 200))}`);
    }
    const sha256 = typeof f.sha256 === 'string' && SHA256_RE.test(f.sha256) ? f.sha256 : undefined;
    const gitSha1 = typeof f.gitSha1 === 'string' && SHA1_RE.test(f.gitSha1) ? f.gitSha1 : undefined;
    if (!sha256 && !gitSha1) throw bad(`${f.path} has no sha256 or git SHA-1`);
    files.push({ path: f.path, size: f.size as number, ...(sha256 ? { sha256 } : {}), ...(gitSha1 ? { gitSha1 } : {}) });
  }
  assertListingStorable(files.map((f) => f.path), key);
  return files;
}

/**
 * The tier as a source of metadata (only with trustMetadata: an air-gapped fleet): resolves a
 * revision through the tier's refs and listings, and opens blobs by content key. Tried only after
 * every configured origin failed to resolve (resolveThroughChain's fallbacks). Blobs opened here are
 * verified by the downloader's writer like any other bytes.
 */
export function createTierMetadataOrigin(o: { name: string; store: TierMetadataStore }): Origin {
  const { store, name } = o;
  const where = (ref: ModelRef) => `${ref.repo}@${ref.revision}${ref.subfolder ? `:${ref.subfolder}` : ''}`;
  return {
    name,
    async resolve(ref) {
      let commit = ref.revision;
      if (!COMMIT_RE.test(commit)) {
        const named = await store.getJson(refKey(ref.repo, ref.revision));
        const c = typeof named === 'string' ? named : (named as { commit?: unknown } | null)?.commit;
        if (typeof c !== 'string' || !COMMIT_RE.test(c)) {
          throw new CacheError(ErrorCodes.REVISION_NOT_FOUND, `${name} holds no commit for ${where(ref)}`);
        }
        commit = c;
      }
      const key = listingKey(ref, commit);
      const value = await store.getJson(key);
      if (value === null || value === undefined) throw new CacheError(ErrorCodes.REVISION_NOT_FOUND, `${name} holds no listing for ${where(ref)} (commit ${commit})`);
      return { ref, commit, files: parseListingJson(value, key, commit), origin: name };
    },
    async open(_listing, file, offset, signal) {
      const sha256 = file.sha256 ?? (file.gitSha1 ? await store.getAlias(file.gitSha1) : null);
      const opened = sha256 && SHA256_RE.test(sha256) ? await store.openBlob(sha256, offset, signal) : null;
      if (!opened) throw new CacheError(ErrorCodes.ENTRY_NOT_FOUND, `${name} does not hold ${file.path} (${file.sha256 ?? file.gitSha1})`);
      return opened;
    },
  };
}
