import type Database from 'better-sqlite3';

/**
 * Compacts the index in place: WAL checkpoint, VACUUM, ANALYZE, then a second checkpoint that
 * truncates the WAL VACUUM filled. Needs no transaction open on the connection.
 */
export function compactIndex(db: Database.Database): void {
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.exec('VACUUM');
  db.exec('ANALYZE');
  db.pragma('wal_checkpoint(TRUNCATE)');
}
