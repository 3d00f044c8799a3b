import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach } from 'vitest';
import { ensureTierColumns } from '../../src/db/accountingDb.js';
import { MIGRATIONS } from '../../src/db/migrations.js';
import type { RequestRecord } from '../../src/accounting/recorder.js';

/** A migrated index file in its own temp dir; `cleanup` closes it (if still open) and removes the dir. */
export interface TestDb {
  db: Database.Database;
  dir: string;
  file: string;
  cleanup: () => void;
}

/** A real SQLite file in a fresh temp dir with every migration applied (as openIndex would). */
export function openTestDb(): TestDb {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-acct-'));
  const file = path.join(dir, 'index.db');
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  MIGRATIONS.forEach((sql, i) => {
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${i + 1}`);
    })();
  });
  // The accounting tables as accounting.db has them (its version 3 adds the fleet tier's columns).
  ensureTierColumns(db, 'main');
  return {
    db,
    dir,
    file,
    cleanup: () => {
      if (db.open) db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh test DB for each test of the calling file (or describe block): opened in beforeEach,
 * cleaned up in afterEach. The returned view reads the current test's DB, so it is valid only
 * inside tests and hooks.
 */
export function useTestDb(): Readonly<Omit<TestDb, 'cleanup'>> {
  let current: TestDb | undefined;
  beforeEach(() => {
    current = openTestDb();
  });
  afterEach(() => {
    current?.cleanup();
    current = undefined;
  });
  const live = (): TestDb => {
    if (!current) throw new Error('the test DB exists only while a test runs');
    return current;
  };
  return {
    get db() {
      return live().db;
    },
    get dir() {
      return live().dir;
    },
    get file() {
      return live().file;
    },
  };
}

export function insertModel(db: Database.Database, m: { key: string; size: number; fetchMs: number; lastAccess: number }): void {
  const [repoAt, commit] = m.key.split('@') as [string, string];
  db.prepare(
    `INSERT INTO models (key, repo, subfolder, commit_sha, dir, origin, size, file_count, created_at, last_access, state, fetch_ms)
     VALUES (?, ?, NULL, ?, ?, 'huggingface', ?, 3, ?, ?, 'ready', ?)`,
  ).run(m.key, repoAt, commit, `${repoAt.replace(/[/:]/g, '--')}/${commit}`, m.size, m.lastAccess, m.lastAccess, m.fetchMs);
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** 2026-01-10 00:00 UTC: the workload starts at 06:00 that day. */
export const T0 = Date.UTC(2026, 0, 10);

export const MODELS = {
  tiny: { key: 'argmaxinc/whisperkit-coreml:openai_whisper-tiny@' + 'a'.repeat(40), size: 40_000_000, fetchMs: 2_000 },
  base: { key: 'argmaxinc/whisperkit-coreml:openai_whisper-base@' + 'b'.repeat(40), size: 150_000_000, fetchMs: 5_000 },
  large: { key: 'mlx-community/whisper-large-v3-turbo@' + 'c'.repeat(40), size: 1_500_000_000, fetchMs: 30_000 },
} as const;

/**
 * The scripted workload: 3 models, 40 gets with known outcomes, every 2 h from 06:00 on day 0
 * (so it spans 4 UTC days: 9 + 12 + 12 + 7 events).
 *   tiny : 1 miss, 14 hits                  (15)
 *   base : 2 misses (evicted in between), 10 hits (12)
 *   large: 1 miss, 9 hits, 3 errors         (13)
 * Clients alternate "ci" / "dev"; hit durations 0.2..1.0 ms; miss durations = the fetch time + 100 ms.
 */
export function workload(): RequestRecord[] {
  const plan: Array<[keyof typeof MODELS, 'hit' | 'miss' | 'error']> = [];
  const counts: Record<keyof typeof MODELS, Array<'hit' | 'miss' | 'error'>> = {
    tiny: ['miss', ...Array<'hit'>(14).fill('hit')],
    base: ['miss', ...Array<'hit'>(5).fill('hit'), 'miss', ...Array<'hit'>(5).fill('hit')],
    large: ['miss', 'error', ...Array<'hit'>(4).fill('hit'), 'error', ...Array<'hit'>(5).fill('hit'), 'error'],
  };
  // Interleave the three queues round-robin.
  const queues = { tiny: [...counts.tiny], base: [...counts.base], large: [...counts.large] };
  while (plan.length < 40) {
    for (const k of ['tiny', 'base', 'large'] as const) {
      const o = queues[k].shift();
      if (o) plan.push([k, o]);
    }
  }
  return plan.map(([k, outcome], i) => {
    const m = MODELS[k];
    const ts = T0 + 6 * HOUR + i * 2 * HOUR;
    const client = i % 2 === 0 ? 'ci' : 'dev';
    if (outcome === 'error') {
      return { ts, model: `mlx-community/whisper-large-v3-turbo@main`, outcome, bytesServed: 0, bytesDownloaded: 0, durationMs: 50, client, errorCode: 'E_ORIGIN_UNAVAILABLE' };
    }
    if (outcome === 'miss') {
      return { ts, model: m.key, outcome, bytesServed: m.size, bytesDownloaded: m.size, durationMs: m.fetchMs + 100, client };
    }
    return { ts, model: m.key, outcome, bytesServed: m.size, bytesDownloaded: 0, durationMs: 0.2 + (i % 5) * 0.2, client, savedMs: m.fetchMs };
  });
}

/** Expected totals of workload(), written out by hand from its description. */
export const EXPECTED = {
  hits: 33,
  misses: 4,
  errors: 3,
  hitRate: 33 / 37,
  bytesServed: 15 * 40e6 + 12 * 150e6 + 10 * 1.5e9, // 17.4e9
  bytesDownloaded: 40e6 + 2 * 150e6 + 1.5e9, // 1.84e9
  bytesAvoided: 14 * 40e6 + 10 * 150e6 + 9 * 1.5e9, // 15.56e9
  timeSavedMs: 14 * 2_000 + 10 * 5_000 + 9 * 30_000, // 348_000
  missMsTotal: 2_100 + 2 * 5_100 + 30_100,
};

/** Writes records straight into the events table (for tests that are not about the recorder). */
export function insertEvents(db: Database.Database, records: RequestRecord[]): void {
  const stmt = db.prepare(
    `INSERT INTO events (ts, model, outcome, bytes_served, bytes_downloaded, duration_ms, client, run_id, error_code, saved_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  db.transaction(() => {
    for (const r of records) {
      stmt.run(r.ts, r.model, r.outcome, r.bytesServed, r.bytesDownloaded, r.durationMs, r.client ?? null, r.run ?? null, r.errorCode ?? null, r.savedMs ?? 0);
    }
  })();
}
