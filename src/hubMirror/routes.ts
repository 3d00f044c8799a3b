import { CacheError, ErrorCodes } from '../errors.js';
import { parseModelRef } from '../origin/modelRef.js';

/** A request the endpoint answers, parsed and validated (repo, revision and paths are safe to use). */
export type HubRoute =
  | { kind: 'info'; repo: string; revision: string; blobs: boolean }
  | { kind: 'tree'; repo: string; revision: string; path: string; recursive: boolean; expand: boolean; cursor: string | null }
  | { kind: 'pathsInfo'; repo: string; revision: string }
  | { kind: 'resolve'; repo: string; revision: string; path: string }
  | { kind: 'whoami' }
  /** A repo type or route the endpoint does not serve (datasets, spaces, …): answered RepoNotFound. */
  | { kind: 'unsupported'; what: string };

export interface ParsedTarget {
  /** The run given by a `/run/<id>` prefix, else null. */
  run: string | null;
  /** The prefix itself (`/run/<id>` as sent, or ''), for links back to this endpoint. */
  prefix: string;
  route: HubRoute;
}

const MAX_RUN = 256;
const MAX_PATH = 1024;

function badRequest(msg: string): CacheError {
  return new CacheError(ErrorCodes.BAD_REQUEST, msg);
}

function show(text: string): string {
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);
}

function decode(seg: string, what: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    throw badRequest(`${what} ${show(seg)} is not valid percent-encoding`);
  }
}

/**
 * A path inside a repo, decoded: relative, '/'-separated, no empty, `.` or `..` segment, no backslash,
 * no NUL or other control character, not absolute, at most 1024 characters. Throws E_BAD_REQUEST.
 */
export function checkRepoPath(p: string, what = 'path'): string {
  const bad = (why: string) => badRequest(`${what} ${show(p)} ${why}; retrying will not help`);
  if (p.length > MAX_PATH) throw bad(`is longer than ${MAX_PATH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) throw bad('contains a NUL or control character');
  if (p.includes('\\')) throw bad('contains a backslash');
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) throw bad('is absolute');
  for (const seg of p.split('/')) {
    if (seg === '') throw bad('has an empty segment');
    if (seg === '.' || seg === '..') throw bad(`has a "${seg}" segment`);
  }
  return p;
}

/** `org/name` and the revision, checked with the reference parser's rules. */
function checkRepoAndRevision(org: string, name: string, revision: string): { repo: string; revision: string } {
  const repo = `${org}/${name}`;
  try {
    parseModelRef(`${repo}@${revision}`, {});
  } catch (err) {
    if (err instanceof CacheError) throw badRequest(`${err.message}; retrying will not help`);
    throw err;
  }
  return { repo, revision };
}

function truthy(v: string | null): boolean {
  return v !== null && /^(1|true|yes)$/i.test(v);
}

/**
 * Parses a request target (method and raw URL) into a route. Accepts an optional `/run/<id>` prefix
 * before any route. Throws E_BAD_REQUEST for a malformed target, a traversal or an unsafe path;
 * answers null for a target that is no route of the endpoint (404).
 */
export function parseTarget(method: string, rawUrl: string): ParsedTarget | null {
  const q = rawUrl.indexOf('?');
  const pathname = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
  const params = new URLSearchParams(q >= 0 ? rawUrl.slice(q + 1) : '');
  if (!pathname.startsWith('/')) throw badRequest(`request target ${show(rawUrl)} does not start with "/"`);
  let segs = pathname.split('/').slice(1);
  let run: string | null = null;
  let prefix = '';
  if (segs[0] === 'run') {
    if (segs.length < 2 || segs[1] === '') throw badRequest('"/run/" must be followed by a run id');
    run = decode(segs[1]!, 'run id');
    // eslint-disable-next-line no-control-regex
    if (run.length === 0 || run.length > MAX_RUN || /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(run)) {
      throw badRequest(`run id ${show(run)} must be 1 to ${MAX_RUN} characters of printable text`);
    }
    prefix = `/run/${segs[1]}`;
    segs = segs.slice(2);
  }
  const route = routeOf(method, segs, params);
  return route ? { run, prefix, route } : null;
}

function routeOf(method: string, segs: string[], params: URLSearchParams): HubRoute | null {
  const get = method === 'GET' || method === 'HEAD';
  if (segs[0] === 'api') {
    if (segs[1] === 'whoami-v2' && segs.length === 2 && get) return { kind: 'whoami' };
    if (segs[1] === 'datasets' || segs[1] === 'spaces') return { kind: 'unsupported', what: segs[1] };
    if (segs[1] !== 'models' || segs.length < 4) return null;
    const org = decode(segs[2]!, 'repo org');
    const name = decode(segs[3]!, 'repo name');
    const rest = segs.slice(4);
    if (rest.length === 0 && get) {
      return { kind: 'info', ...checkRepoAndRevision(org, name, 'main'), blobs: truthy(params.get('blobs')) };
    }
    if (rest[0] === 'revision' && rest.length >= 2 && get) {
      // One encoded component (refs%2Fpr%2F1); a client that sent the slashes raw is accepted too.
      const rev = rest.slice(1).map((s) => decode(s, 'revision')).join('/');
      return { kind: 'info', ...checkRepoAndRevision(org, name, rev), blobs: truthy(params.get('blobs')) };
    }
    if (rest[0] === 'tree' && rest.length >= 2 && get) {
      const rr = checkRepoAndRevision(org, name, decode(rest[1]!, 'revision'));
      const tail = rest.slice(2);
      const p = tail.length === 0 || (tail.length === 1 && tail[0] === '') ? '' : checkRepoPath(tail.map((s) => decode(s, 'path')).join('/'));
      return {
        kind: 'tree',
        ...rr,
        path: p,
        recursive: truthy(params.get('recursive')),
        expand: truthy(params.get('expand')),
        cursor: params.get('cursor'),
      };
    }
    if (rest[0] === 'paths-info' && rest.length === 2 && method === 'POST') {
      return { kind: 'pathsInfo', ...checkRepoAndRevision(org, name, decode(rest[1]!, 'revision')) };
    }
    return null;
  }
  if (segs[0] === 'datasets' || segs[0] === 'spaces') return { kind: 'unsupported', what: segs[0] };
  if (segs.length >= 5 && (segs[2] === 'resolve' || segs[2] === 'raw') && get) {
    const org = decode(segs[0]!, 'repo org');
    const name = decode(segs[1]!, 'repo name');
    const rr = checkRepoAndRevision(org, name, decode(segs[3]!, 'revision'));
    const p = checkRepoPath(segs.slice(4).map((s) => decode(s, 'path')).join('/'));
    return { kind: 'resolve', ...rr, path: p };
  }
  return null;
}
