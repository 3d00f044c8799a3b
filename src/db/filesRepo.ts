import type Database from 'better-sqlite3';

export interface FileRow {
  model_id: number;
  path: string;
  blob: string;
  size: number;
  git_sha1: string | null;
  ino: number | null;
  mtime_ms: number | null;
  /** 1 when the fingerprint is void (the file was found corrupt); never matches again. */
  distrusted?: number;
}

/** Prepared statements for `files`. */
export function createFilesRepo(db: Database.Database) {
  const byModel = db.prepare<[number], FileRow>('SELECT * FROM files WHERE model_id = ? ORDER BY path');
  const insert = db.prepare<FileRow>(
    `INSERT INTO files (model_id, path, blob, size, git_sha1, ino, mtime_ms)
     VALUES (@model_id, @path, @blob, @size, @git_sha1, @ino, @mtime_ms)`,
  );
  const distrust = db.prepare<[number, string]>('UPDATE files SET distrusted = 1 WHERE model_id = ? AND path = ?');
  const removeByModel = db.prepare<[number]>('DELETE FROM files WHERE model_id = ?');
  const blobCounts = db.prepare<[number], { blob: string; n: number }>(
    'SELECT blob, COUNT(*) AS n FROM files WHERE model_id = ? GROUP BY blob',
  );
  const blobSizes = db.prepare<[number], { blob: string; size: number }>(
    'SELECT f.blob AS blob, b.size AS size FROM files f JOIN blobs b ON b.digest = f.blob WHERE f.model_id = ?',
  );
  const modelsOfBlob = db.prepare<[string], { id: number }>('SELECT DISTINCT model_id AS id FROM files WHERE blob = ?');
  const blobOfGit = db.prepare<[string, number], { blob: string }>(
    'SELECT blob FROM files WHERE git_sha1 = ? AND size = ? LIMIT 1',
  );

  return {
    byModel: (modelId: number): FileRow[] => byModel.all(modelId),
    insert: (row: FileRow): void => void insert.run(row),
    /** Voids the recorded fingerprint of one file (found corrupt): it never matches again until re-admitted. */
    distrust: (modelId: number, path: string): void => void distrust.run(modelId, path),
    removeByModel: (modelId: number): void => void removeByModel.run(modelId),
    /** How many files of a model name each blob (refcount bookkeeping). */
    blobCounts: (modelId: number): Array<{ blob: string; n: number }> => blobCounts.all(modelId),
    /** One entry per file of the model: the blob it names and that blob's size. */
    blobSizesOfModel: (modelId: number): Array<{ blob: string; size: number }> => blobSizes.all(modelId),
    modelsOfBlob: (digest: string): number[] => modelsOfBlob.all(digest).map((r) => r.id),
    blobOfGitSha1: (gitSha1: string, size: number): string | undefined => blobOfGit.get(gitSha1, size)?.blob,
  };
}
export type FilesRepo = ReturnType<typeof createFilesRepo>;
