import type Database from 'better-sqlite3';

export interface RefRow {
  ref: string;
  repo: string;
  revision: string;
  subfolder: string | null;
  commit_sha: string;
  origin: string;
  resolved_at: number;
}

/** Prepared statements for `refs`. */
export function createRefsRepo(db: Database.Database) {
  const all = db.prepare<[], RefRow>('SELECT * FROM refs');
  const upsert = db.prepare<RefRow>(
    `INSERT INTO refs (ref, repo, revision, subfolder, commit_sha, origin, resolved_at)
     VALUES (@ref, @repo, @revision, @subfolder, @commit_sha, @origin, @resolved_at)
     ON CONFLICT (ref) DO UPDATE SET repo = excluded.repo, revision = excluded.revision,
       subfolder = excluded.subfolder, commit_sha = excluded.commit_sha, origin = excluded.origin,
       resolved_at = excluded.resolved_at`,
  );
  return {
    all: (): RefRow[] => all.all(),
    upsert: (row: RefRow): void => void upsert.run(row),
  };
}
export type RefsRepo = ReturnType<typeof createRefsRepo>;
