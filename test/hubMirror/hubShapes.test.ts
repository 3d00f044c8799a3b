import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CacheError, ErrorCodes } from '../../src/errors.js';
import { clientLabelOf } from '../../src/hubMirror/clientLabel.js';
import { fileHeaders, gitBlobSha1, hubErrorOf, lfsPointerText, parseRange, treeOidOf } from '../../src/hubMirror/hubShapes.js';
import { buildTree, cursorOf, entryAt, offsetOfCursor, treeEntries } from '../../src/hubMirror/treeView.js';

const sha256 = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

describe('hub shapes', () => {
  it('computes git blob SHA-1s as git does (the empty blob and a known text)', () => {
    expect(gitBlobSha1('')).toBe('e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
    expect(gitBlobSha1('hello\n')).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });

  it('builds the headers of a regular file and of an LFS file, with no Xet header', () => {
    const reg = { path: 'config.json', size: 6, gitSha1: gitBlobSha1('hello\n') };
    expect(fileHeaders('c'.repeat(40), reg)).toEqual({ 'X-Repo-Commit': 'c'.repeat(40), ETag: `"${reg.gitSha1}"`, 'Accept-Ranges': 'bytes' });
    const content = Buffer.alloc(1000, 7);
    const lfs = { path: 'w.bin', size: 1000, sha256: sha256(content) };
    const pointer = lfsPointerText(lfs.sha256, 1000);
    expect(Buffer.byteLength(pointer)).toBe(125 + 4);
    expect(fileHeaders('c'.repeat(40), lfs)).toEqual({
      'X-Repo-Commit': 'c'.repeat(40),
      ETag: `"${gitBlobSha1(pointer)}"`,
      'X-Linked-Etag': `"${lfs.sha256}"`,
      'X-Linked-Size': '1000',
      'Accept-Ranges': 'bytes',
    });
    expect(treeOidOf(lfs)).toBe(gitBlobSha1(pointer));
  });

  it('parses single byte ranges; ignores multi-range and malformed ones; 416 past the end', () => {
    expect(parseRange(undefined, 10)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=0-0', 10)).toEqual({ kind: 'partial', from: 0, to: 0 });
    expect(parseRange('bytes=3-', 10)).toEqual({ kind: 'partial', from: 3, to: 9 });
    expect(parseRange('bytes=3-100', 10)).toEqual({ kind: 'partial', from: 3, to: 9 });
    expect(parseRange('bytes=-4', 10)).toEqual({ kind: 'partial', from: 6, to: 9 });
    expect(parseRange('bytes=-40', 10)).toEqual({ kind: 'partial', from: 0, to: 9 });
    expect(parseRange('bytes=10-', 10)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-1,4-5', 10)).toEqual({ kind: 'full' });
    expect(parseRange('items=0-1', 10)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=5-2', 10)).toEqual({ kind: 'full' });
  });

  it('maps errors to the Hub shape: 401 without the secret, 404/403 with it, and no Hub code where the Hub has none', () => {
    const e = (code: (typeof ErrorCodes)[keyof typeof ErrorCodes]) => new CacheError(code, `m ${code}\nsecond line`);
    expect(hubErrorOf(e(ErrorCodes.REPO_NOT_FOUND), false)).toMatchObject({ status: 401, code: 'RepoNotFound' });
    expect(hubErrorOf(e(ErrorCodes.REPO_NOT_FOUND), true)).toMatchObject({ status: 404, code: 'RepoNotFound' });
    expect(hubErrorOf(e(ErrorCodes.GATED_REPO), false)).toMatchObject({ status: 401, code: 'GatedRepo' });
    expect(hubErrorOf(e(ErrorCodes.GATED_REPO), true)).toMatchObject({ status: 403, code: 'GatedRepo' });
    expect(hubErrorOf(e(ErrorCodes.REVISION_NOT_FOUND), false)).toMatchObject({ status: 404, code: 'RevisionNotFound' });
    expect(hubErrorOf(e(ErrorCodes.ENTRY_NOT_FOUND), false)).toMatchObject({ status: 404, code: 'EntryNotFound' });
    expect(hubErrorOf(e(ErrorCodes.UNAUTHORIZED), false)).toMatchObject({ status: 401, code: 'RepoNotFound' });
    expect(hubErrorOf(e(ErrorCodes.BAD_REQUEST), false)).toMatchObject({ status: 400, code: null });
    expect(hubErrorOf(e(ErrorCodes.OFFLINE), false)).toMatchObject({ status: 503, code: null });
    expect(hubErrorOf(e(ErrorCodes.NO_SPACE), false)).toMatchObject({ status: 507, code: null });
    expect(hubErrorOf(new Error('boom'), false).status).toBe(500);
    expect(hubErrorOf(e(ErrorCodes.OFFLINE), false).message).not.toMatch(/\n/);
  });
});

describe('clientLabelOf', () => {
  it('classifies the User-Agents of the Hub clients', () => {
    expect(clientLabelOf('huggingface_hub/1.28.0; python/3.12.1; session_id/abc')).toBe('huggingface_hub');
    expect(clientLabelOf('node')).toBe('huggingface.js');
    expect(clientLabelOf('undici')).toBe('huggingface.js');
    expect(clientLabelOf('swift-transformers/1.2.0')).toBe('swift-transformers');
    expect(clientLabelOf('WhisperKit/0.13 (Macintosh)')).toBe('swift-transformers');
    expect(clientLabelOf('MyApp/1 CFNetwork/1568.100.1 Darwin/24.0.0')).toBe('swift-transformers');
    expect(clientLabelOf('curl/8.5.0')).toBe('http');
    expect(clientLabelOf(undefined)).toBe('http');
  });
});

describe('tree view', () => {
  const files = [
    { path: '.gitattributes', size: 5, gitSha1: gitBlobSha1('*.bin') },
    { path: 'a/b/w.bin', size: 1000, sha256: sha256(Buffer.alloc(1000, 7)) },
    { path: 'a/c.json', size: 2, gitSha1: gitBlobSha1('{}') },
    { path: 'a-b.txt', size: 1, gitSha1: gitBlobSha1('x') },
  ];
  const tree = buildTree(files);

  it('lists a folder, recursively or not, with folders as entries', () => {
    expect(treeEntries(tree, '', false, null).map((e) => `${e.type} ${e.path}`)).toEqual(['file .gitattributes', 'directory a', 'file a-b.txt']);
    expect(treeEntries(tree, 'a', true, null).map((e) => `${e.type} ${e.path}`)).toEqual(['directory a/b', 'file a/b/w.bin', 'file a/c.json']);
    expect(treeEntries(tree, '', true, { id: 'c'.repeat(40), date: 'd' }).find((e) => e.path === 'a/c.json')).toMatchObject({ lastCommit: { id: 'c'.repeat(40) } });
    expect(() => treeEntries(tree, 'nope', false, null)).toThrow(/not found/);
    expect(entryAt(tree, 'a/b', null)).toMatchObject({ type: 'directory', size: 0 });
    expect(entryAt(tree, 'a/b/w.bin', null)).toMatchObject({ type: 'file', lfs: { oid: files[1]!.sha256, size: 1000, pointerSize: 129 } });
    expect(entryAt(tree, 'a/x', null)).toBeNull();
  });

  it('gives folders the git tree SHA-1 git itself computes', () => {
    let git = true;
    try {
      execFileSync('git', ['--version'], { stdio: 'ignore' });
    } catch {
      git = false;
    }
    if (!git) return;
    const mk = (lines: string) => execFileSync('git', ['mktree', '--missing'], { input: lines }).toString().trim();
    const b = mk(`100644 blob ${treeOidOf(files[1]!)}\tw.bin\n`);
    const a = mk(`040000 tree ${b}\tb\n100644 blob ${files[2]!.gitSha1}\tc.json\n`);
    expect(entryAt(tree, 'a/b', null)?.oid).toBe(b);
    expect(entryAt(tree, 'a', null)?.oid).toBe(a);
  });

  it('makes cursors it can read back and refuses others', () => {
    expect(offsetOfCursor(cursorOf(1000))).toBe(1000);
    expect(offsetOfCursor(null)).toBe(0);
    expect(() => offsetOfCursor('garbage!')).toThrow(/cursor/);
  });
});
