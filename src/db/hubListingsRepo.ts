import type Database from 'better-sqlite3';

/** One file of a remembered listing: its path from the repo root, size and the digests the origin named. */
export interface ListedFileRow {
  path: string;
  size: number;
  sha256?: string;
  gitSha1?: string;
}

export interface HubListingRow {
  kind: 'model' | 'dataset';
  repo: string;
  commit: string;
  origin: string;
  /** Fetched without the configured token: anyone on loopback may read it. */
  isPublic: boolean;
  files: ListedFileRow[];
  fetchedAt: number;
}

export interface HubRefRow {
  kind: 'model' | 'dataset';
  repo: string;
  revision: string;
  commit: string;
  resolvedAt: number;
}

interface ListingDbRow {
  kind: string;
  repo: string;
  commit_sha: string;
  origin: string;
  public: number;
  files: string;
  fetched_at: number;
}

/**
 * Prepared statements for `hub_listings`, `hub_refs` and `hub_public_files` (migration 4): the Hub-compatible endpoint's
 * memory of listings (repo at a commit) and of revision → commit, so it answers offline. A listing's
 * files are stored as one JSON text; a row that does not parse reads as absent (it is fetched again).
 */
export function createHubListingsRepo(db: Database.Database) {
  const getListing = db.prepare<[string, string, string], ListingDbRow>(
    'SELECT * FROM hub_listings WHERE kind = ? AND repo = ? AND commit_sha = ?',
  );
  const putListing = db.prepare(
    `INSERT INTO hub_listings (kind, repo, commit_sha, origin, public, files, fetched_at)
     VALUES (@kind, @repo, @commit_sha, @origin, @public, @files, @fetched_at)
     ON CONFLICT (kind, repo, commit_sha) DO UPDATE SET origin = excluded.origin,
       public = max(hub_listings.public, excluded.public), files = excluded.files, fetched_at = excluded.fetched_at`,
  );
  const getRef = db.prepare<[string, string, string], { commit_sha: string; resolved_at: number }>(
    'SELECT commit_sha, resolved_at FROM hub_refs WHERE kind = ? AND repo = ? AND revision = ?',
  );
  const putRef = db.prepare(
    `INSERT INTO hub_refs (kind, repo, revision, commit_sha, resolved_at) VALUES (@kind, @repo, @revision, @commit_sha, @resolved_at)
     ON CONFLICT (kind, repo, revision) DO UPDATE SET commit_sha = excluded.commit_sha, resolved_at = excluded.resolved_at`,
  );

  const isPublicFile = db.prepare<[string, string, string, string], { one: number }>(
    'SELECT 1 AS one FROM hub_public_files WHERE kind = ? AND repo = ? AND commit_sha = ? AND path = ?',
  );
  const markPublicFile = db.prepare<[string, string, string, string]>(
    'INSERT OR IGNORE INTO hub_public_files (kind, repo, commit_sha, path) VALUES (?, ?, ?, ?)',
  );

  return {
    isPublicFile: (kind: HubListingRow['kind'], repo: string, commit: string, path: string): boolean =>
      isPublicFile.get(kind, repo, commit, path) !== undefined,
    markPublicFile: (kind: HubListingRow['kind'], repo: string, commit: string, path: string): void =>
      void markPublicFile.run(kind, repo, commit, path),
    getListing(kind: HubListingRow['kind'], repo: string, commit: string): HubListingRow | null {
      const r = getListing.get(kind, repo, commit);
      if (!r) return null;
      let files: unknown;
      try {
        files = JSON.parse(r.files);
      } catch {
        return null;
      }
      if (!Array.isArray(files)) return null;
      return {
        kind,
        repo: r.repo,
        commit: r.commit_sha,
        origin: r.origin,
        isPublic: r.public === 1,
        files: files as ListedFileRow[],
        fetchedAt: r.fetched_at,
      };
    },
    /** Stores a listing; a listing once known public stays public. */
    putListing(row: HubListingRow): void {
      putListing.run({
        kind: row.kind,
        repo: row.repo,
        commit_sha: row.commit,
        origin: row.origin,
        public: row.isPublic ? 1 : 0,
        files: JSON.stringify(row.files),
        fetched_at: row.fetchedAt,
      });
    },
    getRef(kind: HubRefRow['kind'], repo: string, revision: string): HubRefRow | null {
      const r = getRef.get(kind, repo, revision);
      return r ? { kind, repo, revision, commit: r.commit_sha, resolvedAt: r.resolved_at } : null;
    },
    putRef(row: HubRefRow): void {
      putRef.run({ kind: row.kind, repo: row.repo, revision: row.revision, commit_sha: row.commit, resolved_at: row.resolvedAt });
    },
  };
}

export type HubListingsRepo = ReturnType<typeof createHubListingsRepo>;
