import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCache } from '../../src/cache/openCache.js';
import { attachAccounting } from '../../src/db/accountingDb.js';
import { openIndex } from '../../src/db/openIndex.js';
import { admitFromStreams, type StreamedFile } from '../core/admitFromStreams.js';
import { bytes, chunks, expectedOf, rmTree, sha256, tempDir } from '../core/helpers.js';

/** The index rebuild and the accounting split, in process: what the disk proves, and crash-safe migration. */

let dir: string;
let cacheDir: string;
const now = 1_700_000_000_000;
const clock = () => now;
const C1 = 'a'.repeat(40);
const C2 = 'b'.repeat(40);

beforeEach(() => {
  dir = tempDir();
  cacheDir = path.join(dir, 'cache');
});
afterEach(() => rmTree(dir));

const open = () => openCache({ cacheDir, limitBytes: 1_000_000, lowWatermark: 1, clock });
const files = (spec: Record<string, string>): StreamedFile[] =>
  Object.entries(spec).map(([p, text]) => ({ path: p, expected: expectedOf(bytes(text)), stream: chunks(bytes(text), 5) }));
const meta = (repo: string, commit: string, subfolder: string | null = null) => ({ repo, subfolder, commit, origin: 'test', fetchMs: 1 });
const dropIndex = () => {
  for (const f of ['index.db', 'index.db-wal', 'index.db-shm']) fs.rmSync(path.join(cacheDir, 'v1', f), { force: true });
};

describe('rebuildIndex', () => {
  it('finds every model, file and blob again by inode; records refs by commit, never a branch', async () => {
    let c = open();
    await admitFromStreams(c, meta('org/one', C1), files({ 'a.bin': 'alpha', 'd/b.bin': 'beta' }));
    await admitFromStreams(c, meta('org/two', C2, 'v/x'), files({ 'c.bin': 'alpha' }));
    c.putRef({ ref: 'org/one@main', repo: 'org/one', revision: 'main', subfolder: null, commit: C1, origin: 'test', resolvedAt: now });
    c.close();
    dropIndex();

    c = open();
    try {
      expect(c.indexRebuild).toMatchObject({ models: 2, files: 3, damaged: 0, reason: 'index missing' });
      const keys = c.list().map((m) => m.key).sort();
      expect(keys).toEqual([`org/one@${C1}`, `org/two:v/x@${C2}`]);
      expect(c.lookup(`org/one@${C1}`).hit).toBe(true);
      expect(c.lookup(`org/two@${C2}:v/x`).hit).toBe(true);
      expect(c.getRef('org/one@main')).toBeNull();
      const one = c.getModel(`org/one@${C1}`)!;
      expect(c.files(one.id).map((f) => [f.path, f.blob])).toEqual([
        ['a.bin', sha256(bytes('alpha'))],
        ['d/b.bin', sha256(bytes('beta'))],
      ]);
      expect(c.totals()).toMatchObject({ models: 2, blobs: 2, damaged: 0 });
    } finally {
      c.close();
    }
  });

  it('a copied snapshot file is hashed to find its blob; content in no blob marks only its model damaged', async () => {
    let c = open();
    const one = await admitFromStreams(c, meta('org/one', C1), files({ 'a.bin': 'alpha' }));
    const two = await admitFromStreams(c, meta('org/two', C2), files({ 'b.bin': 'beta', 'c.bin': 'gamma' }));
    c.close();
    // a.bin becomes a copy (new inode, same bytes); c.bin's blob is gone (its bytes are in no blob).
    const a = path.join(one.path, 'a.bin');
    const copy = fs.readFileSync(a);
    fs.rmSync(a);
    fs.writeFileSync(a, copy);
    const gammaBlob = path.join(cacheDir, 'v1', 'blobs', 'sha256', sha256(bytes('gamma')).slice(0, 2), sha256(bytes('gamma')));
    fs.chmodSync(path.dirname(gammaBlob), 0o755);
    fs.rmSync(gammaBlob, { force: true });
    dropIndex();

    c = open();
    try {
      expect(c.indexRebuild).toMatchObject({ models: 2, damaged: 1, hashed: 2 });
      expect(c.getModel(`org/one@${C1}`)!.state).toBe('ready');
      expect(c.getModel(`org/two@${C2}`)!.state).toBe('damaged');
      expect(c.files(c.getModel(`org/two@${C2}`)!.id).map((f) => f.path)).toEqual(['b.bin']);
      expect(two.fileCount).toBe(2);
    } finally {
      c.close();
    }
  });

  it('an index of an unknown schema is moved aside and rebuilt, not opened', async () => {
    let c = open();
    await admitFromStreams(c, meta('org/one', C1), files({ 'a.bin': 'alpha' }));
    c.close();
    const db = new Database(path.join(cacheDir, 'v1', 'index.db'));
    db.pragma('user_version = 999');
    db.close();
    c = open();
    try {
      expect(c.indexRebuild?.reason).toMatch(/unknown schema version 999/);
      expect(c.indexRebuild?.movedAside.some((p) => /index\.db\.broken-/.test(path.basename(p)))).toBe(true);
      expect(c.lookup(`org/one@${C1}`).hit).toBe(true);
    } finally {
      c.close();
    }
  });

  it('a healthy index and a fresh cache are not rebuilt', async () => {
    let c = open();
    expect(c.indexRebuild).toBeNull();
    await admitFromStreams(c, meta('org/one', C1), files({ 'a.bin': 'alpha' }));
    c.close();
    c = open();
    expect(c.indexRebuild).toBeNull();
    expect(c.accountingReset).toBeNull();
    c.close();
  });
});

describe('accounting.db', () => {
  /** An index in the old layout (accounting tables inside) with `n` events. */
  function oldLayout(n: number): string {
    const file = path.join(dir, 'index.db');
    const db = openIndex(file);
    const ins = db.prepare("INSERT INTO events (ts, model, outcome, duration_ms) VALUES (?, 'm', 'hit', 1)");
    for (let i = 0; i < n; i++) ins.run(now + i);
    db.prepare("INSERT INTO runs (id, label, started_at) VALUES ('r1', 'x', ?)").run(now);
    db.close();
    return file;
  }
  const tables = (db: Database.Database, schema: string) =>
    (db.prepare(`SELECT name FROM ${schema}.sqlite_master WHERE type = 'table'`).all() as Array<{ name: string }>).map((r) => r.name);

  it('moves the accounting rows out of index.db once, keeping every row', () => {
    const file = oldLayout(5);
    const db = openIndex(file);
    attachAccounting(db, path.join(dir, 'accounting.db'), now);
    expect(tables(db, 'main')).not.toContain('events');
    expect(tables(db, 'acct')).toEqual(expect.arrayContaining(['events', 'daily_totals', 'runs', 'stats_resets']));
    expect(db.prepare('SELECT COUNT(*) AS n FROM events').get()).toEqual({ n: 5 });
    expect(db.prepare('SELECT id FROM runs').all()).toEqual([{ id: 'r1' }]);
    db.close();
    // Opening again changes nothing.
    const again = openIndex(file);
    attachAccounting(again, path.join(dir, 'accounting.db'), now);
    expect(again.prepare('SELECT COUNT(*) AS n FROM events').get()).toEqual({ n: 5 });
    again.close();
  });

  it('a crash between the copy and the drop: the next open only drops, no row doubled', () => {
    const file = oldLayout(3);
    const db = openIndex(file);
    attachAccounting(db, path.join(dir, 'accounting.db'), now);
    db.close();
    // Put the old tables back as they were before the drop (the copy had committed: version 2).
    const raw = new Database(file);
    raw.exec("CREATE TABLE events (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, model TEXT NOT NULL, outcome TEXT NOT NULL, bytes_served INTEGER NOT NULL DEFAULT 0, bytes_downloaded INTEGER NOT NULL DEFAULT 0, duration_ms REAL NOT NULL, client TEXT, run_id TEXT, error_code TEXT, saved_ms REAL NOT NULL DEFAULT 0)");
    raw.prepare("INSERT INTO events (ts, model, outcome, duration_ms) VALUES (?, 'm', 'hit', 1)").run(now);
    raw.close();
    const next = openIndex(file);
    attachAccounting(next, path.join(dir, 'accounting.db'), now);
    expect(tables(next, 'main')).not.toContain('events');
    expect(next.prepare('SELECT COUNT(*) AS n FROM acct.events').get()).toEqual({ n: 3 });
    next.close();
  });

  it('a damaged accounting.db is moved aside and recreated empty', () => {
    const file = oldLayout(2);
    const db = openIndex(file);
    attachAccounting(db, path.join(dir, 'accounting.db'), now);
    db.close();
    fs.writeFileSync(path.join(dir, 'accounting.db'), Buffer.alloc(4096, 1));
    const next = openIndex(file);
    const r = attachAccounting(next, path.join(dir, 'accounting.db'), now);
    expect(r.reason).not.toBeNull();
    expect(r.movedAside.length).toBeGreaterThan(0);
    expect(next.prepare('SELECT COUNT(*) AS n FROM events').get()).toEqual({ n: 0 });
    next.close();
  });
});
