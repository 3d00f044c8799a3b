import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashFiles } from '../../src/maintenance/hashWorker.js';
import { maintenance } from '../../src/maintenance/index.js';
import { bytes, gitSha1, makeSandbox, sha256, type Sandbox } from './fixtures.js';

let dir: string;
let sb: Sandbox | null = null;
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  sb?.close();
  sb = null;
});

describe('hashFiles (worker threads)', () => {
  it('computes sha256 and git SHA-1 of many files across threads, in job order, with byte progress', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-'));
    const contents = Array.from({ length: 9 }, (_, i) => bytes(1000 * (i + 1) + (i === 4 ? 5_000_000 : 0), `f${i}`));
    const jobs = contents.map((b, i) => {
      const p = path.join(dir, `f${i}`);
      fs.writeFileSync(p, b);
      return { path: p, gitSha1: true };
    });
    let progressed = 0;
    const out = await hashFiles(jobs, { threads: 3, onBytes: (n) => void (progressed += n) });
    out.forEach((r, i) => {
      expect(r).toEqual(expect.objectContaining({ ok: true, sha256: sha256(contents[i]!), gitSha1: gitSha1(contents[i]!), bytes: contents[i]!.length }));
    });
    expect(progressed).toBe(contents.reduce((a, b) => a + b.length, 0));
  });

  it('never follows a symlink and reports missing files as outcomes', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-'));
    fs.writeFileSync(path.join(dir, 'real'), 'x');
    fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
    const out = await hashFiles([{ path: path.join(dir, 'link') }, { path: path.join(dir, 'nope') }, { path: dir }]);
    expect(out.map((r) => (r.ok ? 'ok' : r.code))).toEqual(['ELOOP', 'ENOENT', 'ENOTFILE']);
  });

  it('maintenance() exposes every command over one cache', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-'));
    sb = makeSandbox();
    const m = maintenance(sb.deps());
    expect((await m.verify({ quick: false, repair: false })).ok).toBe(true);
    expect((await m.clean({ dryRun: true, corrupted: false, partial: false, olderThanMs: null, all: true, models: [] })).removed).toEqual([]);
    expect((await m.optimize()).eventsRolled).toBe(0);
    expect((await m.importHfCache({ from: dir })).imported).toEqual([]);
  });
});
