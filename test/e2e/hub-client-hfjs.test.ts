import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { downloadFile, downloadFileToCacheDir, listFiles, modelInfo, snapshotDownload, type ListFileEntry } from '@huggingface/hub';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FakeHub } from '../../dev/fixtures/fakeHub.js';
import { filesUnder, whisperKitRepo } from '../../dev/fixtures/generate.js';
import { GATED, published, runStart, startMirror, startMirrorHub, stats, WK, type Mirror } from './hub-conformance-support.js';

/**
 * The real huggingface.js client (`@huggingface/hub`, exact pin), unmodified, pointed at the endpoint with
 * its `hubUrl` option and the default `fetch`, against a daemon child process whose upstream is the fake
 * Hub: listings, repo info, file downloads with and without Range, its own cache layout, and whole
 * snapshots of the WhisperKit repo (the variant folders WhisperKit loads). The tests share one daemon and
 * run in order.
 */

const VARIANT = 'openai_whisper-tiny';
const CONFIG = `${VARIANT}/config.json`;
const WEIGHT = `${VARIANT}/AudioEncoder.mlmodelc/weights/weight.bin`;

let hub: FakeHub;
let m: Mirror;
let tmp: string;

beforeAll(async () => {
  // downloadFileToCacheDir announces every file on console.debug.
  vi.spyOn(console, 'debug').mockImplementation(() => undefined);
  hub = await startMirrorHub();
  m = await startMirror(hub);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-hfjs-'));
});

afterAll(async () => {
  await m?.stop();
  await hub?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function collect(it: AsyncIterable<ListFileEntry>): Promise<ListFileEntry[]> {
  const out: ListFileEntry[] = [];
  for await (const e of it) out.push(e);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Every regular file under `dir` (following the client's symlinks), by path relative to it. */
function filesOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else out.set(path.relative(dir, p), fs.readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

describe('huggingface.js through the endpoint', () => {
  it('listFiles (recursive, and one folder) gives what the Hub gives, minus the Xet hashes', async () => {
    const ours = await collect(listFiles({ repo: WK, recursive: true, hubUrl: m.url }));
    const theirs = await collect(listFiles({ repo: WK, recursive: true, hubUrl: hub.endpoint }));
    expect(theirs.some((e) => e.xetHash), 'the fake Hub advertises Xet').toBe(true);
    expect(ours.length).toBe(whisperKitRepo().files.length + ours.filter((e) => e.type === 'directory').length);
    expect(ours.filter((e) => e.xetHash !== undefined)).toEqual([]);
    // Files byte for byte as the Hub lists them (oid, size, lfs); folders by path (the fake Hub's folder
    // oids are not git tree ids, the endpoint's are).
    const comparable = ({ xetHash: _x, ...e }: ListFileEntry) => (e.type === 'directory' ? { type: e.type, path: e.path, size: e.size } : e);
    expect(ours.map(comparable)).toEqual(theirs.map(comparable));

    const folder = await collect(listFiles({ repo: WK, path: VARIANT, hubUrl: m.url }));
    expect(folder.map((e) => `${e.type} ${e.path}`)).toEqual([
      `directory ${VARIANT}/AudioEncoder.mlmodelc`,
      `directory ${VARIANT}/MelSpectrogram.mlmodelc`,
      `directory ${VARIANT}/TextDecoder.mlmodelc`,
      `file ${VARIANT}/config.json`,
      `file ${VARIANT}/generation_config.json`,
    ]);
  });

  it('modelInfo (revision HEAD by default, and main) names the repo and its commit', async () => {
    const commit = hub.repos.get(WK)!.refs.get('main')!;
    const info = await modelInfo({ name: WK, hubUrl: m.url, additionalFields: ['sha'] });
    expect(info.name).toBe(WK);
    expect(info.sha).toBe(commit);
    expect(info.private).toBe(false);
    const byMain = await modelInfo({ name: WK, hubUrl: m.url, revision: 'main', additionalFields: ['sha', 'filePaths'] });
    expect(byMain.sha).toBe(commit);
    expect([...byMain.filePaths].sort()).toEqual(whisperKitRepo().files.map((f) => f.path).sort());
  });

  it('downloadFile of a regular and an LFS file, whole', async () => {
    for (const p of [CONFIG, WEIGHT]) {
      const f = published(hub, WK, p);
      const blob = await downloadFile({ repo: WK, path: p, hubUrl: m.url });
      expect(blob, p).not.toBeNull();
      expect(blob!.size, p).toBe(f.size);
      expect(Buffer.from(await blob!.arrayBuffer()).equals(f.bytes), p).toBe(true);
    }
  });

  it('downloadFile with Range: slices of a cold LFS file, then of the same file warm', async () => {
    const p = `${VARIANT}/TextDecoder.mlmodelc/weights/weight.bin`;
    const f = published(hub, WK, p);
    for (const round of ['cold', 'warm']) {
      const blob = await downloadFile({ repo: WK, path: p, hubUrl: m.url });
      expect(blob!.size, round).toBe(f.size);
      const a = Buffer.from(await blob!.slice(1_000, 5_000).arrayBuffer());
      expect(a.equals(f.bytes.subarray(1_000, 5_000)), `${round}: bytes 1000-4999`).toBe(true);
      const tail = Buffer.from(await blob!.slice(f.size - 777).arrayBuffer());
      expect(tail.equals(f.bytes.subarray(f.size - 777)), `${round}: the last 777 bytes`).toBe(true);
    }
    const whole = await downloadFile({ repo: WK, path: p, hubUrl: m.url });
    expect(Buffer.from(await whole!.arrayBuffer()).equals(f.bytes)).toBe(true);
  });

  it('downloadFile of a missing file answers null (EntryNotFound)', async () => {
    expect(await downloadFile({ repo: WK, path: `${VARIANT}/no-such-file.json`, hubUrl: m.url })).toBeNull();
  });

  it('downloadFileToCacheDir writes the blob under the Hub etag and links the snapshot to it', async () => {
    const cacheDir = path.join(tmp, 'one-file');
    for (const p of [CONFIG, WEIGHT]) {
      const f = published(hub, WK, p);
      const pointer = await downloadFileToCacheDir({ repo: WK, path: p, hubUrl: m.url, cacheDir });
      expect(pointer).toBe(path.join(cacheDir, 'models--argmaxinc--whisperkit-coreml', 'snapshots', f.commit, p));
      expect(fs.readFileSync(pointer).equals(f.bytes)).toBe(true);
      expect(path.basename(fs.realpathSync(pointer)), 'blob named by the etag the Hub gives').toBe(f.etag);
    }
  });

  it('snapshotDownload of the WhisperKit repo yields its variant folders byte for byte; a second one into an empty cache makes no upstream request', async () => {
    const first = path.join(tmp, 'snap-1');
    const second = path.join(tmp, 'snap-2');
    const commit = hub.repos.get(WK)!.refs.get('main')!;
    const snap1 = await snapshotDownload({ repo: WK, hubUrl: m.url, cacheDir: first });
    expect(snap1).toBe(path.join(first, 'models--argmaxinc--whisperkit-coreml', 'snapshots', commit));
    const variant = filesOf(path.join(snap1, VARIANT));
    const want = filesUnder(whisperKitRepo(), VARIANT);
    expect(variant.size).toBe(want.length);
    expect(want.length).toBe(17);
    for (const f of want) expect(variant.get(f.path)?.equals(f.bytes), f.path).toBe(true); // paths relative to the variant
    expect(filesOf(snap1).size).toBe(whisperKitRepo().files.length);

    hub.counters.reset();
    const snap2 = await snapshotDownload({ repo: WK, hubUrl: m.url, cacheDir: second });
    expect(hub.counters.log.map((r) => `${r.server} ${r.method} ${r.path}`), 'the second snapshot is served from the cache alone').toEqual([]);
    const a = filesOf(snap1);
    const b = filesOf(snap2);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [k, v] of a) expect(b.get(k)?.equals(v), k).toBe(true);
    expect(fs.readFileSync(path.join(second, 'models--argmaxinc--whisperkit-coreml', 'refs', 'main'), 'utf8')).toBe(commit);
  });

  it("the client's cache holds the same blob names as a snapshotDownload from the Hub directly", async () => {
    const viaUs = path.join(tmp, 'snap-1', 'models--argmaxinc--whisperkit-coreml');
    const direct = path.join(tmp, 'snap-direct');
    await snapshotDownload({ repo: WK, hubUrl: hub.endpoint, cacheDir: direct });
    const blobs = (root: string) => fs.readdirSync(path.join(root, 'blobs')).sort();
    const directBlobs = blobs(path.join(direct, 'models--argmaxinc--whisperkit-coreml'));
    expect(directBlobs.length).toBeGreaterThan(10);
    expect(blobs(viaUs)).toEqual(directBlobs);
    const viaUsFiles = filesOf(path.join(viaUs, 'blobs'));
    for (const [name, bytes] of filesOf(path.join(direct, 'models--argmaxinc--whisperkit-coreml', 'blobs'))) {
      expect(viaUsFiles.get(name)?.equals(bytes), name).toBe(true);
    }
  });

  it('the run given in the hubUrl prefix (/run/<id>) accounts its requests', async () => {
    const run = await runStart(m.sb, 'hfjs');
    const hubUrl = `${m.url}/run/${run}`;
    const p = `${VARIANT}/generation_config.json`;
    const blob = await downloadFile({ repo: WK, path: p, hubUrl });
    expect(Buffer.from(await blob!.arrayBuffer()).equals(published(hub, WK, p).bytes)).toBe(true);
    const dir = await snapshotDownload({ repo: 'mlx-community/whisper-tiny', hubUrl, cacheDir: path.join(tmp, 'mlx') });
    expect(fs.readdirSync(dir).sort()).toEqual(['.gitattributes', 'config.json', 'tokenizer.json', 'weights.npz']);
    const s = await stats(m.sb, ['--run', run]);
    // downloadFile sends a range probe and a GET; snapshotDownload one GET per file (4).
    expect(s.hits + s.misses, JSON.stringify(s)).toBeGreaterThanOrEqual(5);
    expect(s.errors).toBe(0);
    expect(s.misses).toBeGreaterThanOrEqual(4);
    // huggingface.js sends no User-Agent of its own: Node's fetch says `node`, which the endpoint labels huggingface.js.
    const byClient = await stats(m.sb, ['--run', run, '--by', 'client']);
    expect((byClient.breakdown ?? []).map((b) => b.client), JSON.stringify(byClient.breakdown)).toEqual(['huggingface.js']);
  });

  it('a gated file downloads with the local secret as the access token, and is refused without it', async () => {
    const f = published(hub, GATED, 'weights.bin');
    await expect(downloadFile({ repo: GATED, path: 'weights.bin', hubUrl: m.url })).rejects.toThrow();
    const blob = await downloadFile({ repo: GATED, path: 'weights.bin', hubUrl: m.url, accessToken: m.secret });
    expect(Buffer.from(await blob!.arrayBuffer()).equals(f.bytes)).toBe(true);
    await expect(downloadFile({ repo: GATED, path: 'weights.bin', hubUrl: m.url })).rejects.toThrow();
  });
});
