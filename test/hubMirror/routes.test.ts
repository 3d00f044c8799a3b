import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { checkRepoPath, parseTarget } from '../../src/hubMirror/routes.js';
import { CacheError } from '../../src/errors.js';

/** The CacheError `fn` throws (fails the test when it returns). */
function cacheErrorOf(fn: () => unknown): CacheError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CacheError) return e;
    throw e;
  }
  throw new Error('expected a CacheError');
}

const WK = 'argmaxinc/whisperkit-coreml';

describe('parseTarget', () => {
  it('parses repo info with and without a revision (one encoded component)', () => {
    expect(parseTarget('GET', `/api/models/${WK}`)?.route).toEqual({ kind: 'info', repo: WK, revision: 'main', blobs: false });
    expect(parseTarget('GET', `/api/models/${WK}/revision/refs%2Fpr%2F1?blobs=true`)?.route).toEqual({
      kind: 'info',
      repo: WK,
      revision: 'refs/pr/1',
      blobs: true,
    });
    expect(parseTarget('GET', `/api/models/${WK}/revision/HEAD?expand=sha&expand=private`)?.route).toMatchObject({ revision: 'HEAD' });
  });

  it('parses the tree route with the path raw (huggingface.js) or %2F-encoded (huggingface_hub), and its flags', () => {
    const js = parseTarget('GET', `/api/models/${WK}/tree/main/openai_whisper-tiny/AudioEncoder.mlmodelc?recursive=true&expand=false`)!.route;
    const py = parseTarget('GET', `/api/models/${WK}/tree/main/openai_whisper-tiny%2FAudioEncoder.mlmodelc?recursive=True&expand=False`)!.route;
    expect(js).toEqual({ kind: 'tree', repo: WK, revision: 'main', path: 'openai_whisper-tiny/AudioEncoder.mlmodelc', recursive: true, expand: false, cursor: null });
    expect(py).toEqual(js);
    expect(parseTarget('GET', `/api/models/${WK}/tree/main?recursive=1&cursor=abc`)!.route).toMatchObject({ path: '', recursive: true, cursor: 'abc' });
  });

  it('parses paths-info (POST only) and resolve / raw (GET and HEAD only)', () => {
    expect(parseTarget('POST', `/api/models/${WK}/paths-info/main`)!.route).toEqual({ kind: 'pathsInfo', repo: WK, revision: 'main' });
    expect(parseTarget('GET', `/api/models/${WK}/paths-info/main`)).toBeNull();
    for (const m of ['GET', 'HEAD']) {
      expect(parseTarget(m, `/${WK}/resolve/main/openai_whisper-tiny/config.json?download=true`)!.route).toEqual({
        kind: 'resolve',
        repo: WK,
        revision: 'main',
        path: 'openai_whisper-tiny/config.json',
      });
    }
    expect(parseTarget('GET', `/${WK}/raw/main/config.json`)!.route).toMatchObject({ kind: 'resolve', path: 'config.json' });
    expect(parseTarget('POST', `/${WK}/resolve/main/config.json`)).toBeNull();
    expect(parseTarget('GET', `/${WK}/resolve/main/a%20file%2Bplus.txt`)!.route).toMatchObject({ path: 'a file+plus.txt' });
  });

  it('takes the run from a /run/<id> prefix before any route, and keeps the prefix for links', () => {
    const t = parseTarget('GET', `/run/ci%20run%201/${WK}/resolve/main/config.json`)!;
    expect(t.run).toBe('ci run 1');
    expect(t.prefix).toBe('/run/ci%20run%201');
    expect(t.route).toMatchObject({ kind: 'resolve', path: 'config.json' });
    expect(parseTarget('GET', `/${WK}/resolve/main/config.json`)!.run).toBeNull();
    expect(cacheErrorOf(() => parseTarget('GET', '/run/a%0Ab/x')).code).toBe(ErrorCodes.BAD_REQUEST);
    expect(cacheErrorOf(() => parseTarget('GET', '/run/')).code).toBe(ErrorCodes.BAD_REQUEST);
  });

  it('answers datasets and spaces as unsupported, whoami, and null for anything else', () => {
    expect(parseTarget('GET', '/api/datasets/a/b/revision/main')!.route).toEqual({ kind: 'unsupported', what: 'datasets' });
    expect(parseTarget('GET', '/datasets/a/b/resolve/main/x')!.route).toEqual({ kind: 'unsupported', what: 'datasets' });
    expect(parseTarget('GET', '/api/whoami-v2')!.route).toEqual({ kind: 'whoami' });
    expect(parseTarget('GET', '/')).toBeNull();
    expect(parseTarget('GET', '/favicon.ico')).toBeNull();
    expect(parseTarget('GET', `/api/models/${WK}/commits/main`)).toBeNull();
  });

  it('refuses traversal, absolute paths, NUL, backslashes and bad repo names or revisions with E_BAD_REQUEST', () => {
    const bad = [
      `/${WK}/resolve/main/a/../b`,
      `/${WK}/resolve/main/a/%2E%2E/b`,
      `/${WK}/resolve/main/..%2F..%2Fetc%2Fpasswd`,
      `/${WK}/resolve/main/%2Fetc/passwd`,
      `/${WK}/resolve/main/a%5Cb`,
      `/${WK}/resolve/main/a%00b`,
      `/${WK}/resolve/main/a//b`,
      `/${WK}/resolve/main/./a`,
      `/${WK}/resolve/main/a%ZZ`,
      `/api/models/${WK}/tree/main/..`,
      `/api/models/${WK}/tree/main/C:%5Cx`,
      `/../etc/resolve/main/x`,
      `/org/na..me/resolve/main/x`,
      `/${WK}/resolve/..%2F..%2Fx/y`,
      `/api/models/${WK}/revision/a%20b`,
    ];
    for (const target of bad) {
      const e = cacheErrorOf(() => parseTarget('GET', target));
      expect(e.code, target).toBe(ErrorCodes.BAD_REQUEST);
    }
    expect(cacheErrorOf(() => parseTarget('GET', `/${WK}/resolve/main/a/../b`)).message).toMatch(/path "a\/..\/b" has a ".." segment; retrying will not help/);
  });
});

describe('checkRepoPath', () => {
  it('accepts plain relative paths and names the problem otherwise', () => {
    expect(checkRepoPath('a/b c/d.json')).toBe('a/b c/d.json');
    expect(cacheErrorOf(() => checkRepoPath('x'.repeat(1025))).message).toMatch(/longer than 1024/);
    expect(cacheErrorOf(() => checkRepoPath('a\u0007b')).message).toMatch(/control character/);
  });
});
