import { describe, expect, it } from 'vitest';
import { CacheError, ErrorCodes } from '../../src/errors.js';
import { assertSafeRelativePath, canonicalRef, parseModelRef } from '../../src/origin/modelRef.js';

const aliases = {
  'whisper-tiny': 'argmaxinc/whisperkit-coreml@main:openai_whisper-tiny',
  'mlx-tiny': 'mlx-community/whisper-tiny',
  broken: 'not a ref',
};

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof CacheError) return e.code;
    throw e;
  }
  return 'ok';
}

describe('parseModelRef', () => {
  it.each([
    ['whisper-tiny', { repo: 'argmaxinc/whisperkit-coreml', revision: 'main', subfolder: 'openai_whisper-tiny' }],
    ['mlx-tiny', { repo: 'mlx-community/whisper-tiny', revision: 'main', subfolder: null }],
    ['mlx-community/whisper-tiny', { repo: 'mlx-community/whisper-tiny', revision: 'main', subfolder: null }],
    ['argmaxinc/whisperkit-coreml@v0.2:openai_whisper-base', { repo: 'argmaxinc/whisperkit-coreml', revision: 'v0.2', subfolder: 'openai_whisper-base' }],
    ['org/name@refs/pr/1', { repo: 'org/name', revision: 'refs/pr/1', subfolder: null }],
    ['org/name:a/b.c/d_e', { repo: 'org/name', revision: 'main', subfolder: 'a/b.c/d_e' }],
    ['Org.1/Na_me-2@0123456789abcdef0123456789abcdef01234567', { repo: 'Org.1/Na_me-2', revision: '0123456789abcdef0123456789abcdef01234567', subfolder: null }],
  ])('accepts %s', (text, want) => {
    const ref = parseModelRef(text, aliases);
    expect(ref).toEqual(want);
    expect(parseModelRef(canonicalRef(ref), {})).toEqual(ref);
  });

  it.each([
    ['', ErrorCodes.BAD_REF],
    ['org/', ErrorCodes.BAD_REF],
    ['/name', ErrorCodes.BAD_REF],
    ['a/b/c', ErrorCodes.BAD_REF],
    ['../etc', ErrorCodes.BAD_REF],
    ['org/..', ErrorCodes.BAD_REF],
    ['org/na..me', ErrorCodes.BAD_REF],
    ['org/models--x', ErrorCodes.BAD_REF],
    ['org--x/name', ErrorCodes.BAD_REF],
    ['-org/name', ErrorCodes.BAD_REF],
    ['.org/name', ErrorCodes.BAD_REF],
    ['org/na me', ErrorCodes.BAD_REF],
    ['org/name\0', ErrorCodes.BAD_REF],
    [`org/${'n'.repeat(97)}`, ErrorCodes.BAD_REF],
    ['org/name@', ErrorCodes.BAD_REF],
    ['org/name@/main', ErrorCodes.BAD_REF],
    ['org/name@a..b', ErrorCodes.BAD_REF],
    ['org/name@ma:in:x', ErrorCodes.BAD_REF],
    ['org/name@main~1', ErrorCodes.BAD_REF],
    [`org/name@${'r'.repeat(201)}`, ErrorCodes.BAD_REF],
    ['org/name:', ErrorCodes.BAD_REF],
    ['org/name:../x', ErrorCodes.BAD_REF],
    ['org/name:a/../../x', ErrorCodes.BAD_REF],
    ['org/name:./a', ErrorCodes.BAD_REF],
    ['org/name:/abs', ErrorCodes.BAD_REF],
    ['org/name:a//b', ErrorCodes.BAD_REF],
    ['org/name:a\\b', ErrorCodes.BAD_REF],
    ['org/name:a\0b', ErrorCodes.BAD_REF],
    ['org/name:a/', ErrorCodes.BAD_REF],
    [`org/name:${'a/'.repeat(300)}a`, ErrorCodes.BAD_REF],
    ['broken', ErrorCodes.BAD_REF],
    ['whisper-huge', ErrorCodes.UNKNOWN_MODEL],
    ['tiny', ErrorCodes.UNKNOWN_MODEL],
  ])('refuses %j with %s', (text, code) => {
    expect(codeOf(() => parseModelRef(text, aliases))).toBe(code);
  });

  it('names the bad part and the known aliases', () => {
    expect(() => parseModelRef('org/name@a..b', aliases)).toThrow(/revision "a\.\.b" contains "\.\."/);
    expect(() => parseModelRef('org/name:a/../x', aliases)).toThrow(/subfolder .* "\.\." segment/);
    expect(() => parseModelRef('or g/name', aliases)).toThrow(/whitespace/);
    expect(() => parseModelRef('org/x--y', aliases)).toThrow(/repo name "x--y" contains "--"/);
    expect(() => parseModelRef('whisper-huge', aliases)).toThrow(/known aliases: broken, mlx-tiny, whisper-tiny/);
    expect(() => parseModelRef('broken', aliases)).toThrow(/alias "broken"/);
  });

  it.each([
    ['openai_whisper-tiny', 'main', 'openai_whisper-tiny'],
    ['openai_whisper-large-v3-v20240930_626MB', 'main', 'openai_whisper-large-v3-v20240930_626MB'],
    ['distil-whisper_distil-large-v3', 'main', 'distil-whisper_distil-large-v3'],
    ['openai_whisper-base@v0.9', 'v0.9', 'openai_whisper-base'],
  ])('a bare WhisperKit variant %s resolves into argmaxinc/whisperkit-coreml without an alias', (text, revision, subfolder) => {
    expect(parseModelRef(text, {})).toEqual({ repo: 'argmaxinc/whisperkit-coreml', revision, subfolder });
  });

  it('an alias still wins over a variant name, and other single words stay unknown with a hint', () => {
    expect(parseModelRef('openai_whisper-tiny', { 'openai_whisper-tiny': 'org/pinned@abc' })).toEqual({ repo: 'org/pinned', revision: 'abc', subfolder: null });
    expect(() => parseModelRef('whisper_tiny', {})).toThrow(/not a WhisperKit variant \(openai_whisper-…, distil-whisper_…\)/);
    expect(codeOf(() => parseModelRef('openai_whisper-tiny@..', {}))).toBe(ErrorCodes.BAD_REF);
  });

  it('does not treat prototype names as aliases', () => {
    expect(codeOf(() => parseModelRef('constructor', {}))).toBe(ErrorCodes.UNKNOWN_MODEL);
  });
});

describe('assertSafeRelativePath', () => {
  it.each(['a', 'a/b/c.bin', '.gitattributes', 'x/.hidden', 'a..b/c'])('accepts %j', (p) => {
    expect(assertSafeRelativePath(p)).toBe(p);
  });
  it.each(['', '../x', 'a/../b', 'a/..', './a', 'a/./b', '/etc/passwd', 'a//b', 'a/', 'a\\b', 'a\0b', 'a\nb', 'C:/x', 'x'.repeat(1025)])(
    'refuses %j',
    (p) => {
      expect(codeOf(() => assertSafeRelativePath(p))).toBe(ErrorCodes.UNSAFE_PATH);
    },
  );
});
