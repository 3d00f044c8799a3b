import { describe, expect, it } from 'vitest';
import { isCacheError } from '../../src/errors.js';
import { fileFilterTag, fileMatcher, folderOfStoredSubfolder, parseFileFilter, selectFiles, storedSubfolder } from '../../src/origin/fileFilter.js';
import { canonicalRef, parseModelRef } from '../../src/origin/modelRef.js';
import { tokenizerRefFor, tokenizerRepoOf } from '../../src/origin/whisperKitTokenizer.js';
import type { FileFilter, ModelRef } from '../../src/origin/types.js';

const FILES = [
  '.gitattributes',
  'README.md',
  'config.json',
  'model.safetensors',
  'merges.txt',
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.json',
  'onnx/encoder.onnx',
  'onnx/decoder.onnx',
  'onnx/config.json',
];

const pick = (f: FileFilter): string[] => FILES.filter(fileMatcher(f));

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isCacheError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('did not throw');
}

describe('file patterns (huggingface_hub allow_patterns / ignore_patterns)', () => {
  it('include: fnmatch on the relative path, "*" crossing "/"', () => {
    expect(pick({ include: ['tokenizer*.json', 'vocab.json', 'merges.txt'], exclude: [] })).toEqual([
      'merges.txt',
      'tokenizer.json',
      'tokenizer_config.json',
      'vocab.json',
    ]);
    expect(pick({ include: ['*.json'], exclude: [] })).toEqual([
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'vocab.json',
      'onnx/config.json',
    ]);
    expect(pick({ include: ['*'], exclude: [] })).toEqual(FILES);
    expect(pick({ include: ['?ocab.json', '[mn]erges.txt'], exclude: [] })).toEqual(['merges.txt', 'vocab.json']);
    expect(pick({ include: ['[!v]ocab.json'], exclude: [] })).toEqual([]);
    // Case-sensitive, no brace expansion, no leading-"!" negation.
    expect(pick({ include: ['*.JSON', '{vocab,merges}.*', '!vocab.json'], exclude: [] })).toEqual([]);
  });

  it('exclude alone keeps everything else', () => {
    expect(pick({ include: [], exclude: ['*.safetensors', '*.onnx'] })).toEqual(
      FILES.filter((f) => !f.endsWith('.safetensors') && !f.endsWith('.onnx')),
    );
  });

  it('both: included and not excluded', () => {
    expect(pick({ include: ['*.json'], exclude: ['onnx/*', 'tokenizer_*'] })).toEqual(['config.json', 'tokenizer.json', 'vocab.json']);
  });

  it('a pattern ending with "/" means everything under that folder', () => {
    expect(pick({ include: ['onnx/'], exclude: [] })).toEqual(['onnx/encoder.onnx', 'onnx/decoder.onnx', 'onnx/config.json']);
    expect(pick({ include: [], exclude: ['onnx/'] })).toEqual(FILES.filter((f) => !f.startsWith('onnx/')));
  });

  it('a filter that selects nothing is E_ENTRY_NOT_FOUND naming the reference and the patterns', () => {
    const ref = parseModelRef('openai/whisper-tiny[include=*.bin;exclude=x.bin]', {});
    const e = errorOf(() => selectFiles(ref, FILES.map((path) => ({ path }))));
    expect(e.code).toBe('E_ENTRY_NOT_FOUND');
    expect(e.message).toContain('openai/whisper-tiny@main');
    expect(e.message).toContain('[include=*.bin;exclude=x.bin]');
    expect(selectFiles({ repo: 'a/b', revision: 'main', subfolder: null }, [{ path: 'x' }])).toEqual([{ path: 'x' }]);
  });
});

describe('filters in references', () => {
  it('parse into a normalised filter; the canonical text round-trips', () => {
    const ref = parseModelRef('openai/whisper-tiny@v1[exclude=b,a,a;include=vocab.json,*.txt]', {});
    expect(ref).toEqual({ repo: 'openai/whisper-tiny', revision: 'v1', subfolder: null, filter: { include: ['*.txt', 'vocab.json'], exclude: ['a', 'b'] } });
    expect(canonicalRef(ref)).toBe('openai/whisper-tiny@v1[include=*.txt,vocab.json;exclude=a,b]');
    expect(parseModelRef(canonicalRef(ref), {})).toEqual(ref);
    // No filter: the reference is exactly what it was.
    expect(parseModelRef('openai/whisper-tiny', {})).toEqual({ repo: 'openai/whisper-tiny', revision: 'main', subfolder: null });
  });

  it('work on WhisperKit variant names, subfolders and aliases (in the target or added to the alias name)', () => {
    expect(canonicalRef(parseModelRef('openai_whisper-tiny[include=*.json]', {}))).toBe(
      'argmaxinc/whisperkit-coreml@main:openai_whisper-tiny[include=*.json]',
    );
    const aliases = { tok: 'openai/whisper-tiny[include=tokenizer*.json]', plain: 'openai/whisper-tiny' };
    expect(parseModelRef('tok', aliases).filter).toEqual({ include: ['tokenizer*.json'], exclude: [] });
    expect(parseModelRef('plain[exclude=*.safetensors]', aliases).filter).toEqual({ include: [], exclude: ['*.safetensors'] });
    expect(errorOf(() => parseModelRef('tok[include=x]', aliases)).code).toBe('E_BAD_REF');
  });

  it('refuse malformed filters with E_BAD_REF', () => {
    for (const bad of [
      'a/b[include=x',
      'a/b[]',
      'a/b[include=]',
      'a/b[include=a,,b]',
      'a/b[only=x]',
      'a/b[include=x;include=y]',
      'a/b[include=a b]',
      'a/b[include=a\\b]',
      `a/b[include=${'x'.repeat(300)}]`,
    ]) {
      expect(errorOf(() => parseModelRef(bad, {})).code, bad).toBe('E_BAD_REF');
    }
  });

  it('a filtered snapshot is stored under its own subfolder tag; the tag maps back to the folder', () => {
    const f: ModelRef = parseModelRef('openai_whisper-tiny[include=*.json]', {});
    const tag = fileFilterTag(f.filter!);
    expect(tag).toMatch(/^\+filter-[0-9a-f]{12}$/);
    expect(storedSubfolder(f)).toBe(`openai_whisper-tiny/${tag}`);
    expect(storedSubfolder({ subfolder: 'openai_whisper-tiny' })).toBe('openai_whisper-tiny');
    expect(storedSubfolder(parseModelRef('a/b[include=x]', {}))).toMatch(/^\+filter-/);
    expect(folderOfStoredSubfolder(storedSubfolder(f))).toBe('openai_whisper-tiny');
    expect(folderOfStoredSubfolder(storedSubfolder(parseModelRef('a/b[include=x]', {})))).toBeNull();
    expect(folderOfStoredSubfolder('x/y')).toBe('x/y');
    // The same patterns in another order are the same filter.
    expect(fileFilterTag(parseFileFilter('include=b,a'))).toBe(fileFilterTag(parseFileFilter('include=a,b,a')));
    expect(fileFilterTag(parseFileFilter('include=a'))).not.toBe(fileFilterTag(parseFileFilter('exclude=a')));
  });
});

describe('WhisperKit tokenizer repo of a variant (by model size, as WhisperKit picks it)', () => {
  it('maps variant names to openai/whisper-<size>', () => {
    expect(tokenizerRepoOf('openai_whisper-tiny')).toBe('openai/whisper-tiny');
    expect(tokenizerRepoOf('openai_whisper-tiny.en')).toBe('openai/whisper-tiny.en');
    expect(tokenizerRepoOf('openai_whisper-small_216MB')).toBe('openai/whisper-small');
    expect(tokenizerRepoOf('openai_whisper-large-v3-v20240930_626MB')).toBe('openai/whisper-large-v3');
    expect(tokenizerRepoOf('openai_whisper-large-v2')).toBe('openai/whisper-large-v2');
    expect(tokenizerRepoOf('distil-whisper_distil-large-v3')).toBe('openai/whisper-large-v3');
    expect(errorOf(() => tokenizerRepoOf('openai_whisper-huge')).code).toBe('E_BAD_REF');
  });

  it('the tokenizer reference is the repo filtered to the tokenizer files; only for whisperkit variants and layout', () => {
    const ref = parseModelRef(tokenizerRefFor({ repo: 'argmaxinc/whisperkit-coreml', subfolder: 'openai_whisper-tiny' }, 'whisperkit'), {});
    expect(ref.repo).toBe('openai/whisper-tiny');
    expect(ref.filter?.include).toContain('tokenizer.json');
    expect(errorOf(() => tokenizerRefFor({ repo: 'argmaxinc/whisperkit-coreml', subfolder: 'openai_whisper-tiny' }, 'plain')).code).toBe('E_BAD_REQUEST');
    expect(errorOf(() => tokenizerRefFor({ repo: 'mlx-community/whisper-tiny', subfolder: null }, 'whisperkit')).code).toBe('E_BAD_REQUEST');
  });
});
