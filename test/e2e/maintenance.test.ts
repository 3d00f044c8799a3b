import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect } from 'vitest';
import type { FakeHub } from '../../dev/fixtures/fakeHub.js';
import { filesUnder, mlxRepo, whisperKitRepo, type RepoSpec } from '../../dev/fixtures/generate.js';
import { noDaemon } from './daemon-helpers.js';
import { daemonPid, waitFor, type Sandbox } from './harness.js';
import { hubTest } from './hubTest.js';

/**
 * verify / clean / optimize / restore / import through the real daemon and CLI, and verify,
 * clean, optimize and import in direct mode (`--no-autostart`, no daemon: the CLI holds the cache lock).
 */

const WK = whisperKitRepo();
const MLX = mlxRepo();
const TINY = filesUnder(WK, 'openai_whisper-tiny');
const MODELS = {
  'whisper-tiny': 'argmaxinc/whisperkit-coreml:openai_whisper-tiny',
  'whisper-base': 'argmaxinc/whisperkit-coreml:openai_whisper-base',
  'mlx-tiny': 'mlx-community/whisper-tiny',
};
const DAY = 86_400_000;

const it = hubTest.extend('sandboxOptions', { models: MODELS });

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const fileOf = (files: RepoSpec['files'], p: string) => {
  const f = files.find((x) => x.path === p);
  if (!f) throw new Error(`fixture has no ${p}`);
  return f.bytes;
};

/** The store's blob file of some content (what a saboteur would edit). */
function blobPath(s: Sandbox, content: Buffer): string {
  const d = sha256(content);
  return path.join(s.cacheDir, 'v1', 'blobs', 'sha256', d.slice(0, 2), d);
}

/** Writable first (blobs are 0444), then flips one byte; size and mtime stay the same. */
function flipByte(file: string, at: number): void {
  const st = fs.statSync(file);
  fs.chmodSync(file, 0o644);
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    fs.writeSync(fd, b, 0, 1, at);
  } finally {
    fs.closeSync(fd);
  }
  fs.utimesSync(file, st.atime, st.mtime);
}

async function getModel(s: Sandbox, name: string, args: string[] = []): Promise<{ path: string; model: string; commit: string; hit: boolean }> {
  const r = await s.cli([...args, 'get', name, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return r.json();
}

interface VerifyJson {
  ok: boolean;
  mode: string;
  models: Array<{ model: string; status: string; corrupted: string[]; missing: string[] }>;
  orphans: { blobs: Array<{ digest: string; bytes: number }>; temp: Array<{ path: string; bytes: number }> };
  bytesHashed: number;
  repaired: string[];
}

describe('verify through the daemon', () => {
  it('a flipped byte: verify exits 1 naming model and file; --repair quarantines and re-fetches from the Hub; verify then exits 0', async ({ hub, sb: s }) => {
    const tiny = await getModel(s, 'whisper-tiny');
    const mlx = await getModel(s, 'mlx-tiny');
    expect((await s.cli(['verify'])).code).toBe(0);

    const original = fileOf(TINY, 'TextDecoder.mlmodelc/model.mil');
    const blob = blobPath(s, original);
    flipByte(blob, 1000);

    const bad = await s.cli(['verify']);
    expect(bad.code, bad.stderr).toBe(1);
    expect(bad.stdout).toContain(tiny.model);
    expect(bad.stdout).toMatch(/corrupted: TextDecoder\.mlmodelc\/model\.mil/);
    const badJson = (await s.cli(['verify', '--json'])).json<VerifyJson>();
    expect(badJson.ok).toBe(false);
    expect(badJson.models.find((m) => m.model === tiny.model)).toMatchObject({ status: 'corrupted', corrupted: ['TextDecoder.mlmodelc/model.mil'] });
    expect(badJson.models.find((m) => m.model === mlx.model)?.status).toBe('ok');

    const fetchesBefore = hub.counters.requests('/argmaxinc/whisperkit-coreml/resolve/');
    const repaired = await s.cli(['verify', '--repair']);
    expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
    expect(repaired.stdout).toContain(`repaired   ${tiny.model}`);
    // Re-fetched from the fake Hub, and the damaged blob kept for inspection in quarantine/.
    expect(hub.counters.requests('/argmaxinc/whisperkit-coreml/resolve/')).toBeGreaterThan(fetchesBefore);
    const quarantined = fs.readdirSync(path.join(s.cacheDir, 'v1', 'quarantine'));
    expect(quarantined.some((q) => q.startsWith(sha256(original)))).toBe(true);
    expect(fs.readFileSync(path.join(tiny.path, 'TextDecoder.mlmodelc', 'model.mil')).equals(original)).toBe(true);

    const after = await s.cli(['verify']);
    expect(after.code, after.stdout).toBe(0);
    expect(after.stdout).toMatch(/Integrity: OK/);
    // status shows when the last verify ran.
    const status = (await s.cli(['status', '--json'])).json<{ lastVerify: { ok: boolean; mode: string } | null }>();
    expect(status.lastVerify).toMatchObject({ ok: true, mode: 'full' });
  });

  it('verify --quick catches a size change without hashing; a file deleted behind the daemon is reported missing', async ({ sb: s }) => {
    const mlx = await getModel(s, 'mlx-tiny');
    const tok = blobPath(s, fileOf(MLX.files, 'tokenizer.json'));
    fs.chmodSync(tok, 0o644);
    fs.appendFileSync(tok, 'xx');

    const quick = await s.cli(['verify', '--quick', '--json']);
    expect(quick.code).toBe(1);
    const q = quick.json<VerifyJson>();
    expect(q.mode).toBe('quick');
    expect(q.bytesHashed).toBe(0);
    expect(q.models).toEqual([expect.objectContaining({ model: mlx.model, status: 'corrupted', corrupted: ['tokenizer.json'] })]);

    fs.rmSync(path.join(mlx.path, 'config.json'));
    const v = await s.cli(['verify', '--quick']);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/missing: +config\.json/);
    expect(v.stdout).toContain(mlx.model);
  });
});

describe('clean and optimize through the daemon', () => {
  /** An orphan blob (no index row) and a temp file older than an hour, plus a fresh temp file (a live download). */
  function plantLeftovers(s: Sandbox, seed: string) {
    const orphan = crypto.createHash('sha256').update(seed).digest();
    const digest = sha256(orphan);
    const blob = path.join(s.cacheDir, 'v1', 'blobs', 'sha256', digest.slice(0, 2), digest);
    fs.mkdirSync(path.dirname(blob), { recursive: true });
    fs.writeFileSync(blob, Buffer.alloc(5_000, 7));
    const stale = path.join(s.cacheDir, 'v1', 'tmp', `stale-${seed}.part`);
    fs.writeFileSync(stale, Buffer.alloc(7_000, 1));
    const old = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(stale, old, old);
    const fresh = path.join(s.cacheDir, 'v1', 'tmp', `fresh-${seed}.part`);
    fs.writeFileSync(fresh, Buffer.alloc(3_000, 2));
    return { digest, blob, stale, fresh };
  }

  it('verify reports an orphan blob and a stale temp file; clean --dry-run removes nothing; clean removes both and prints the bytes freed', async ({ sb: s }) => {
    const mlx = await getModel(s, 'mlx-tiny');
    const l = plantLeftovers(s, 'clean');

    const v = await s.cli(['verify', '--json']);
    expect(v.code).toBe(1);
    const vj = v.json<VerifyJson>();
    expect(vj.orphans.blobs).toEqual([{ digest: l.digest, bytes: 5_000 }]);
    expect(vj.orphans.temp).toEqual([{ path: expect.stringMatching(/stale-clean\.part$/), bytes: 7_000 }]);

    const dry = await s.cli(['clean', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`would remove blob ${l.digest}`));
    expect(dry.stdout).toMatch(/would remove temp .*stale-clean\.part/);
    expect(dry.stdout).toMatch(/^Would free 12\.0 kB$/m);
    expect(fs.existsSync(l.blob) && fs.existsSync(l.stale) && fs.existsSync(l.fresh)).toBe(true);

    const clean = await s.cli(['clean', '--json']);
    expect(clean.code, clean.stderr).toBe(0);
    const cj = clean.json<{ freedBytes: number; removed: Array<{ kind: string; name: string; bytes: number }> }>();
    expect(cj.freedBytes).toBe(12_000);
    expect(cj.removed.map((r) => r.kind).sort()).toEqual(['blob', 'temp']);
    expect(fs.existsSync(l.blob)).toBe(false);
    expect(fs.existsSync(l.stale)).toBe(false);
    // A fresh temp file may belong to a download in progress: never swept.
    expect(fs.existsSync(l.fresh)).toBe(true);
    // The model is untouched and verifies clean.
    expect(fs.existsSync(path.join(mlx.path, 'weights.npz'))).toBe(true);
    expect((await s.cli(['verify'])).code).toBe(0);
  });

  it('optimize sweeps temp leftovers and an orphan blob and prints the bytes freed', async ({ sb: s }) => {
    await getModel(s, 'mlx-tiny');
    const l = plantLeftovers(s, 'optimize');

    const human = await s.cli(['optimize']);
    expect(human.code, human.stderr).toBe(0);
    // The daemon is the only writer and knows its live temp files, so optimize sweeps every other one (7 + 3 kB).
    expect(human.stdout).toMatch(/^swept temp files: 10\.0 kB$/m);
    expect(human.stdout).toMatch(/^orphan blobs removed: 1 \(5\.0 kB\)$/m);
    const freed = /^Freed ([\d.]+) kB$/m.exec(human.stdout);
    expect(Number(freed?.[1])).toBeGreaterThanOrEqual(15);
    expect(fs.existsSync(l.blob) || fs.existsSync(l.stale) || fs.existsSync(l.fresh)).toBe(false);
    expect((await s.cli(['verify'])).code).toBe(0);
  });
});

describe('clean selectors and optimize rollup through the daemon', () => {
  /** Stops the daemon, edits its index (a real SQLite file) as time passing would, and leaves it stopped. */
  async function editIndexOffline(s: Sandbox, edit: (db: Database.Database) => void): Promise<void> {
    expect((await s.cli(['daemon', 'stop'])).code).toBe(0);
    await waitFor(() => noDaemon(s.cacheDir), 10_000, 'the daemon to stop');
    const db = new Database(path.join(s.cacheDir, 'v1', 'index.db'));
    // The accounting tables live in accounting.db, attached as the daemon attaches it.
    db.prepare('ATTACH DATABASE ? AS acct').run(path.join(s.cacheDir, 'v1', 'accounting.db'));
    try {
      edit(db);
    } finally {
      db.close();
    }
  }
  const listed = async (s: Sandbox) =>
    (await s.cli(['list', '--json'])).json<{ models: Array<{ model: string }> }>().models.map((m) => m.model.split('@')[0]).sort();

  it('clean --older-than 7d removes only models last used before then; clean never removes a leased model', async ({ sb: s }) => {
    await getModel(s, 'whisper-tiny');
    await getModel(s, 'whisper-base');
    const mlx = await getModel(s, 'mlx-tiny');
    await editIndexOffline(s, (db) => {
      expect(db.prepare('UPDATE models SET last_access = ? WHERE key = ?').run(Date.now() - 8 * DAY, mlx.model).changes).toBe(1);
    });

    const dry = await s.cli(['clean', '--older-than', '7d', '--dry-run', '--json']); // restarts the daemon
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json<{ removed: Array<{ kind: string; name: string }> }>().removed).toEqual([expect.objectContaining({ kind: 'model', name: mlx.model })]);
    expect(fs.existsSync(mlx.path)).toBe(true);
    const old = await s.cli(['clean', '--older-than', '7d']);
    expect(old.code, old.stderr).toBe(0);
    expect(old.stdout).toContain(`removed model ${mlx.model}`);
    expect(fs.existsSync(mlx.path)).toBe(false);
    expect(await listed(s)).toEqual([MODELS['whisper-base'], MODELS['whisper-tiny']]);

    const held = await s.cli(['get', 'whisper-tiny', '--hold', '--json']);
    expect(held.code, held.stderr).toBe(0);
    const lease = held.json<{ lease: { id: string } }>().lease.id;
    const all = await s.cli(['clean', '--all', '--json']);
    expect(all.code, all.stderr).toBe(0);
    const aj = all.json<{ removed: Array<{ name: string }>; skipped: Array<{ model: string; reason: string }> }>();
    expect(aj.skipped).toEqual([{ model: expect.stringMatching(/openai_whisper-tiny@/), reason: expect.stringMatching(/leased/) }]);
    expect(aj.removed.map((r) => r.name)).toEqual([expect.stringMatching(/openai_whisper-base@/)]);
    expect(await listed(s)).toEqual([MODELS['whisper-tiny']]);

    expect((await s.cli(['release', lease])).code).toBe(0);
    expect((await s.cli(['clean', '--all'])).code).toBe(0);
    expect(await listed(s)).toEqual([]);
  });

  it('optimize rolls events older than the retention into daily totals and the report per day stays the same', async ({ sb: s }) => {
    await getModel(s, 'mlx-tiny');
    for (let i = 0; i < 3; i++) await getModel(s, 'mlx-tiny');
    expect((await s.cli(['get', 'nobody/missing'])).code).toBe(1);
    await getModel(s, 'whisper-tiny');
    // The first four requests (miss, hit, hit, hit) happened 100 days ago, beyond the default 90-day retention.
    await editIndexOffline(s, (db) => {
      const ids = (db.prepare('SELECT id FROM events ORDER BY id LIMIT 4').all() as Array<{ id: number }>).map((r) => r.id);
      expect(ids).toHaveLength(4);
      db.prepare(`UPDATE events SET ts = ts - ? WHERE id IN (${ids.join(',')})`).run(100 * DAY);
    });

    type ReportJson = { summary: Record<string, unknown>; trend: Array<{ day: string; requests: number; hits: number; misses: number; hitRate: number | null }> };
    const report = async () => {
      const r = await s.cli(['report', '--format', 'json', '--since', '200d']);
      expect(r.code, r.stderr).toBe(0);
      return r.json<ReportJson>();
    };
    const before = await report();
    const active = before.trend.filter((d) => d.requests > 0);
    expect(active).toHaveLength(2);
    expect(active[0]).toMatchObject({ requests: 4, hits: 3, misses: 1, hitRate: 0.75 });
    expect(active[1]).toMatchObject({ requests: 2, hits: 0, misses: 1 });
    const statsBefore = (await s.cli(['stats', '--json'])).json<Record<string, unknown>>();

    const opt = await s.cli(['optimize', '--json']);
    expect(opt.code, opt.stderr).toBe(0);
    expect(opt.json<{ eventsRolled: number; daysTouched: number }>()).toMatchObject({ eventsRolled: 4, daysTouched: 1 });

    const after = await report();
    expect(after.trend).toEqual(before.trend);
    const statsAfter = (await s.cli(['stats', '--json'])).json<Record<string, unknown>>();
    for (const k of ['hits', 'misses', 'errors', 'hitRate', 'bytesServed', 'bytesDownloaded', 'bytesAvoided', 'timeSavedMs']) {
      expect(statsAfter[k], k).toEqual(statsBefore[k]);
    }
  });
});

describe('restore through the daemon', () => {
  /** What a huggingface_hub client does offline: refs/<rev> -> snapshots/<commit>/<file>. */
  function resolveHf(cacheRoot: string, repo: string, revision: string, file: string): Buffer {
    const repoDir = path.join(cacheRoot, `models--${repo.replace('/', '--')}`);
    const commit = fs.readFileSync(path.join(repoDir, 'refs', revision), 'utf8').trim();
    return fs.readFileSync(path.join(repoDir, 'snapshots', commit, ...file.split('/')));
  }

  it('--layout hf writes a tree a resolver reads via refs/main, with relative links into blobs/', async ({ hub, sb: s }) => {
    const to = path.join(s.root, 'hf-out');
    const r = await s.cli(['restore', 'whisper-tiny', '--to', to, '--layout', 'hf', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ layout: string; files: number }>()).toMatchObject({ layout: 'hf', files: TINY.length });

    for (const f of WK.files.filter((x) => x.path.startsWith('openai_whisper-tiny/'))) {
      expect(resolveHf(to, WK.id, 'main', f.path).equals(f.bytes), f.path).toBe(true);
    }
    const repoDir = path.join(to, 'models--argmaxinc--whisperkit-coreml');
    const commit = fs.readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8').trim();
    expect(commit).toBe(hub.repos.get(WK.id)!.refs.get('main'));
    const link = path.join(repoDir, 'snapshots', commit, 'openai_whisper-tiny', 'config.json');
    const target = fs.readlinkSync(link);
    expect(path.isAbsolute(target)).toBe(false);
    expect(path.resolve(path.dirname(link), target).startsWith(path.join(repoDir, 'blobs') + path.sep)).toBe(true);
  });

  it('plain restore on the same filesystem shares the blobs (hard link or clone), read-only', async ({ sb: s }) => {
    const mlx = await getModel(s, 'mlx-tiny');
    const to = path.join(s.root, 'plain-out');
    const r = await s.cli(['restore', 'mlx-tiny', '--to', to, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = r.json<{ method: string; files: number; hit: boolean }>();
    expect(res.hit).toBe(true);
    expect(['hardlink', 'clone']).toContain(res.method);
    for (const f of MLX.files) {
      const out = path.join(to, f.path);
      expect(fs.readFileSync(out).equals(f.bytes), f.path).toBe(true);
      if (res.method === 'hardlink') {
        expect(fs.statSync(out).ino).toBe(fs.statSync(path.join(mlx.path, f.path)).ino);
        expect(fs.statSync(out).mode & 0o222).toBe(0);
      }
    }
  });
});

describe('import --from-hf-cache', () => {
  /** A huggingface_hub cache repo: blobs named by etag (sha256 for LFS, git SHA-1 otherwise), relative snapshot links, refs/main. */
  function writeHfRepo(hub: FakeHub, root: string, repo: RepoSpec, commit: string): string {
    const repoDir = path.join(root, `models--${repo.id.replace('/', '--')}`);
    const hubRepo = hub.repos.get(repo.id)!;
    for (const f of repo.files) {
      const hf = hubRepo.commits.get(commit)!.get(f.path)!;
      const blob = path.join(repoDir, 'blobs', hf.lfs ? hf.sha256 : hf.gitSha1);
      fs.mkdirSync(path.dirname(blob), { recursive: true });
      fs.writeFileSync(blob, f.bytes);
      const link = path.join(repoDir, 'snapshots', commit, ...f.path.split('/'));
      fs.mkdirSync(path.dirname(link), { recursive: true });
      fs.symlinkSync(path.relative(path.dirname(link), blob), link);
    }
    fs.mkdirSync(path.join(repoDir, 'refs'), { recursive: true });
    fs.writeFileSync(path.join(repoDir, 'refs', 'main'), commit);
    return repoDir;
  }

  it('admits a fixture HF cache (then get is a hit with no Hub request) and refuses a tampered snapshot', async ({ hub, sb: s }) => {
    const hfRoot = path.join(s.root, 'hf-cache');
    const commit = hub.repos.get(MLX.id)!.refs.get('main')!;
    writeHfRepo(hub, hfRoot, MLX, commit);
    const base = mlxRepo('mlx-community/whisper-base', { weightScale: 0.001 });
    const baseCommit = hub.publish(base);
    const badDir = writeHfRepo(hub, hfRoot, base, baseCommit);
    flipByte(path.join(badDir, 'blobs', sha256(fileOf(base.files, `weights.npz`))), 10);

    const r = await s.cli(['import', '--from-hf-cache', hfRoot, '--json']);
    expect(r.code, r.stderr).toBe(1);
    const d = r.json<{ imported: Array<{ model: string; files: number }>; refused: Array<{ path: string; reason: string }> }>();
    expect(d.imported).toEqual([{ model: `${MLX.id}@${commit}`, files: MLX.files.length, bytes: expect.any(Number), alreadyCached: false }]);
    expect(d.refused).toHaveLength(1);
    expect(d.refused[0]!.path).toContain(`models--mlx-community--whisper-base`);
    expect(d.refused[0]!.reason).toMatch(/weights\.npz/);

    hub.counters.reset();
    const got = await getModel(s, 'mlx-tiny');
    expect(got.hit).toBe(true);
    expect(hub.counters.requests()).toBe(0);
    expect((await s.cli(['list', '--json'])).json<{ models: Array<{ model: string }> }>().models.map((m) => m.model)).toEqual([
      `${MLX.id}@${commit}`,
    ]);
  });
});

describe('direct mode: --no-autostart with no daemon running', () => {
  it('verify, clean, optimize, import and restore work on the cache under its lock, and no daemon is started', async ({ sb: s }) => {
    const tiny = await getModel(s, 'whisper-tiny');
    expect((await s.cli(['daemon', 'stop'])).code).toBe(0);
    await waitFor(() => noDaemon(s.cacheDir), 10_000, 'the daemon to stop');
    const direct = (args: string[]) => s.cli(['--no-autostart', ...args]);

    const ok = await direct(['verify']);
    expect(ok.code, ok.stderr).toBe(0);
    flipByte(blobPath(s, fileOf(TINY, 'config.json')), 20);
    const bad = await direct(['verify']);
    expect(bad.code, bad.stderr).toBe(1);
    expect(bad.stdout).toContain(tiny.model);
    expect(bad.stdout).toMatch(/corrupted: config\.json/);

    const digest = sha256(Buffer.from('direct orphan'));
    const orphan = path.join(s.cacheDir, 'v1', 'blobs', 'sha256', digest.slice(0, 2), digest);
    fs.mkdirSync(path.dirname(orphan), { recursive: true });
    fs.writeFileSync(orphan, Buffer.alloc(4_000, 3));
    const stale = path.join(s.cacheDir, 'v1', 'tmp', 'stale.part');
    fs.writeFileSync(stale, Buffer.alloc(1_000, 3));

    const report = (await direct(['verify', '--json'])).json<VerifyJson>();
    expect(report.orphans.blobs).toEqual([{ digest, bytes: 4_000 }]);
    // Opening the cache under its lock is a start-up: tmp/ leftovers are swept then (no download can be live).
    expect(fs.existsSync(stale)).toBe(false);

    const dry = await direct(['clean', '--partial', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json<{ freedBytes: number }>().freedBytes).toBe(4_000);
    expect(fs.existsSync(orphan)).toBe(true);
    const clean = await direct(['clean', '--partial']);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(new RegExp(`^removed blob ${digest} \\(4\\.0 kB\\)$`, 'm'));
    expect(clean.stdout).toMatch(/^Freed 4\.0 kB$/m);
    expect(fs.existsSync(orphan)).toBe(false);

    const opt = await direct(['optimize', '--json']);
    expect(opt.code, opt.stderr).toBe(0);
    expect(opt.json<{ dbBytesAfter: number }>().dbBytesAfter).toBeGreaterThan(0);

    const emptyHf = path.join(s.root, 'empty-hf');
    fs.mkdirSync(emptyHf);
    const imp = await direct(['import', '--from-hf-cache', emptyHf, '--json']);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.json()).toEqual({ imported: [], refused: [] });

    // restore, also directly: a miss fetches first (from the Hub, in this process), here in the whisperkit layout.
    const to = path.join(s.root, 'wk-out');
    const res = await direct(['restore', 'mlx-tiny', '--to', to, '--layout', 'whisperkit', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.json()).toMatchObject({ hit: false, layout: 'whisperkit', files: MLX.files.length });
    expect(fs.readFileSync(path.join(to, 'models', 'mlx-community', 'whisper-tiny', 'weights.npz')).equals(fileOf(MLX.files, 'weights.npz'))).toBe(true);

    // The corrupted model is still reported (clean --partial does not touch models), and still no daemon.
    expect((await direct(['verify'])).code).toBe(1);
    expect(noDaemon(s.cacheDir)).toBe(true);
    expect(fs.existsSync(s.socketPath)).toBe(false);
  });
});
