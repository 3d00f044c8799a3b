/**
 * Numbered, append-only schema migrations for `v1/index.db`.
 * Never edit a migration that has shipped; add the next number instead.
 * Applied in one transaction each by openIndex(); `PRAGMA user_version` records the last applied.
 *
 * Invariants the rest of the code relies on:
 *  - a `models` row with state 'ready' has every one of its `files` rows present and hard-linked
 *    (or copied) from the blob named in `files.blob`, under `<v1>/snapshots/<models.dir>/`;
 *  - `blobs.refcount` = number of `files` rows naming that blob (maintained in the same transaction);
 *  - a blob row with refcount 0 is garbage: recovery and optimize delete the file and the row;
 *  - `admissions` rows exist only while an admission is in flight; one left at start-up means a crash,
 *    and recovery removes what it may have left (its snapshot dir, unreferenced blobs).
 *  - times are integer milliseconds since the Unix epoch (UTC).
 */
export const MIGRATIONS: readonly string[] = [
  // 1: initial schema
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );

  -- A reference as a caller wrote it, resolved to a commit once (so hits need no network).
  -- ref = canonical '<repo>@<revision>[:<subfolder>]'.
  CREATE TABLE refs (
    ref         TEXT PRIMARY KEY,
    repo        TEXT NOT NULL,
    revision    TEXT NOT NULL,
    subfolder   TEXT,
    commit_sha  TEXT NOT NULL,
    origin      TEXT NOT NULL,
    resolved_at INTEGER NOT NULL
  );

  -- One cached snapshot: a repo (or a subfolder of it) at one commit. The unit of LRU eviction.
  -- key = '<repo>[:<subfolder>]@<commit>'; dir is relative to <v1>/snapshots.
  CREATE TABLE models (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    repo        TEXT NOT NULL,
    subfolder   TEXT,
    commit_sha  TEXT NOT NULL,
    dir         TEXT NOT NULL UNIQUE,
    origin      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    file_count  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    last_access INTEGER NOT NULL,
    hits        INTEGER NOT NULL DEFAULT 0,
    pinned      INTEGER NOT NULL DEFAULT 0,
    state       TEXT NOT NULL CHECK (state IN ('ready', 'damaged')),
    fetch_ms    INTEGER
  );
  CREATE INDEX models_lru ON models (last_access);

  CREATE TABLE blobs (
    digest     TEXT PRIMARY KEY,          -- sha256, 64 lowercase hex
    size       INTEGER NOT NULL,
    refcount   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX blobs_garbage ON blobs (refcount) WHERE refcount = 0;

  CREATE TABLE files (
    model_id  INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    path      TEXT NOT NULL,              -- relative to the snapshot dir, '/' separated
    blob      TEXT NOT NULL REFERENCES blobs (digest),
    size      INTEGER NOT NULL,
    git_sha1  TEXT,                       -- git blob id when the origin gave one
    ino       INTEGER,                    -- fingerprint for verify --quick
    mtime_ms  INTEGER,
    PRIMARY KEY (model_id, path)
  ) WITHOUT ROWID;
  CREATE INDEX files_blob ON files (blob);

  CREATE TABLE admissions (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL,
    dir        TEXT NOT NULL,
    started_at INTEGER NOT NULL
  );

  -- One row per get request. outcome: hit (no byte from an origin), miss (>= 1 file from an origin),
  -- error (no path returned).
  CREATE TABLE events (
    id               INTEGER PRIMARY KEY,
    ts               INTEGER NOT NULL,
    model            TEXT NOT NULL,        -- the snapshot key when known, else the requested reference
    outcome          TEXT NOT NULL CHECK (outcome IN ('hit', 'miss', 'error')),
    bytes_served     INTEGER NOT NULL DEFAULT 0,
    bytes_downloaded INTEGER NOT NULL DEFAULT 0,
    duration_ms      REAL NOT NULL,
    client           TEXT,
    run_id           TEXT,
    error_code       TEXT,
    saved_ms         REAL NOT NULL DEFAULT 0  -- for hits: the last measured fetch time of the model
  );
  CREATE INDEX events_ts ON events (ts);
  CREATE INDEX events_run ON events (run_id) WHERE run_id IS NOT NULL;

  -- Events older than the retention, rolled up by optimize so reports stay right.
  CREATE TABLE daily_totals (
    day              TEXT NOT NULL,        -- 'YYYY-MM-DD' (UTC)
    model            TEXT NOT NULL,
    client           TEXT NOT NULL DEFAULT '',
    run_id           TEXT NOT NULL DEFAULT '',
    hits             INTEGER NOT NULL DEFAULT 0,
    misses           INTEGER NOT NULL DEFAULT 0,
    errors           INTEGER NOT NULL DEFAULT 0,
    bytes_served     INTEGER NOT NULL DEFAULT 0,
    bytes_downloaded INTEGER NOT NULL DEFAULT 0,
    hit_ms_total     REAL NOT NULL DEFAULT 0,
    miss_ms_total    REAL NOT NULL DEFAULT 0,
    saved_ms         REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (day, model, client, run_id)
  ) WITHOUT ROWID;

  CREATE TABLE runs (
    id         TEXT PRIMARY KEY,
    label      TEXT,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER
  );

  CREATE TABLE stats_resets (
    id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL
  );

  CREATE TABLE evictions (
    id     INTEGER PRIMARY KEY,
    ts     INTEGER NOT NULL,
    model  TEXT NOT NULL,
    bytes  INTEGER NOT NULL,
    reason TEXT NOT NULL                   -- 'lru' | 'evict' | 'clean' | 'replaced' | ...
  );

  CREATE TABLE verifies (
    id            INTEGER PRIMARY KEY,
    ts            INTEGER NOT NULL,
    mode          TEXT NOT NULL,           -- 'full' | 'quick'
    models        INTEGER NOT NULL,
    files         INTEGER NOT NULL,
    bytes_hashed  INTEGER NOT NULL,
    corrupted     INTEGER NOT NULL,
    missing       INTEGER NOT NULL,
    orphans       INTEGER NOT NULL,
    repaired      INTEGER NOT NULL DEFAULT 0,
    duration_ms   REAL NOT NULL,
    ok            INTEGER NOT NULL
  );
  `,
  // 2: every stored blob knows its git blob SHA-1 (the writer computes it in the same pass), so a file the
  // Hub names only by git SHA-1 is found without a files row; index the git SHA-1 lookups.
  `
  ALTER TABLE blobs ADD COLUMN git_sha1 TEXT;
  CREATE INDEX blobs_git ON blobs (git_sha1) WHERE git_sha1 IS NOT NULL;
  CREATE INDEX files_git ON files (git_sha1) WHERE git_sha1 IS NOT NULL;
  `,
  // 3: the fingerprint of a snapshot file can be voided (distrusted = 1) when verify finds the file
  // corrupt, so a file whose bytes changed in place without changing size, inode or mtime is never
  // trusted again until its model is re-admitted (which writes new rows).
  `
  ALTER TABLE files ADD COLUMN distrusted INTEGER NOT NULL DEFAULT 0;
  `,
  // 4: what the Hub-compatible endpoint remembers so it can answer offline: the listing of a repo at a
  // commit (every file with size and digests, as JSON) and which revision named which commit. `public`
  // is 1 when the listing was fetched without the configured token (anyone on loopback may read it).
  `
  CREATE TABLE hub_listings (
    kind        TEXT NOT NULL,             -- 'model' | 'dataset'
    repo        TEXT NOT NULL,
    commit_sha  TEXT NOT NULL,
    origin      TEXT NOT NULL,
    public      INTEGER NOT NULL,
    files       TEXT NOT NULL,             -- JSON [{path, size, sha256?, gitSha1?}]
    fetched_at  INTEGER NOT NULL,
    PRIMARY KEY (kind, repo, commit_sha)
  ) WITHOUT ROWID;
  CREATE TABLE hub_refs (
    kind        TEXT NOT NULL,
    repo        TEXT NOT NULL,
    revision    TEXT NOT NULL,
    commit_sha  TEXT NOT NULL,
    resolved_at INTEGER NOT NULL,
    PRIMARY KEY (kind, repo, revision)
  ) WITHOUT ROWID;
  -- Files known readable without the configured token (downloaded, or checked, anonymously): only
  -- these are served from the cache to a request without the endpoint's local secret.
  CREATE TABLE hub_public_files (
    kind        TEXT NOT NULL,
    repo        TEXT NOT NULL,
    commit_sha  TEXT NOT NULL,
    path        TEXT NOT NULL,
    PRIMARY KEY (kind, repo, commit_sha, path)
  ) WITHOUT ROWID;
  `,
];
