import type Database from 'better-sqlite3';

export interface BlobRow {
  digest: string;
  size: number;
  refcount: number;
  created_at: number;
  git_sha1: string | null;
}

/** Prepared statements for `blobs`. `refcount` = number of `files` rows naming the blob. */
export function createBlobsRepo(db: Database.Database) {
  const get = db.prepare<[string], BlobRow>('SELECT * FROM blobs WHERE digest = ?');
  const byGit = db.prepare<[string, number], BlobRow>('SELECT * FROM blobs WHERE git_sha1 = ? AND size = ? LIMIT 1');
  const insertIgnore = db.prepare<[string, number, number, string | null]>(
    'INSERT OR IGNORE INTO blobs (digest, size, refcount, created_at, git_sha1) VALUES (?, ?, 0, ?, ?)',
  );
  const fillGit = db.prepare<[string, string]>('UPDATE blobs SET git_sha1 = ? WHERE digest = ? AND git_sha1 IS NULL');
  const addRef = db.prepare<[number, string]>('UPDATE blobs SET refcount = max(0, refcount + ?) WHERE digest = ?');
  const garbage = db.prepare<[], BlobRow>('SELECT * FROM blobs WHERE refcount = 0');
  const remove = db.prepare<[string]>('DELETE FROM blobs WHERE digest = ? AND refcount = 0');
  const all = db.prepare<[], BlobRow>('SELECT * FROM blobs ORDER BY digest');
  const refcounts = db.prepare<[], { digest: string; refcount: number }>('SELECT digest, refcount FROM blobs');
  const totals = db.prepare<[], { n: number; bytes: number | null }>('SELECT COUNT(*) AS n, SUM(size) AS bytes FROM blobs');

  return {
    get: (digest: string): BlobRow | undefined => get.get(digest),
    byGitSha1: (gitSha1: string, size: number): BlobRow | undefined => byGit.get(gitSha1, size),
    /** Records a stored blob with refcount 0; true when the row is new. */
    insertIgnore(digest: string, size: number, now: number, gitSha1: string | null): boolean {
      const inserted = insertIgnore.run(digest, size, now, gitSha1).changes === 1;
      if (!inserted && gitSha1) fillGit.run(gitSha1, digest);
      return inserted;
    },
    addRef: (digest: string, delta: number): void => void addRef.run(delta, digest),
    garbage: (): BlobRow[] => garbage.all(),
    /** Deletes the row only if still unreferenced; true when deleted. */
    removeIfUnreferenced: (digest: string): boolean => remove.run(digest).changes === 1,
    all: (): BlobRow[] => all.all(),
    /** Digest and refcount of every blob, in no particular order. */
    refcounts: (): Array<{ digest: string; refcount: number }> => refcounts.all(),
    totals(): { count: number; bytes: number } {
      const r = totals.get()!;
      return { count: r.n, bytes: r.bytes ?? 0 };
    },
  };
}
export type BlobsRepo = ReturnType<typeof createBlobsRepo>;
