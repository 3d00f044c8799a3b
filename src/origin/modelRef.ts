import { CacheError, ErrorCodes } from '../errors.js';
import { fileFilterText, parseFileFilter } from './fileFilter.js';
import type { ModelRef } from './types.js';

/** One part of `org/name`, and one segment of a subfolder. */
const NAME_PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const REVISION = /^[A-Za-z0-9._/-]+$/;
const MAX_REPO_PART = 96;
const MAX_REVISION = 200;
const MAX_SUBFOLDER = 512;
const MAX_REMOTE_PATH = 1024;
const DEFAULT_REVISION = 'main';

/** Where WhisperKit's CoreML variants live, one subfolder each. */
export const WHISPERKIT_REPO = 'argmaxinc/whisperkit-coreml';
/**
 * A bare WhisperKit variant name, as Vocorize names its models (`openai_whisper-tiny`,
 * `openai_whisper-large-v3-v20240930_626MB`, `distil-whisper_distil-large-v3`): the folder names of
 * WHISPERKIT_REPO are `<publisher>_<model>`, and these are its publishers.
 */
const WHISPERKIT_VARIANT = /^(?:openai_whisper-|distil-whisper_)[A-Za-z0-9._-]+$/;

/** Printable form of untrusted text for an error message (control characters escaped, length capped). */
function show(text: string): string {
  const capped = text.length > 120 ? `${text.slice(0, 120)}…` : text;
  return JSON.stringify(capped);
}

function badRef(text: string, what: string): CacheError {
  return new CacheError(ErrorCodes.BAD_REF, `bad model reference ${show(text)}: ${what}`);
}

function checkRepoPart(text: string, label: 'org' | 'name', part: string): void {
  if (part.length === 0) throw badRef(text, `repo ${label} is empty (expected org/name)`);
  if (part.length > MAX_REPO_PART) throw badRef(text, `repo ${label} is longer than ${MAX_REPO_PART} characters`);
  if (!NAME_PART.test(part)) {
    throw badRef(text, `repo ${label} ${show(part)} must start with a letter or digit and use only A-Z a-z 0-9 . _ -`);
  }
  if (part.includes('..')) throw badRef(text, `repo ${label} ${show(part)} contains ".."`);
  if (part.includes('--')) throw badRef(text, `repo ${label} ${show(part)} contains "--"`);
}

function checkRevision(text: string, rev: string): void {
  if (rev.length === 0) throw badRef(text, 'revision after "@" is empty');
  if (rev.length > MAX_REVISION) throw badRef(text, `revision is longer than ${MAX_REVISION} characters`);
  if (!REVISION.test(rev)) throw badRef(text, `revision ${show(rev)} may use only A-Z a-z 0-9 . _ / -`);
  if (rev.includes('..')) throw badRef(text, `revision ${show(rev)} contains ".."`);
  if (rev.startsWith('/') || rev.endsWith('/') || rev.includes('//')) {
    throw badRef(text, `revision ${show(rev)} has a leading, trailing or doubled "/"`);
  }
}

function checkSubfolder(text: string, sub: string): void {
  if (sub.length === 0) throw badRef(text, 'subfolder after ":" is empty');
  if (sub.length > MAX_SUBFOLDER) throw badRef(text, `subfolder is longer than ${MAX_SUBFOLDER} characters`);
  if (sub.includes('\0')) throw badRef(text, 'subfolder contains a NUL byte');
  if (sub.includes('\\')) throw badRef(text, `subfolder ${show(sub)} contains a backslash`);
  if (sub.startsWith('/')) throw badRef(text, `subfolder ${show(sub)} is absolute`);
  for (const seg of sub.split('/')) {
    if (seg === '') throw badRef(text, `subfolder ${show(sub)} has an empty segment`);
    if (seg === '.' || seg === '..') throw badRef(text, `subfolder ${show(sub)} contains a "${seg}" segment`);
    if (!NAME_PART.test(seg) || seg.includes('..')) {
      throw badRef(text, `subfolder segment ${show(seg)} must start with a letter or digit and use only A-Z a-z 0-9 . _ -`);
    }
  }
}

/**
 * Parses a model reference: an alias from the config first, then a bare WhisperKit variant name
 * (`openai_whisper-tiny` is `argmaxinc/whisperkit-coreml@main:openai_whisper-tiny`), else
 * `<repo>[@<revision>][:<subfolder>]`. A variant name may carry `@<revision>`. Any of these may end with a
 * file filter `[include=<pattern>,...;exclude=<pattern>,...]` (see FileFilter); an alias target may carry
 * one too, but a filter may not be added to an alias that already has one. Strict: throws E_BAD_REF
 * naming the bad part, or E_UNKNOWN_MODEL for a single word that is neither. The revision defaults to
 * `main`; an alias's target is parsed with the same rules (no alias chains).
 */
export function parseModelRef(text: string, aliases: Record<string, string>): ModelRef {
  if (typeof text !== 'string') throw new CacheError(ErrorCodes.BAD_REF, 'model reference must be a string');
  if (Object.prototype.hasOwnProperty.call(aliases, text)) {
    const target = aliases[text];
    if (typeof target !== 'string') throw badRef(text, 'alias has no target');
    try {
      return withFilter(target, parseFull);
    } catch (err) {
      if (err instanceof CacheError) {
        throw new CacheError(err.code, `alias ${show(text)}: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }
  const open = text.indexOf('[');
  if (open >= 0) {
    const base = parseModelRef(text.slice(0, open), aliases);
    if (base.filter) throw badRef(text, `${show(text.slice(0, open))} already has a file filter`);
    return { ...base, filter: filterOf(text, open) };
  }
  return parseUnfiltered(text, aliases);
}

/** `text` parsed by `parse` after its filter suffix (if any) is taken off, with the filter attached. */
function withFilter(text: string, parse: (t: string) => ModelRef): ModelRef {
  const open = text.indexOf('[');
  if (open < 0) return parse(text);
  return { ...parse(text.slice(0, open)), filter: filterOf(text, open) };
}

function filterOf(text: string, open: number): NonNullable<ModelRef['filter']> {
  if (!text.endsWith(']')) throw badRef(text, 'file filter "[" is not closed by a final "]"');
  try {
    return parseFileFilter(text.slice(open + 1, -1));
  } catch (err) {
    if (err instanceof CacheError) throw badRef(text, err.message);
    throw err;
  }
}

function parseUnfiltered(text: string, aliases: Record<string, string>): ModelRef {
  const variant = whisperKitVariant(text);
  if (variant) return parseFull(`${WHISPERKIT_REPO}@${variant.revision}:${variant.name}`);
  if (!text.includes('/') && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(text) && text.length <= MAX_REPO_PART) {
    const known = Object.keys(aliases).sort();
    const list = known.length > 0 ? `known aliases: ${known.join(', ')}` : 'no aliases are configured';
    throw new CacheError(
      ErrorCodes.UNKNOWN_MODEL,
      `unknown model ${show(text)}: not an alias, not a WhisperKit variant (openai_whisper-…, distil-whisper_…) ` +
        `and not a full reference org/name[@revision][:subfolder][[include=…;exclude=…]] (${list})`,
    );
  }
  return parseFull(text);
}

function whisperKitVariant(text: string): { name: string; revision: string } | null {
  if (text.includes('/') || text.includes(':')) return null;
  const at = text.indexOf('@');
  const name = at >= 0 ? text.slice(0, at) : text;
  if (name.length > MAX_SUBFOLDER || !WHISPERKIT_VARIANT.test(name)) return null;
  return { name, revision: at >= 0 ? text.slice(at + 1) : DEFAULT_REVISION };
}

function parseFull(text: string): ModelRef {
  if (text.length === 0) throw badRef(text, 'empty');
  if (text.includes('\0')) throw badRef(text, 'contains a NUL byte');
  if (/\s/.test(text)) throw badRef(text, 'contains whitespace');
  let rest = text;
  let subfolder: string | null = null;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    subfolder = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    checkSubfolder(text, subfolder);
  }
  let revision = DEFAULT_REVISION;
  const at = rest.indexOf('@');
  if (at >= 0) {
    revision = rest.slice(at + 1);
    rest = rest.slice(0, at);
    checkRevision(text, revision);
  }
  const parts = rest.split('/');
  if (parts.length !== 2) throw badRef(text, `repo ${show(rest)} must be exactly org/name`);
  const [org, name] = parts as [string, string];
  checkRepoPart(text, 'org', org);
  checkRepoPart(text, 'name', name);
  return { repo: `${org}/${name}`, revision, subfolder };
}

/**
 * The canonical text of a reference: `repo@revision[:subfolder][<filter>]`, the filter in its normalised
 * form. parseModelRef(canonicalRef(r), {}) equals r.
 */
export function canonicalRef(ref: ModelRef): string {
  return `${ref.repo}@${ref.revision}${ref.subfolder ? `:${ref.subfolder}` : ''}${ref.filter ? fileFilterText(ref.filter) : ''}`;
}

/**
 * Checks a path from a remote listing (untrusted): relative, '/'-separated, no `..`/`.`/empty segments,
 * no backslash, no NUL or other control characters, at most 1024 characters. Returns it unchanged,
 * or throws E_UNSAFE_PATH naming it.
 */
export function assertSafeRelativePath(p: string): string {
  const unsafe = (why: string) => new CacheError(ErrorCodes.UNSAFE_PATH, `unsafe path ${show(String(p))} in a remote listing: ${why}`);
  if (typeof p !== 'string' || p.length === 0) throw unsafe('empty');
  if (p.length > MAX_REMOTE_PATH) throw unsafe(`longer than ${MAX_REMOTE_PATH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) throw unsafe('contains a NUL or control character');
  if (p.includes('\\')) throw unsafe('contains a backslash');
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) throw unsafe('absolute');
  for (const seg of p.split('/')) {
    if (seg === '') throw unsafe('has an empty segment');
    if (seg === '.' || seg === '..') throw unsafe(`has a "${seg}" segment`);
  }
  return p;
}
