import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeHub } from '../../dev/fixtures/fakeHub.js';
import {
  hex40,
  normalizeEtag,
  published,
  raw,
  runStart,
  startMirror,
  startMirrorHub,
  stats,
  TOKENIZER,
  WK,
  xetAdvertisements,
  type Mirror,
  type RawResponse,
} from './hub-conformance-support.js';

/**
 * The request sequences the Python and Swift clients make, replayed with `node:http` as their code
 * makes them (the reference's file:line notes), against the endpoint of a daemon child process:
 * - WhisperKit (vendored swift-transformers 1.1.6): the revision listing, `siblings` matched with the
 *   variant glob, then per file a HEAD and a GET resuming a partial file with `Range`; the tokenizer repo
 *   through `HF_ENDPOINT` with the run in the URL; a second load is one HEAD per file whose
 *   `X-Repo-Commit` matches, no transfer, and no upstream request at all.
 * - huggingface_hub `snapshot_download`: repo info, the recursive tree followed through `Link`, then per
 *   file a HEAD (no redirect followed) whose etag names the blob, then a GET; the blob names equal
 *   those the same flow gets from the Hub itself.
 */

let hub: FakeHub;
let m: Mirror;

beforeAll(async () => {
  hub = await startMirrorHub();
  m = await startMirror(hub);
});

afterAll(async () => {
  await m?.stop();
  await hub?.close();
});

/** fnmatch as WhisperKit's Hub code uses it: `*` also matches `/`. */
function fnmatch(glob: string, s: string): boolean {
  const re = new RegExp(`^${glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(s);
}

const WK_UA = 'WhisperKit/1 CFNetwork/1568.100.1 Darwin/24.0.0';
const PY_UA = 'huggingface_hub/1.28.0; python/3.12.4; torch/2.5.0';

/** Swift's metadata check: commit, etag and size must all be there (else invalidMetadataError). */
function swiftMetadata(res: RawResponse): { commit: string; etag: string; size: number } {
  const commit = String(res.headers['x-repo-commit'] ?? '');
  const etag = normalizeEtag(res.headers['x-linked-etag'] ?? res.headers.etag) ?? '';
  const size = Number(res.headers['x-linked-size'] ?? res.headers['content-length']);
  expect(commit, 'X-Repo-Commit').toMatch(hex40);
  expect(etag, 'etag').not.toBe('');
  expect(Number.isFinite(size), 'size').toBe(true);
  return { commit, etag, size };
}

describe('WhisperKit loading a variant and its tokenizer', () => {
  it('lists, HEADs and GETs (resuming with Range) every file of the variant; a second load is HEADs only, all hits, nothing upstream', async () => {
    const run = await runStart(m.sb, 'whisperkit');
    const modelEndpoint = `${m.url}/run/${run}`;
    const headers = { 'User-Agent': WK_UA };
    const listing = await raw(modelEndpoint, `/api/models/${WK}/revision/main`, { headers });
    expect(listing.status).toBe(200);
    const siblings = (JSON.parse(listing.body.toString('utf8')) as { siblings: Array<{ rfilename: string }> }).siblings.map((s) => s.rfilename);
    const files = siblings.filter((f) => fnmatch('*tiny/*', f));
    expect(files.length).toBe(17);

    const local = new Map<string, { commit: string; etag: string; bytes: Buffer }>();
    for (const [i, file] of files.entries()) {
      const pub = published(hub, WK, file);
      const head = await raw(modelEndpoint, `/${WK}/resolve/main/${file}`, { method: 'HEAD', headers });
      expect(head.status, file).toBe(200);
      const meta = swiftMetadata(head);
      expect(meta).toEqual({ commit: pub.commit, etag: pub.etag, size: pub.size });
      expect(xetAdvertisements(head)).toEqual([]);
      // Every third file was cut off earlier: WhisperKit's Downloader resumes its .incomplete file.
      const have = i % 3 === 0 ? Math.floor(pub.size / 2) : 0;
      const get = await raw(modelEndpoint, `/${WK}/resolve/main/${file}`, { headers: { ...headers, ...(have ? { Range: `bytes=${have}-` } : {}) } });
      expect(get.status, file).toBe(have ? 206 : 200);
      const bytes = have ? Buffer.concat([pub.bytes.subarray(0, have), get.body]) : get.body;
      expect(bytes.equals(pub.bytes), file).toBe(true);
      local.set(file, { commit: meta.commit, etag: meta.etag, bytes });
    }

    // The tokenizer comes from openai/whisper-tiny through HF_ENDPOINT (same run in the URL).
    const tokFiles = ['config.json', 'tokenizer_config.json', 'tokenizer.json'];
    for (const file of tokFiles) {
      const head = await raw(modelEndpoint, `/${TOKENIZER}/resolve/main/${file}`, { method: 'HEAD', headers: { 'User-Agent': 'swift-transformers/1.1.6' } });
      expect(swiftMetadata(head).etag).toBe(published(hub, TOKENIZER, file).etag);
      const get = await raw(modelEndpoint, `/${TOKENIZER}/resolve/main/${file}`, { headers: { 'User-Agent': 'swift-transformers/1.1.6' } });
      expect(get.body.equals(published(hub, TOKENIZER, file).bytes), file).toBe(true);
    }

    // Second load (the app starts again): one HEAD per file; commit matches, so no transfer.
    hub.counters.reset();
    for (const file of files) {
      const head = await raw(modelEndpoint, `/${WK}/resolve/main/${file}`, { method: 'HEAD', headers });
      const meta = swiftMetadata(head);
      expect(meta.commit, file).toBe(local.get(file)!.commit);
      expect(meta.etag, file).toBe(local.get(file)!.etag);
    }
    expect(hub.counters.log.map((r) => `${r.method} ${r.path}`), 'a warm load asks nothing upstream').toEqual([]);

    const s = await stats(m.sb, ['--run', run]);
    // 17 HEAD + 17 GET + 3 HEAD + 3 GET + 17 HEAD file requests.
    expect(s.hits + s.misses + s.errors).toBe(57);
    expect(s.errors).toBe(0);
    expect(s.hits, 'the second load is all hits').toBeGreaterThanOrEqual(17);
    const byClient = await stats(m.sb, ['--run', run, '--by', 'client']);
    const swift = byClient.breakdown?.find((b) => b.client === 'swift-transformers');
    expect(swift, JSON.stringify(byClient.breakdown)).toBeDefined();
    expect(Number(swift!.hits) + Number(swift!.misses)).toBe(57);
  });
});

describe('huggingface_hub snapshot_download', () => {
  interface TreeEntry {
    type: string;
    path: string;
  }

  /** The flow against `base`: the blob name (normalised etag) and bytes of every file of the repo at main. */
  async function snapshotFlow(base: string, repo: string): Promise<{ commit: string; blobs: Map<string, Buffer>; pages: number }> {
    const headers = { 'User-Agent': PY_UA, 'Accept-Encoding': 'identity' };
    const info = await raw(base, `/api/models/${repo}/revision/main`, { headers });
    expect(info.status).toBe(200);
    const commit = (JSON.parse(info.body.toString('utf8')) as { sha: string }).sha;
    expect(commit).toMatch(hex40);
    const entries: TreeEntry[] = [];
    let next: string | null = `${base}/api/models/${repo}/tree/${commit}?recursive=True&expand=False`;
    let pages = 0;
    while (next) {
      const u: URL = new URL(next);
      expect(`${u.protocol}//${u.host}`, 'pagination stays on the host the client was given').toBe(new URL(base).origin);
      const page = await raw(`${u.protocol}//${u.host}`, `${u.pathname}${u.search}`, { headers });
      expect(page.status).toBe(200);
      entries.push(...(JSON.parse(page.body.toString('utf8')) as TreeEntry[]));
      pages++;
      next = typeof page.headers.link === 'string' ? (/<([^>]+)>;\s*rel="next"/.exec(page.headers.link)?.[1] ?? null) : null;
    }
    const blobs = new Map<string, Buffer>();
    for (const e of entries.filter((x) => x.type === 'file')) {
      const url = `/${repo}/resolve/${commit}/${e.path.split('/').map(encodeURIComponent).join('/')}`;
      // HEAD follows only relative redirects (huggingface_hub utils/_http.py).
      let head = await raw(base, url, { method: 'HEAD', headers });
      for (let hops = 0; head.status >= 300 && head.status < 400 && String(head.headers.location).startsWith('/') && hops < 3; hops++) {
        head = await raw(base, String(head.headers.location), { method: 'HEAD', headers });
      }
      expect(head.headers['x-repo-commit'], `${e.path}: "Distant resource does not seem to be on huggingface.co" without it`).toBe(commit);
      const etag = normalizeEtag(head.headers['x-linked-etag'] ?? head.headers.etag);
      expect(etag, e.path).toBeTruthy();
      // The download GET goes to the HEAD's Location when it differs, and follows redirects.
      let target = head.status >= 300 && head.status < 400 ? new URL(String(head.headers.location), base) : new URL(`${base}${url}`);
      let get = await raw(target.origin, `${target.pathname}${target.search}`, { headers });
      for (let hops = 0; get.status >= 300 && get.status < 400 && hops < 5; hops++) {
        target = new URL(String(get.headers.location), target);
        get = await raw(target.origin, `${target.pathname}${target.search}`, { headers });
      }
      expect(get.status, e.path).toBe(200);
      blobs.set(etag!, get.body);
    }
    return { commit, blobs, pages };
  }

  it('through the endpoint gives the same blob names and bytes as from the Hub itself, without a redirect', async () => {
    const direct = await snapshotFlow(hub.endpoint, WK);
    const ours = await snapshotFlow(m.url, WK);
    expect(ours.commit).toBe(direct.commit);
    expect(direct.pages, 'the Hub paginated its listing').toBeGreaterThan(0);
    expect([...ours.blobs.keys()].sort()).toEqual([...direct.blobs.keys()].sort());
    for (const [name, bytes] of direct.blobs) expect(ours.blobs.get(name)?.equals(bytes), name).toBe(true);
    for (const [name, bytes] of ours.blobs) {
      // A blob name is the sha256 of an LFS file or the git blob SHA-1 of a regular one.
      const f = [...hub.repos.get(WK)!.commits.get(ours.commit)!.values()].find((x) => x.sha256 === name || x.gitSha1 === name);
      expect(f, name).toBeDefined();
      expect(f!.bytes.equals(bytes), name).toBe(true);
    }
  });
});
