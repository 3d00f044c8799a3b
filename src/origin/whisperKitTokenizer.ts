import { CacheError, ErrorCodes } from '../errors.js';
import { fileFilterText, folderOfStoredSubfolder } from './fileFilter.js';
import { WHISPERKIT_REPO } from './modelRef.js';
import type { FileFilter } from './types.js';

/** The tokenizer files of an `openai/whisper-<size>` repo that WhisperKit (swift-transformers) reads. */
export const TOKENIZER_FILTER: FileFilter = {
  include: [
    'added_tokens.json',
    'merges.txt',
    'normalizer.json',
    'special_tokens_map.json',
    'tokenizer.json',
    'tokenizer_config.json',
    'vocab.json',
  ],
  exclude: [],
};

/** `<size>` of a variant after its publisher prefix: tiny, base, small, medium, large, each `.en` or `-v2`/`-v3`. */
const SIZE = /^(?:openai_whisper-|distil-whisper_distil-)((?:tiny|base|small|medium)(?:\.en)?|large(?:-v[23])?)(?![A-Za-z0-9.])/;

/**
 * The repo whose tokenizer a WhisperKit variant uses. WhisperKit picks the tokenizer from the model's
 * size, not from the folder name: `openai_whisper-large-v3-v20240930_626MB` and
 * `distil-whisper_distil-large-v3` both read `openai/whisper-large-v3`'s. Throws E_BAD_REF for a name
 * that is not a variant of a known size.
 */
export function tokenizerRepoOf(variant: string): string {
  const m = SIZE.exec(variant);
  if (!m) {
    throw new CacheError(
      ErrorCodes.BAD_REF,
      `no tokenizer known for ${JSON.stringify(variant)}: expected a WhisperKit variant openai_whisper-<size>… or distil-whisper_distil-<size>…`,
    );
  }
  return `openai/whisper-${m[1]}`;
}

/** The reference that fetches only a variant's tokenizer files: `openai/whisper-<size>[include=…]`. */
export function tokenizerRefOf(variant: string): string {
  return `${tokenizerRepoOf(variant)}${fileFilterText(TOKENIZER_FILTER)}`;
}

/**
 * The tokenizer reference for a cached WhisperKit model restored in `layout` (its stored subfolder may
 * carry a filter tag). Throws E_BAD_REQUEST unless the layout is whisperkit and the model is a variant
 * folder of WHISPERKIT_REPO.
 */
export function tokenizerRefFor(model: { repo: string; subfolder: string | null }, layout: string | undefined): string {
  if (layout !== 'whisperkit') {
    throw new CacheError(ErrorCodes.BAD_REQUEST, 'the tokenizer is placed only by the whisperkit layout (--layout whisperkit)');
  }
  const variant = folderOfStoredSubfolder(model.subfolder);
  if (model.repo !== WHISPERKIT_REPO || !variant || variant.includes('/')) {
    throw new CacheError(ErrorCodes.BAD_REQUEST, `a tokenizer is known only for WhisperKit variants (${WHISPERKIT_REPO}:<variant>), not ${model.repo}${variant ? `:${variant}` : ''}`);
  }
  try {
    return tokenizerRefOf(variant);
  } catch (err) {
    if (err instanceof CacheError) throw new CacheError(ErrorCodes.BAD_REQUEST, err.message);
    throw err;
  }
}
