import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeHub } from '../../dev/fixtures/fakeHub.js';
import { ALIASES, getJson, startHub, WK } from '../e2e/daemon-helpers.js';
import { daemonPid, makeSandbox, waitFor, type Sandbox } from '../e2e/harness.js';
import { v1 } from './helpers.js';

/**
 * A destroyed index.db is not an outage: at the next start the daemon moves the broken file aside,
 * rebuilds the index from the store, and serves every model cached before with no file downloaded
 * again; a damaged accounting.db is recreated without touching serving. At run time a damaged index
 * answers E_INDEX (retryable) and the daemon exits 75 to be restarted; `daemon stop` still works.
 */

let hub: FakeHub;
let sb: Sandbox;

beforeAll(async () => {
  hub = await startHub();
});
afterAll(async () => {
  await hub.close();
});
beforeEach(() => {
  sb = makeSandbox({ endpoint: hub.endpoint, models: { ...ALIASES } });
});
afterEach(async () => {
  await sb.cleanup();
});

/** GET requests for file content at the fake Hub (every repo; CDN hops not counted). */
const fileGets = (): number =>
  hub.counters.requests(`/${WK}/resolve`, 'GET') + hub.counters.requests('/mlx-community/whisper-tiny/resolve', 'GET');

const MODELS = ['whisper-tiny', 'whisper-base', 'mlx-tiny'] as const;

/** Caches every model (one by commit too), stops the daemon; returns the commits by alias. */
async function cacheAll(): Promise<Map<string, string>> {
  const commits = new Map<string, string>();
  for (const m of MODELS) commits.set(m, (await getJson(sb, m)).commit);
  expect((await sb.cli(['daemon', 'stop'])).code).toBe(0);
  await waitFor(() => daemonPid(sb.cacheDir) === null, 10_000, 'the daemon to stop');
  return commits;
}

interface StatusJson {
  models: number;
  damaged: number;
  index?: { rebuiltAt: number; reason: string; movedAside: string[]; models: number; files: number; damaged: number };
  accountingReset?: { at: number; movedAside: string[] };
}

/** After the damage: every model served from the cache, no file downloaded, verify clean, status says so. */
async function assertServedWithoutDownloads(commits: Map<string, string>, expectIndexRebuilt: boolean): Promise<StatusJson> {
  const before = fileGets();
  for (const m of MODELS) {
    const got = await getJson(sb, m);
    expect(got.commit, m).toBe(commits.get(m));
    expect(got.hit, m).toBe(true);
  }
  // By commit too: the rebuilt index knows `<repo>@<commit>[:sub]` without asking the origin.
  const tiny = await getJson(sb, `${WK}@${commits.get('whisper-tiny')}:openai_whisper-tiny`);
  expect(tiny.hit).toBe(true);
  expect(fileGets(), 'files downloaded again after the index was lost').toBe(before);
  const verify = await sb.cli(['--json', 'verify']);
  expect(verify.code, `verify: ${verify.stdout}\n${verify.stderr}`).toBe(0);
  const status = await sb.cli(['--json', 'status']);
  expect(status.code, status.stderr).toBe(0);
  const s = status.json<StatusJson>();
  expect(s.models).toBe(MODELS.length);
  expect(s.damaged).toBe(0);
  if (expectIndexRebuilt) {
    expect(s.index, 'status reports the rebuild').toBeDefined();
    expect(s.index!.models).toBe(MODELS.length);
    expect(s.index!.damaged).toBe(0);
    const page = await sb.cli(['status']);
    expect(page.stdout).toMatch(/^Index: rebuilt from the store/m);
    const log = fs.readFileSync(path.join(sb.root, 'daemon.log'), 'utf8');
    expect(log).toContain('index rebuilt from the store');
  } else {
    expect(s.index).toBeUndefined();
  }
  return s;
}

const brokenFiles = (name: string): string[] => fs.readdirSync(v1(sb)).filter((f) => f.startsWith(`${name}.broken-`));

describe('index.db destroyed while the daemon is stopped', () => {
  it('truncated: moved aside, rebuilt from the store, every model served with zero downloads', async () => {
    const commits = await cacheAll();
    const db = path.join(v1(sb), 'index.db');
    fs.truncateSync(db, Math.floor(fs.statSync(db).size / 3));
    const s = await assertServedWithoutDownloads(commits, true);
    expect(s.index!.movedAside.length).toBeGreaterThan(0);
    expect(brokenFiles('index.db').length).toBeGreaterThan(0);
  });

  it('filled with garbage: moved aside and rebuilt', async () => {
    const commits = await cacheAll();
    const db = path.join(v1(sb), 'index.db');
    fs.writeFileSync(db, Buffer.alloc(fs.statSync(db).size, 0x5a));
    const s = await assertServedWithoutDownloads(commits, true);
    expect(s.index!.movedAside.some((p) => path.basename(p).startsWith('index.db.broken-'))).toBe(true);
  });

  it('deleted with its -wal and -shm: rebuilt', async () => {
    const commits = await cacheAll();
    for (const f of ['index.db', 'index.db-wal', 'index.db-shm']) fs.rmSync(path.join(v1(sb), f), { force: true });
    const s = await assertServedWithoutDownloads(commits, true);
    expect(s.index!.reason).toBe('index missing');
  });

  it('deleted, its -wal left behind: the stray WAL is moved aside, the index rebuilt', async () => {
    const commits = await cacheAll();
    fs.writeFileSync(path.join(v1(sb), 'index.db-wal'), Buffer.alloc(4096, 7));
    fs.rmSync(path.join(v1(sb), 'index.db'), { force: true });
    const s = await assertServedWithoutDownloads(commits, true);
    expect(s.index!.movedAside.some((p) => p.endsWith('-wal'))).toBe(true);
  });

  it('a branch whose ref was lost is served offline from its only cached commit', async () => {
    const commits = await cacheAll();
    for (const f of ['index.db', 'index.db-wal', 'index.db-shm']) fs.rmSync(path.join(v1(sb), f), { force: true });
    const before = fileGets();
    const r = await sb.cli(['--json', 'get', 'whisper-tiny'], { env: { HF_HUB_OFFLINE: '1' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ commit: string }>().commit).toBe(commits.get('whisper-tiny'));
    expect(fileGets()).toBe(before);
  });
});

describe('accounting.db', () => {
  it('filled with garbage: recreated empty, serving unaffected, status says the history is lost', async () => {
    const commits = await cacheAll();
    const acct = path.join(v1(sb), 'accounting.db');
    expect(fs.existsSync(acct)).toBe(true);
    for (const f of ['accounting.db-wal', 'accounting.db-shm']) fs.rmSync(path.join(v1(sb), f), { force: true });
    fs.writeFileSync(acct, Buffer.alloc(8192, 0x33));
    const s = await assertServedWithoutDownloads(commits, false);
    expect(s.accountingReset).toBeDefined();
    expect(brokenFiles('accounting.db').length).toBeGreaterThan(0);
    const stats = await sb.cli(['--json', 'stats']);
    expect(stats.code, stats.stderr).toBe(0);
  });

  it('the accounting tables live in accounting.db, none in index.db', async () => {
    await cacheAll();
    const tables = (file: string) => {
      const db = new Database(path.join(v1(sb), file), { readonly: true });
      try {
        return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name);
      } finally {
        db.close();
      }
    };
    expect(tables('index.db')).not.toContain('events');
    expect(tables('accounting.db')).toEqual(expect.arrayContaining(['events', 'daily_totals', 'runs', 'stats_resets']));
  });
});

describe('index.db destroyed while the daemon runs', () => {
  /** Caches every model through a running daemon, then truncates its (checkpointed) index behind it. */
  async function damageUnderDaemon(): Promise<{ commits: Map<string, string>; pid: number }> {
    const commits = new Map<string, string>();
    for (const m of MODELS) commits.set(m, (await getJson(sb, m)).commit);
    const pid = daemonPid(sb.cacheDir)!;
    expect(pid).not.toBeNull();
    // optimize checkpoints the WAL into index.db: from now on the daemon reads pages from index.db itself.
    expect((await sb.cli(['--json', 'optimize'])).code).toBe(0);
    const db = path.join(v1(sb), 'index.db');
    fs.truncateSync(db, 4096);
    // Another writer commits (a WAL frame of page 1): the daemon's cached pages are stale, so it reads the file.
    const other = new Database(db);
    try {
      other.pragma('busy_timeout = 5000');
      other.pragma(`user_version = ${other.pragma('user_version', { simple: true }) as number}`);
    } finally {
      other.close();
    }
    return { commits, pid };
  }

  const gone = (pid: number) => () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  };

  it('a request reading the index gets E_INDEX (retryable), the daemon exits to be restarted, the next start rebuilds', async () => {
    const { commits, pid } = await damageUnderDaemon();
    const verify = await sb.cli(['--json', '--no-autostart', 'verify']);
    expect(verify.code).not.toBe(0);
    expect(verify.json<{ error: { code: string; retryable: boolean } }>().error).toMatchObject({ code: 'E_INDEX', retryable: true });
    await waitFor(gone(pid), 15_000, 'the daemon to exit for a restart');
    expect(fs.readFileSync(path.join(sb.root, 'daemon.log'), 'utf8')).toContain('index database damaged');
    await assertServedWithoutDownloads(commits, true);
  });

  it('status answers from memory and says the index is damaged; daemon stop stops it; the next start rebuilds', async () => {
    const { commits, pid } = await damageUnderDaemon();
    const status = await sb.cli(['--json', '--no-autostart', 'status']);
    expect(status.code, status.stderr).toBe(0);
    const s = status.json<StatusJson & { indexDamaged?: string }>();
    expect(s.indexDamaged).toBeTruthy();
    expect(s.models).toBe(MODELS.length);
    const stop = await sb.cli(['daemon', 'stop']);
    expect(stop.code, stop.stderr).toBe(0);
    await waitFor(gone(pid), 15_000, 'the daemon to stop');
    await assertServedWithoutDownloads(commits, true);
  });

  it('daemon stop alone stops it; the next start rebuilds', async () => {
    const { commits, pid } = await damageUnderDaemon();
    const stop = await sb.cli(['daemon', 'stop']);
    expect(stop.code, stop.stderr).toBe(0);
    await waitFor(gone(pid), 15_000, 'the daemon to stop');
    await assertServedWithoutDownloads(commits, true);
  });
});
