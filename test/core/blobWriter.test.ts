import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Layout } from '../../src/cache/types.js';
import { CacheError } from '../../src/errors.js';
import { openBlobWriter, SYNC_EVERY_BYTES } from '../../src/store/blobWriter.js';
import { GIT_BLOB_MAX_BYTES, needsGitSha1 } from '../../src/store/streamHasher.js';
import { blobPath, ensureLayout, layoutFor, snapshotDirName } from '../../src/store/layout.js';
import { bytes, chunks, expectedOf, gitSha1, randomBytes, rmTree, sha256, tempDir } from './helpers.js';

let dir: string;
let layout: Layout;

beforeEach(() => {
  dir = tempDir();
  layout = layoutFor(path.join(dir, 'cache'));
  ensureLayout(layout);
});
afterEach(() => rmTree(dir));

async function writeAll(buf: Uint8Array, expected = expectedOf(buf)) {
  const w = await openBlobWriter(layout, expected, { label: 'weights.bin' });
  try {
    for await (const c of chunks(buf, 7000)) await w.write(c);
    return await w.commit();
  } catch (err) {
    await w.abort();
    throw err;
  }
}

async function rejection(p: Promise<unknown>): Promise<CacheError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CacheError);
  return err as CacheError;
}

function blobFiles(): string[] {
  const root = path.join(layout.blobs, 'sha256');
  return fs.readdirSync(root).flatMap((d) => fs.readdirSync(path.join(root, d)));
}

describe('layout', () => {
  it('creates the v1 tree and a standard CACHEDIR.TAG', () => {
    for (const d of [layout.blobs, layout.snapshots, layout.tmp, layout.quarantine]) expect(fs.statSync(d).isDirectory()).toBe(true);
    const tag = fs.readFileSync(path.join(layout.cacheDir, 'CACHEDIR.TAG'), 'utf8');
    expect(tag.startsWith('Signature: 8a477f597d28d172789f06886806bc55')).toBe(true);
    expect(layout.db).toBe(path.join(layout.cacheDir, 'v1', 'index.db'));
  });

  it('names blobs by sha256 and snapshots by repo, subfolder and commit', () => {
    const d = 'ab'.repeat(32);
    expect(blobPath(layout, d)).toBe(path.join(layout.blobs, 'sha256', 'ab', d));
    expect(() => blobPath(layout, '../etc/passwd')).toThrow();
    expect(snapshotDirName('argmaxinc/whisperkit-coreml', 'openai_whisper-tiny', 'c0ffee')).toBe(
      'argmaxinc--whisperkit-coreml--openai_whisper-tiny/c0ffee',
    );
    expect(snapshotDirName('mlx-community/whisper-tiny', null, 'c0ffee')).toBe('mlx-community--whisper-tiny/c0ffee');
    expect(snapshotDirName('o/n', 'a/b', 'c')).toBe('o--n--a--b/c');
  });
});

describe('openBlobWriter', () => {
  it('publishes a read-only blob named by its sha256 and reports the git blob sha1', async () => {
    const buf = bytes('hello world\n');
    const ref = await writeAll(buf);
    expect(ref).toEqual({ sha256: sha256(buf), size: buf.length, gitSha1: '3b18e512dba79e4c8300dd08aeb37f8e728b8dad' });
    const p = blobPath(layout, ref.sha256);
    expect(fs.readFileSync(p).equals(buf)).toBe(true);
    expect(fs.statSync(p).mode & 0o777).toBe(0o444);
    expect(fs.readdirSync(layout.tmp)).toEqual([]);
  });

  it('hashes a multi-megabyte file written in uneven chunks, checking the git sha1 alone', async () => {
    const buf = randomBytes(3 * 1024 * 1024 + 123, 7);
    const w = await openBlobWriter(layout, expectedOf(buf, 'git'));
    let off = 0;
    for (const n of [1, 65536, 2 * 1024 * 1024, 17, buf.length]) {
      const end = Math.min(buf.length, off + n);
      await w.write(buf.subarray(off, end));
      off = end;
      if (off === buf.length) break;
    }
    expect(w.written).toBe(buf.length);
    const ref = await w.commit();
    expect(ref.sha256).toBe(sha256(buf));
    expect(ref.gitSha1).toBe(gitSha1(buf));
    expect(fs.readFileSync(blobPath(layout, ref.sha256)).equals(buf)).toBe(true);
  });

  it('computes the git sha1 only where it can be asked for: not for a file over 10 MiB named by sha256', async () => {
    const big = randomBytes(GIT_BLOB_MAX_BYTES + 1, 11);
    const large = await writeAll(big, { size: big.length, sha256: sha256(big) });
    expect(large).toEqual({ sha256: sha256(big), size: big.length, gitSha1: '' });
    // Named by git sha1 (even when large), or small: computed and checked.
    const named = await writeAll(big, { size: big.length, sha256: sha256(big), gitSha1: gitSha1(big) });
    expect(named.gitSha1).toBe(gitSha1(big));
    const small = randomBytes(GIT_BLOB_MAX_BYTES, 12);
    expect((await writeAll(small, { size: small.length, sha256: sha256(small) })).gitSha1).toBe(gitSha1(small));
    expect(needsGitSha1({ size: GIT_BLOB_MAX_BYTES + 1 })).toBe(true);
  });

  const bad: Array<[string, Buffer, (b: Buffer) => ReturnType<typeof expectedOf>, RegExp]> = [
    ['wrong bytes (sha256)', bytes('evil content'), (b) => ({ ...expectedOf(b), sha256: sha256(bytes('good content')) }), /expected sha256/],
    ['wrong bytes (git sha1)', bytes('evil content'), (b) => ({ size: b.length, gitSha1: gitSha1(bytes('good content')) }), /expected git sha1/],
    ['truncated', bytes('short'), (b) => ({ ...expectedOf(b), size: b.length + 10 }), /expected size/],
    ['too long', bytes('much too long'), (b) => ({ ...expectedOf(b), size: 4 }), /expected size/],
  ];
  for (const [name, buf, expect_, msg] of bad) {
    it(`rejects ${name}: E_INTEGRITY, retryable, nothing left behind`, async () => {
      const err = await rejection(writeAll(buf, expect_(buf)));
      expect(err.code).toBe('E_INTEGRITY');
      expect(err.retryable).toBe(true);
      expect(err.message).toMatch(/^file weights\.bin: /);
      expect(err.message).toMatch(msg);
      expect(blobFiles()).toEqual([]);
      expect(fs.readdirSync(layout.tmp)).toEqual([]);
    });
  }

  it('restart() discards what was written', async () => {
    const buf = bytes('the right content');
    const w = await openBlobWriter(layout, expectedOf(buf));
    await w.write(bytes('garbage bytes'));
    await w.restart();
    expect(w.written).toBe(0);
    await w.write(buf);
    const ref = await w.commit();
    expect(fs.readFileSync(blobPath(layout, ref.sha256)).equals(buf)).toBe(true);
  });

  it('restart() after more than one stage buffer was flushed rewrites the file from byte 0', async () => {
    const buf = randomBytes(5 * 1024 * 1024 + 5);
    const w = await openBlobWriter(layout, expectedOf(buf));
    for await (const c of chunks(randomBytes(2 * 1024 * 1024 + 3), 65536)) await w.write(c);
    await w.restart();
    for await (const c of chunks(buf, 65536)) await w.write(c);
    const ref = await w.commit();
    const onDisk = fs.readFileSync(blobPath(layout, ref.sha256));
    expect(onDisk.length).toBe(buf.length);
    expect(onDisk.equals(buf)).toBe(true);
  });

  it('a large file with a wrong sha256 is refused and leaves nothing', async () => {
    const buf = randomBytes(6 * 1024 * 1024, 7);
    const err = await rejection(writeAll(buf, { size: buf.length, sha256: sha256(randomBytes(16, 8)) }));
    expect(err.code).toBe('E_INTEGRITY');
    expect(blobFiles()).toEqual([]);
    expect(fs.readdirSync(layout.tmp)).toEqual([]);
    const ok = await writeAll(buf);
    expect(ok.sha256).toBe(sha256(buf));
    expect(ok.gitSha1).toBe(gitSha1(buf));
  });

  it('a file past the background-sync interval commits the right bytes, also after a restart() that follows a sync', async () => {
    const size = 2 * SYNC_EVERY_BYTES + 12_345;
    const buf = randomBytes(size, 11);
    const w = await openBlobWriter(layout, expectedOf(buf));
    // More than one sync interval of other bytes, then from byte 0 again.
    for await (const c of chunks(randomBytes(SYNC_EVERY_BYTES + (3 << 20), 12), 65_536)) await w.write(c);
    await w.restart();
    for await (const c of chunks(buf, 61_000)) await w.write(c);
    const ref = await w.commit();
    expect(ref).toEqual({ sha256: sha256(buf), size, gitSha1: '' });
    expect(fs.readFileSync(blobPath(layout, ref.sha256)).equals(buf)).toBe(true);
    expect(fs.readdirSync(layout.tmp)).toEqual([]);
  });

  it('abort() while background writes and syncs may be in flight leaves nothing, every time', async () => {
    const size = SYNC_EVERY_BYTES + (4 << 20);
    const buf = randomBytes(size, 13);
    for (let i = 0; i < 5; i++) {
      const w = await openBlobWriter(layout, expectedOf(buf));
      const stopAt = SYNC_EVERY_BYTES + (1 << 20) * (i % 3) + 1;
      for await (const c of chunks(buf.subarray(0, stopAt), 65_536)) await w.write(c);
      await w.abort();
      expect(fs.readdirSync(layout.tmp)).toEqual([]);
    }
    expect(blobFiles()).toEqual([]);
  });

  it('abort() removes the temp file and is idempotent', async () => {
    const buf = bytes('partial');
    const w = await openBlobWriter(layout, expectedOf(buf));
    await w.write(buf.subarray(0, 3));
    expect(fs.readdirSync(layout.tmp).length).toBe(1);
    await w.abort();
    await w.abort();
    expect(fs.readdirSync(layout.tmp)).toEqual([]);
    await expect(w.write(buf)).rejects.toThrow(/closed/);
  });

  it('dedupes: a second writer of the same content keeps the first inode', async () => {
    const buf = bytes('same content');
    const a = await writeAll(buf);
    const ino = fs.statSync(blobPath(layout, a.sha256)).ino;
    const b = await writeAll(buf);
    expect(b).toEqual(a);
    expect(fs.statSync(blobPath(layout, a.sha256)).ino).toBe(ino);
    expect(blobFiles()).toEqual([a.sha256]);
    expect(fs.readdirSync(layout.tmp)).toEqual([]);
  });
});

describe('resumable writers (partial downloads)', () => {
  const MiB = 1024 * 1024;
  const content = randomBytes(3 * MiB + 4321, 21);
  const expected = () => ({ size: content.length, sha256: sha256(content) });
  const claimAll = { claimPartial: () => true };
  const partialFile = () => path.join(layout.tmp, `partial-${sha256(content)}`);

  async function cutShort(upTo: number): Promise<void> {
    const w = await openBlobWriter(layout, expected(), claimAll);
    expect(w.written).toBe(0);
    for (let off = 0; off < upTo; off += 100_000) await w.write(content.subarray(off, Math.min(upTo, off + 100_000)));
    await w.abort({ keepPartial: true });
  }

  it('abort({ keepPartial }) leaves the accepted bytes; the next writer resumes after them and commits the right blob', async () => {
    const upTo = 2 * MiB + 777;
    await cutShort(upTo);
    expect(fs.readFileSync(partialFile()).equals(content.subarray(0, upTo))).toBe(true);

    const w = await openBlobWriter(layout, expected(), claimAll);
    expect(w.written).toBe(upTo);
    await w.write(content.subarray(upTo));
    const ref = await w.commit();
    expect(ref.sha256).toBe(sha256(content));
    expect(fs.readFileSync(blobPath(layout, ref.sha256)).equals(content)).toBe(true);
    expect(fs.readdirSync(layout.tmp)).toEqual([]);
  });

  it('a partial that is not a prefix of the content is caught by the final sha256: E_INTEGRITY, nothing left', async () => {
    fs.writeFileSync(partialFile(), randomBytes(MiB, 99));
    const w = await openBlobWriter(layout, expected(), claimAll);
    expect(w.written).toBe(MiB);
    await w.write(content.subarray(MiB));
    const err = await rejection(w.commit());
    expect(err.code).toBe('E_INTEGRITY');
    expect(blobFiles()).toEqual([]);
    expect(fs.readdirSync(layout.tmp)).toEqual([]);
  });

  it('a partial longer than the content is emptied; a writer that does not claim it starts at 0 under its own name', async () => {
    fs.writeFileSync(partialFile(), randomBytes(content.length + 10, 5));
    const w = await openBlobWriter(layout, expected(), claimAll);
    expect(w.written).toBe(0);
    await w.abort();
    expect(fs.existsSync(partialFile())).toBe(false);

    await cutShort(MiB + 5);
    const other = await openBlobWriter(layout, expected(), { claimPartial: () => false });
    expect(other.written).toBe(0);
    for (let off = 0; off < content.length; off += MiB) await other.write(content.subarray(off, off + MiB));
    expect((await other.commit()).sha256).toBe(sha256(content));
    // The unclaimed partial is untouched (a later resumable writer would take it over).
    expect(fs.statSync(partialFile()).size).toBe(MiB + 5);
  });

  it('a writer that fails on its own bytes (wrong size) removes its partial even when asked to keep it', async () => {
    await cutShort(MiB);
    const w = await openBlobWriter(layout, expected(), claimAll);
    const err = await rejection(w.write(randomBytes(content.length, 3)));
    expect(err.code).toBe('E_INTEGRITY');
    await w.abort({ keepPartial: true });
    expect(fs.readdirSync(layout.tmp)).toEqual([]);
  });
});
