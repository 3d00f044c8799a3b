import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectMetrics, renderPrometheus } from '../../src/accounting/metrics.js';
import { rollupEvents } from '../../src/accounting/rollup.js';
import { queryStats } from '../../src/accounting/stats.js';
import { attachAccounting } from '../../src/db/accountingDb.js';
import { createRecorder, type RequestRecord } from '../../src/accounting/recorder.js';
import { DAY, openTestDb, T0 } from './helpers.js';
import { parsePrometheus, sampleValue } from './parsePrometheus.js';

const P = 'vocorize_cache_';
const M = `acme/model@${'c'.repeat(40)}`;

describe('fleet tier accounting', () => {
  let t: ReturnType<typeof openTestDb>;
  beforeEach(() => {
    t = openTestDb();
  });
  afterEach(() => t.cleanup());

  /** Through the recorder, as the daemon writes them. */
  const insertEvents = (db: Database.Database, rows: RequestRecord[]) => {
    const r = createRecorder(db, { flushIntervalMs: 60_000, flushBatch: 1000 });
    for (const e of rows) r.record(e);
    r.close();
  };

  const workload = () => [
    { ts: T0, model: M, outcome: 'miss' as const, bytesServed: 1000, bytesDownloaded: 1000, durationMs: 50 }, // runner A: the Hub
    { ts: T0 + 1, model: M, outcome: 'miss' as const, bytesServed: 1000, bytesDownloaded: 0, bytesFromTier: 1000, tierHit: true, durationMs: 20 },
    { ts: T0 + 2, model: M, outcome: 'miss' as const, bytesServed: 1000, bytesDownloaded: 100, bytesFromTier: 900, tierHit: false, durationMs: 30 },
    { ts: T0 + 3, model: M, outcome: 'hit' as const, bytesServed: 1000, bytesDownloaded: 0, durationMs: 1 },
  ];

  it('splits requests into local hits, tier hits and Hub downloads; Hub bytes avoided = hit bytes + tier bytes', () => {
    insertEvents(t.db, workload());
    const s = queryStats(t.db, { now: T0 + DAY });
    expect(s).toMatchObject({ hits: 1, misses: 3, localHits: 1, tierHits: 1, hubDownloads: 2, bytesDownloaded: 1100, bytesFromTier: 1900, bytesAvoided: 1000, hubBytesAvoided: 2900 });
    const m = collectMetrics(t.db, { cacheBytes: 0, limitBytes: 1, models: 1, leases: 0 });
    const fams = parsePrometheus(renderPrometheus(m));
    expect(sampleValue(fams, `${P}tier_hits_total`, {})).toBe(1);
    expect(sampleValue(fams, `${P}tier_bytes_total`, {})).toBe(1900);
    expect(sampleValue(fams, `${P}hub_bytes_avoided_total`, {})).toBe(2900);
  });

  it('the split survives the daily rollup exactly', () => {
    insertEvents(t.db, workload());
    const before = queryStats(t.db, { now: T0 + 3 * DAY });
    expect(before.tierHits).toBe(1);
    expect(rollupEvents(t.db, { olderThanMs: DAY, now: T0 + 3 * DAY }).rowsRolled).toBe(4);
    const after = queryStats(t.db, { now: T0 + 3 * DAY });
    for (const k of ['tierHits', 'hubDownloads', 'bytesFromTier', 'hubBytesAvoided', 'bytesDownloaded'] as const) expect(after[k], k).toBe(before[k]);
  });

  it('the live tier counters (poison, uploads, breaker) are Prometheus families only when the daemon has a tier', () => {
    const without = parsePrometheus(renderPrometheus(collectMetrics(t.db, { cacheBytes: 0, limitBytes: 1, models: 0, leases: 0 })));
    expect(without.has(`${P}tier_poisoned_total`)).toBe(false);
    const live = {
      name: 's3://fleet', mode: 'read-write' as const, breaker: 'open' as const, failures: 3, skippedOpen: 7, misses: 0, poisoned: 2,
      poisonReports: ['x'], uploaded: 4, uploadedBytes: 400, uploadExisted: 1, uploadSkippedFull: 5, uploadSkippedGone: 6, uploadFailed: 0, uploadPending: 1,
    };
    const fams = parsePrometheus(renderPrometheus(collectMetrics(t.db, { cacheBytes: 0, limitBytes: 1, models: 0, leases: 0, tier: live })));
    expect(sampleValue(fams, `${P}tier_poisoned_total`, { tier: 's3://fleet' })).toBe(2);
    expect(sampleValue(fams, `${P}tier_breaker_open`, { tier: 's3://fleet' })).toBe(1);
    expect(sampleValue(fams, `${P}tier_upload_skipped_total`, { tier: 's3://fleet', reason: 'queue_full' })).toBe(5);
    expect(sampleValue(fams, `${P}tier_upload_skipped_total`, { tier: 's3://fleet', reason: 'gone' })).toBe(6);
  });
});

describe('accounting.db version 3', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-acct3-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('an accounting.db of version 2 gains the tier columns and keeps its events', () => {
    const acct = path.join(dir, 'accounting.db');
    const old = new Database(acct);
    old.exec(`CREATE TABLE events (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, model TEXT NOT NULL, outcome TEXT NOT NULL CHECK (outcome IN ('hit', 'miss', 'error')),
      bytes_served INTEGER NOT NULL DEFAULT 0, bytes_downloaded INTEGER NOT NULL DEFAULT 0, duration_ms REAL NOT NULL, client TEXT, run_id TEXT, error_code TEXT, saved_ms REAL NOT NULL DEFAULT 0);
      CREATE TABLE daily_totals (day TEXT NOT NULL, model TEXT NOT NULL, client TEXT NOT NULL DEFAULT '', run_id TEXT NOT NULL DEFAULT '', hits INTEGER NOT NULL DEFAULT 0,
      misses INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0, bytes_served INTEGER NOT NULL DEFAULT 0, bytes_downloaded INTEGER NOT NULL DEFAULT 0,
      hit_ms_total REAL NOT NULL DEFAULT 0, miss_ms_total REAL NOT NULL DEFAULT 0, saved_ms REAL NOT NULL DEFAULT 0, PRIMARY KEY (day, model, client, run_id)) WITHOUT ROWID;
      CREATE TABLE runs (id TEXT PRIMARY KEY, label TEXT, started_at INTEGER NOT NULL, ended_at INTEGER);
      CREATE TABLE stats_resets (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL);
      INSERT INTO events (ts, model, outcome, bytes_served, bytes_downloaded, duration_ms) VALUES (${T0}, '${M}', 'miss', 10, 10, 5);
      PRAGMA user_version = 2;`);
    old.close();
    const db = new Database(path.join(dir, 'index.db'));
    try {
      expect(attachAccounting(db, acct, T0).movedAside).toEqual([]);
      expect(db.pragma('acct.user_version', { simple: true })).toBe(3);
      const cols = (db.prepare('PRAGMA acct.table_info(events)').all() as Array<{ name: string }>).map((c) => c.name);
      expect(cols).toEqual(expect.arrayContaining(['bytes_from_tier', 'tier_hit']));
      expect(db.prepare('SELECT bytes_downloaded, bytes_from_tier, tier_hit FROM acct.events').get()).toEqual({ bytes_downloaded: 10, bytes_from_tier: 0, tier_hit: 0 });
    } finally {
      db.close();
    }
  });
});
