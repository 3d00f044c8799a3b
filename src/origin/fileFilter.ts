import crypto from 'node:crypto';
import picomatch from 'picomatch';
import { CacheError, ErrorCodes } from '../errors.js';
import type { FileFilter, ModelRef, RemoteFile } from './types.js';

const MAX_PATTERNS = 64;
const MAX_PATTERN = 256;
/** A pattern may use any printable character but the separators of the filter text and backslash. */
// eslint-disable-next-line no-control-regex
const BAD_PATTERN_CHAR = /[\u0000-\u0020\u007f,;\\]/;
/** The snapshot of a filtered reference is stored under this extra folder segment; never a valid subfolder name. */
const TAG_PREFIX = '+filter-';

/**
 * An exact path in the text of a `file=` clause: percent-encoded like a URI component, except `/`
 * (so `,` `;` `[` `]` `%` and whitespace never appear raw). The inverse is decodeExactPath.
 */
export function encodeExactPath(p: string): string {
  return encodeURIComponent(p).replaceAll('%2F', '/');
}

function decodeExactPath(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/**
 * Parses the inside of a filter suffix, `include=<p>[,<p>...][;exclude=<p>[,<p>...]][;file=<path>[,<path>...]]`
 * (any clause may come alone, in any order, each at most once; `file=` names exact paths, encoded by
 * encodeExactPath). Returns the normalised filter (each list sorted, no duplicates), or throws E_BAD_REF
 * naming the problem.
 */
export function parseFileFilter(inner: string): FileFilter {
  const bad = (what: string) => new CacheError(ErrorCodes.BAD_REF, `bad file filter [${inner.slice(0, 200)}]: ${what}`);
  const out: FileFilter = { include: [], exclude: [] };
  const seen = new Set<string>();
  if (inner.length === 0) throw bad('names no patterns (expected include=… and/or exclude=…)');
  for (const clause of inner.split(';')) {
    const eq = clause.indexOf('=');
    const key = eq < 0 ? clause : clause.slice(0, eq);
    if (key !== 'include' && key !== 'exclude' && key !== 'file') {
      throw bad(`unknown clause ${JSON.stringify(key)} (expected include=, exclude= or file=)`);
    }
    if (seen.has(key)) throw bad(`${key}= given twice`);
    seen.add(key);
    const list = eq < 0 ? [] : clause.slice(eq + 1).split(',');
    if (key === 'file') {
      if (list.length === 0) throw bad('file= names no path');
      const paths: string[] = [];
      for (const enc of list) {
        const p = decodeExactPath(enc);
        if (p === null || enc.length === 0) throw bad(`file= path ${JSON.stringify(enc.slice(0, 200))} is not a percent-encoded path`);
        if (encodeExactPath(p) !== enc) throw bad(`file= path ${JSON.stringify(enc.slice(0, 200))} is not in its canonical encoding`);
        const why = unsafePathReason(p);
        if (why) throw bad(`file= path ${JSON.stringify(p.slice(0, 200))} ${why}`);
        paths.push(p);
      }
      out.files = [...new Set(paths)].sort();
      continue;
    }
    for (const p of list) {
      if (p.length === 0) throw bad(`${key}= has an empty pattern`);
      if (p.length > MAX_PATTERN) throw bad(`a pattern is longer than ${MAX_PATTERN} characters`);
      if (BAD_PATTERN_CHAR.test(p)) throw bad(`pattern ${JSON.stringify(p)} contains whitespace, a control character, a backslash, "," or ";"`);
    }
    if (list.length === 0) throw bad(`${key}= names no patterns`);
    out[key] = [...new Set(list)].sort();
  }
  if (out.include.length + out.exclude.length + (out.files?.length ?? 0) > MAX_PATTERNS) throw bad(`more than ${MAX_PATTERNS} patterns`);
  return out;
}

/** Why `p` is not a safe relative path (as assertSafeRelativePath checks), or null when it is. */
function unsafePathReason(p: string): string | null {
  if (p.length === 0) return 'is empty';
  if (p.length > 1024) return 'is longer than 1024 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'contains a NUL or control character';
  if (p.includes('\\')) return 'contains a backslash';
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'is absolute';
  for (const seg of p.split('/')) {
    if (seg === '') return 'has an empty segment';
    if (seg === '.' || seg === '..') return `has a "${seg}" segment`;
  }
  return null;
}

/**
 * The canonical text of a filter: `[include=a,b;exclude=c;file=d]` (lists sorted; an empty clause is
 * left out; exact paths encoded by encodeExactPath).
 */
export function fileFilterText(f: FileFilter): string {
  const clauses: string[] = [];
  if (f.include.length > 0) clauses.push(`include=${f.include.join(',')}`);
  if (f.exclude.length > 0) clauses.push(`exclude=${f.exclude.join(',')}`);
  if (f.files && f.files.length > 0) clauses.push(`file=${f.files.map(encodeExactPath).join(',')}`);
  return `[${clauses.join(';')}]`;
}

/**
 * huggingface_hub's fnmatch: `*` crosses `/`, dot files are not special, case-sensitive, `[!…]` negates a
 * class, no braces, extglobs or leading-`!` negation.
 */
function compile(pattern: string): (p: string) => boolean {
  const p = (pattern.endsWith('/') ? `${pattern}*` : pattern).replaceAll('[!', '[^');
  return picomatch(p, { bash: true, dot: true, nobrace: true, noextglob: true, nonegate: true, nocase: false });
}

/** A predicate selecting the paths `f` selects. */
export function fileMatcher(f: FileFilter): (path: string) => boolean {
  const inc = f.include.map(compile);
  const exc = f.exclude.map(compile);
  const exact = f.files && f.files.length > 0 ? new Set(f.files) : null;
  return (p) => (exact === null || exact.has(p)) && (inc.length === 0 || inc.some((m) => m(p))) && !exc.some((m) => m(p));
}

/**
 * The files of a listing the reference's filter selects (all of them without a filter). Throws
 * E_ENTRY_NOT_FOUND naming the reference and the patterns when the filter selects nothing.
 */
export function selectFiles<T extends Pick<RemoteFile, 'path'>>(ref: ModelRef, files: T[]): T[] {
  if (!ref.filter) return files;
  const keep = fileMatcher(ref.filter);
  const out = files.filter((f) => keep(f.path));
  if (out.length === 0) {
    const where = `${ref.repo}@${ref.revision}${ref.subfolder ? `:${ref.subfolder}` : ''}`;
    throw new CacheError(
      ErrorCodes.ENTRY_NOT_FOUND,
      `no file of ${where} (${files.length} files) matches the patterns ${fileFilterText(ref.filter)}`,
      { details: { include: ref.filter.include, exclude: ref.filter.exclude, ...(ref.filter.files ? { files: ref.filter.files } : {}) } },
    );
  }
  return out;
}

/** A short, stable name for a filter: 12 hex of the sha256 of its canonical text. */
export function fileFilterTag(f: FileFilter): string {
  return `${TAG_PREFIX}${crypto.createHash('sha256').update(fileFilterText(f)).digest('hex').slice(0, 12)}`;
}

/**
 * The subfolder a reference's snapshot is stored under: its own, plus a last segment naming the filter
 * when it has one (`openai_whisper-tiny/+filter-<12 hex>`), so a filtered and an unfiltered snapshot of
 * one commit are distinct models. The tag segment starts with `+`, which no real subfolder segment can.
 */
export function storedSubfolder(ref: Pick<ModelRef, 'subfolder' | 'filter'>): string | null {
  if (!ref.filter) return ref.subfolder;
  const tag = fileFilterTag(ref.filter);
  return ref.subfolder ? `${ref.subfolder}/${tag}` : tag;
}

/** The repo folder a stored subfolder stands for (the filter tag removed); null for the repo root. */
export function folderOfStoredSubfolder(stored: string | null): string | null {
  if (!stored) return stored;
  const segs = stored.split('/');
  if (!segs[segs.length - 1]!.startsWith(TAG_PREFIX)) return stored;
  return segs.length > 1 ? segs.slice(0, -1).join('/') : null;
}
