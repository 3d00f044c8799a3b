import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAdmissions, type AdmissionSource, type FetchedSnapshot } from '../../src/cache/admission.js';
import type { OpenedCache } from '../../src/cache/maintenanceApi.js';
import { openCache } from '../../src/cache/openCache.js';
import { CacheError } from '../../src/errors.js';
import type { BlobSink } from '../../src/store/types.js';
import { admitFromStreams } from './admitFromStreams.js';
import { assertConsistent, bytes, chunks, expectedOf, rmTree, tempDir } from './helpers.js';

let dir: string;
let now: number;
const open: OpenedCache[] = [];

beforeEach(() => {
  dir = tempDir();
  now = 1_700_000_000_000;
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
  rmTree(dir);
});

function openIt(limitBytes = 1_000_000): OpenedCache {
  const c = openCache({ cacheDir: path.join(dir, 'cache'), limitBytes, lowWatermark: 1, clock: () => now });
  open.push(c);
  return c;
}

/** Writes `contents` into `sink` like a downloader: what the sink already has is not written again. */
async function writeAll(sink: BlobSink, contents: Record<string, string>): Promise<FetchedSnapshot> {
  const files: FetchedSnapshot['files'] = [];
  let bytesDownloaded = 0;
  for (const [p, text] of Object.entries(contents)) {
    const buf = bytes(text);
    const found = sink.findBlob(expectedOf(buf));
    if (found) {
      files.push({ path: p, blob: found.sha256, size: found.size });
      continue;
    }
    const w = await sink.openWriter(expectedOf(buf));
    for await (const chunk of chunks(buf, 3)) await w.write(chunk);
    const ref = await w.commit();
    bytesDownloaded += ref.size;
    files.push({ path: p, blob: ref.sha256, size: ref.size });
  }
  return { files, bytesDownloaded, durationMs: 5 };
}

function source(repo: string, commit: string, contents: Record<string, string>, extra: Partial<AdmissionSource> = {}) {
  const calls = { fetch: 0 };
  const src: AdmissionSource = {
    repo,
    subfolder: null,
    commit,
    origin: 'test',
    files: Object.values(contents).map((t) => expectedOf(bytes(t))),
    fetch: (sink) => {
      calls.fetch++;
      return writeAll(sink, contents);
    },
    ...extra,
  };
  return { src, calls };
}

describe('createAdmissions', () => {
  it('concurrent callers of one key share one flight: one prepare, one fetch, one leader', async () => {
    const c = openIt();
    const adm = createAdmissions({ cache: c, isLeased: () => false });
    const { src, calls } = source('org/a', 'c1', { 'w.bin': 'weights', 'cfg.json': '{}' });
    let prepared = 0;
    const prepare = async () => {
      prepared++;
      return src;
    };
    const all = Promise.all([adm.ensure('org/a@main', prepare), adm.ensure('org/a@main', prepare), adm.ensure('org/a@main', prepare)]);
    expect(adm.inFlight()).toBe(1);
    expect(adm.isInFlight('org/a@main')).toBe(true);
    const results = await all;
    expect(prepared).toBe(1);
    expect(calls.fetch).toBe(1);
    expect(results.map((r) => r.leader)).toEqual([true, false, false]);
    for (const r of results) expect(r.outcome).toBe(results[0]!.outcome);
    expect(results[0]!.outcome.bytesDownloaded).toBe(9);
    expect(results[0]!.outcome.model.key).toBe('org/a@c1');
    expect(adm.inFlight()).toBe(0);
    expect(c.totals()).toMatchObject({ reservedBytes: 0, models: 1 });
    assertConsistent(path.join(dir, 'cache'), { hashFiles: true });
  });

  it('a waiter whose signal aborts stops waiting; the flight completes for the others', async () => {
    const c = openIt();
    const adm = createAdmissions({ cache: c, isLeased: () => false });
    let go!: () => void;
    const gate = new Promise<void>((r) => (go = r));
    const { src } = source('org/a', 'c1', { 'w.bin': 'weights' });
    const slow: AdmissionSource = { ...src, fetch: async (sink) => (await gate, src.fetch(sink)) };
    const leader = adm.ensure('k', async () => slow);
    const ac = new AbortController();
    const waiter = adm.ensure('k', async () => slow, ac.signal);
    ac.abort();
    const err = await waiter.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CacheError);
    expect((err as CacheError).code).toBe('E_SHUTTING_DOWN');
    go();
    expect((await leader).outcome.model.key).toBe('org/a@c1');
  });

  it('makes room and reserves the bytes still needed before fetching; releases both when the fetch fails', async () => {
    const c = openIt(40);
    const old = await admitFromStreams(c, { repo: 'org/old', subfolder: null, commit: 'c1', origin: 'test', fetchMs: 1 }, [
      { path: 'o.bin', expected: expectedOf(bytes('o'.repeat(30))), stream: chunks(bytes('o'.repeat(30))) },
    ]);
    const adm = createAdmissions({ cache: c, isLeased: () => false });
    const { src } = source('org/new', 'c1', { 'n.bin': 'n'.repeat(20) });
    let seen: { reserved: number; oldThere: boolean } | null = null;
    const failing: AdmissionSource = {
      ...src,
      fetch: async (sink) => {
        seen = { reserved: c.totals().reservedBytes, oldThere: c.getModel(old.id) !== null };
        await writeAll(sink, { 'n.bin': 'n'.repeat(20) });
        throw new Error('origin went away');
      },
    };
    await expect(adm.admit(failing)).rejects.toThrow('origin went away');
    expect(seen).toEqual({ reserved: 20, oldThere: false });
    // reservation released, and the blob written for the failed admission is not kept by its scope
    expect(c.totals()).toMatchObject({ reservedBytes: 0, models: 0 });
    now += 2 * 3600_000;
    expect(c.collectGarbage().blobs).toBe(1);
    expect(c.totals().usedBytes).toBe(0);
  });

  it('a ref already resolving to a cached model needs no fetch; a pin follows the repo to a new commit', async () => {
    const c = openIt();
    const adm = createAdmissions({ cache: c, isLeased: () => false });
    const first = await adm.admit(source('org/p', 'c1', { 'w.bin': 'one' }).src);
    c.setPinned(first.model.id, true);
    c.putRef({ ref: 'org/p@main', repo: 'org/p', revision: 'main', subfolder: null, commit: 'c1', origin: 'test', resolvedAt: now });

    const cached = source('org/p', 'c1', { 'w.bin': 'one' }, { ref: 'org/p@main' });
    const again = await adm.admit(cached.src);
    expect(cached.calls.fetch).toBe(0);
    expect(again).toMatchObject({ bytesDownloaded: 0, model: { id: first.model.id } });

    const moved = await adm.admit(source('org/p', 'c2', { 'w.bin': 'two' }).src);
    expect(moved.model).toMatchObject({ key: 'org/p@c2', pinned: true });
    expect(moved.model.fetchMs).toBe(5);
  });

  it('files of a damaged model whose snapshot link changed are fetched again, the intact ones are reused', async () => {
    const c = openIt();
    const adm = createAdmissions({ cache: c, isLeased: () => false });
    const contents = { 'a.bin': 'alpha', 'b.bin': 'bravo!' };
    const { model } = await adm.admit(source('org/d', 'c1', contents).src);
    const a = path.join(model.path, 'a.bin');
    fs.unlinkSync(a);
    fs.writeFileSync(a, 'other');
    c.markDamaged(model.id);

    const again = await adm.admit(source('org/d', 'c1', contents).src);
    expect(again.bytesDownloaded).toBe(5); // a.bin only
    expect(again.model).toMatchObject({ id: model.id, state: 'ready' });
    expect(fs.readFileSync(a, 'utf8')).toBe('alpha');
    assertConsistent(path.join(dir, 'cache'), { hashFiles: true });
  });
});
