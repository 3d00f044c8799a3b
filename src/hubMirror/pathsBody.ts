import { CacheError, ErrorCodes } from '../errors.js';
import { checkRepoPath } from './routes.js';

/** `p` without its trailing slashes (a loop: a regex like /\/+$/ is quadratic on a long run of slashes). */
export function withoutTrailingSlashes(p: string): string {
  let end = p.length;
  while (end > 0 && p.charCodeAt(end - 1) === 0x2f) end--;
  return p.slice(0, end);
}

/** The paths-info body: JSON `{paths, expand}` (huggingface.js) or a form `paths=a&paths=b&expand=True` (huggingface_hub). */
export function parsePathsBody(body: Buffer, contentType: string | undefined): { paths: string[]; expand: boolean } {
  const text = body.toString('utf8');
  let paths: unknown;
  let expand: unknown;
  if (/json/i.test(contentType ?? '') || text.trimStart().startsWith('{')) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new CacheError(ErrorCodes.BAD_REQUEST, 'paths-info body is not JSON');
    }
    paths = (v as { paths?: unknown } | null)?.paths;
    expand = (v as { expand?: unknown } | null)?.expand;
  } else {
    const form = new URLSearchParams(text);
    paths = form.getAll('paths');
    expand = /^(1|true)$/i.test(form.get('expand') ?? '');
  }
  if (typeof paths === 'string') paths = [paths];
  if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string') || paths.length > 10_000) {
    throw new CacheError(ErrorCodes.BAD_REQUEST, 'paths-info body must name "paths": a list of at most 10000 strings');
  }
  // Validated as a resolve path is (a trailing `/` names a folder): a traversal is a 400, never an empty answer.
  for (const p of paths as string[]) checkRepoPath(withoutTrailingSlashes(p), 'paths-info path');
  return { paths: paths as string[], expand: expand === true || expand === 'true' || expand === 'True' };
}
