import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { filesUnder, mlxRepo, sha256Hex, whisperKitRepo, writeRepoToDirectory, WHISPERKIT_REPO } from '../../dev/fixtures/generate.js';
import { createDirectoryOrigin } from '../../src/origin/directory.js';
import { createDownloader } from '../../src/origin/fetchModel.js';
import { parseModelRef } from '../../src/origin/modelRef.js';
import { codeOf } from '../support/cacheErrorOf.js';
import { createTempSink } from './tempSink.js';

describe('directory origin', () => {
  let tmp: string;
  let root: string;
  const wk = whisperKitRepo();

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-'));
    root = path.join(tmp, 'mirror');
    writeRepoToDirectory(wk, root);
    writeRepoToDirectory(mlxRepo(), root);
  });
  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const downloader = () =>
    createDownloader({ concurrency: 4, perOrigin: 2, retries: 1, retryBaseMs: 1, retryMaxMs: 1, stallTimeoutMs: 5000, minFreeBytes: 0 });

  it('serves the same model as the Hub: 17 files, sizes only, hashed on the way in', async () => {
    const origin = createDirectoryOrigin({ root });
    const ref = parseModelRef(`${WHISPERKIT_REPO}@main:openai_whisper-tiny`, {});
    const listing = await origin.resolve(ref);
    const want = filesUnder(wk, 'openai_whisper-tiny');
    expect(listing.origin).toBe('directory');
    expect(listing.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(listing.files.map((f) => f.path)).toEqual(want.map((f) => f.path).sort());
    expect(listing.files.every((f) => f.sha256 === undefined && f.gitSha1 === undefined)).toBe(true);

    const sink = createTempSink(path.join(tmp, 'store'));
    const res = await downloader().fetchFiles(listing, origin, sink, {});
    expect(res.files).toHaveLength(17);
    for (const f of res.files) {
      const src = want.find((w) => w.path === f.path)!;
      expect(f.sha256).toBe(sha256Hex(src.bytes));
      expect(sink.read(f.sha256).equals(src.bytes)).toBe(true);
    }
    expect(await origin.resolve(ref)).toEqual(listing); // stable commit while nothing changes

    const whole = await origin.resolve(parseModelRef('mlx-community/whisper-tiny', {}));
    expect(whole.files.map((f) => f.path)).toEqual(['.gitattributes', 'config.json', 'tokenizer.json', 'weights.npz']);
  });

  it('opens at an offset', async () => {
    const origin = createDirectoryOrigin({ root });
    const listing = await origin.resolve(parseModelRef('mlx-community/whisper-tiny', {}));
    const f = listing.files.find((x) => x.path === 'weights.npz')!;
    const opened = await origin.open(listing, f, 1234);
    const chunks: Buffer[] = [];
    for await (const c of opened.stream as AsyncIterable<Buffer>) chunks.push(c);
    const whole = fs.readFileSync(path.join(root, 'mlx-community', 'whisper-tiny', 'weights.npz'));
    expect([opened.offset, opened.total]).toEqual([1234, whole.byteLength]);
    expect(Buffer.concat(chunks).equals(whole.subarray(1234))).toBe(true);
  });

  it('the commit changes when a file changes', async () => {
    const origin = createDirectoryOrigin({ root });
    const ref = parseModelRef('mlx-community/whisper-tiny', {});
    const before = await origin.resolve(ref);
    fs.appendFileSync(path.join(root, 'mlx-community', 'whisper-tiny', 'config.json'), ' ');
    const after = await origin.resolve(ref);
    expect(after.commit).not.toBe(before.commit);
  });

  it('missing repo and folder have distinct codes', async () => {
    const origin = createDirectoryOrigin({ root });
    expect(await codeOf(origin.resolve(parseModelRef('nobody/nothing', {})))).toBe(ErrorCodes.REPO_NOT_FOUND);
    expect(await codeOf(origin.resolve(parseModelRef(`${WHISPERKIT_REPO}:openai_whisper-huge`, {})))).toBe(ErrorCodes.ENTRY_NOT_FOUND);
  });

  it('never follows a symlink out of the root', async () => {
    const outside = path.join(tmp, 'secret');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'id_rsa'), 'secret');
    const repo = path.join(root, 'mlx-community', 'whisper-tiny');
    fs.symlinkSync(path.join(outside, 'id_rsa'), path.join(repo, 'leak.txt'));
    fs.symlinkSync(outside, path.join(repo, 'leakdir'));
    fs.symlinkSync(path.join(repo, 'config.json'), path.join(repo, 'alias.json')); // inside: fine
    const origin = createDirectoryOrigin({ root });
    const listing = await origin.resolve(parseModelRef('mlx-community/whisper-tiny', {}));
    expect(listing.files.map((f) => f.path)).toEqual(['.gitattributes', 'alias.json', 'config.json', 'tokenizer.json', 'weights.npz']);
    // A listing forged to name the link is refused at open.
    expect(await codeOf(origin.open(listing, { path: 'leak.txt', size: 6 }, 0))).toBe(ErrorCodes.UNSAFE_PATH);
    expect(await codeOf(origin.open(listing, { path: '../../../secret/id_rsa', size: 6 }, 0))).toBe(ErrorCodes.UNSAFE_PATH);

    // A repo folder that is itself a link out of the root is refused.
    fs.symlinkSync(outside, path.join(root, 'mlx-community', 'evil'));
    expect(await codeOf(origin.resolve(parseModelRef('mlx-community/evil', {})))).toBe(ErrorCodes.UNSAFE_PATH);
  });
});
