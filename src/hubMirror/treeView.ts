import crypto from 'node:crypto';
import type { ListedFileRow } from '../db/hubListingsRepo.js';
import { CacheError, ErrorCodes } from '../errors.js';
import { fileEntry, treeOidOf } from './hubShapes.js';

interface DirNode {
  path: string;
  dirs: Map<string, DirNode>;
  files: Map<string, ListedFileRow>;
  oid: string | null;
}

/** A listing's files as a folder tree (built once per listing and kept by the caller). */
export interface RepoTree {
  root: DirNode;
}

export function buildTree(files: readonly ListedFileRow[]): RepoTree {
  const root: DirNode = { path: '', dirs: new Map(), files: new Map(), oid: null };
  for (const f of files) {
    const segs = f.path.split('/');
    let node = root;
    for (const seg of segs.slice(0, -1)) {
      let next = node.dirs.get(seg);
      if (!next) {
        next = { path: node.path ? `${node.path}/${seg}` : seg, dirs: new Map(), files: new Map(), oid: null };
        node.dirs.set(seg, next);
      }
      node = next;
    }
    node.files.set(segs[segs.length - 1]!, f);
  }
  return { root };
}

/**
 * The git tree SHA-1 of a folder, as git computes it: entries `<mode> <name>\0<20-byte id>` in git's
 * order (a folder sorts as its name followed by "/"), files as mode 100644, folders as 40000.
 */
function treeOid(node: DirNode): string {
  if (node.oid) return node.oid;
  const entries: Array<{ sortKey: string; bytes: Buffer }> = [];
  for (const [name, f] of node.files) {
    const oid = treeOidOf(f) || '0'.repeat(40);
    entries.push({ sortKey: name, bytes: Buffer.concat([Buffer.from(`100644 ${name}\0`), Buffer.from(oid, 'hex')]) });
  }
  for (const [name, d] of node.dirs) {
    entries.push({ sortKey: `${name}/`, bytes: Buffer.concat([Buffer.from(`40000 ${name}\0`), Buffer.from(treeOid(d), 'hex')]) });
  }
  entries.sort((a, b) => Buffer.compare(Buffer.from(a.sortKey), Buffer.from(b.sortKey)));
  const body = Buffer.concat(entries.map((e) => e.bytes));
  node.oid = crypto.createHash('sha1').update(`tree ${body.byteLength}\0`).update(body).digest('hex');
  return node.oid;
}

function dirEntry(d: DirNode): Record<string, unknown> {
  return { type: 'directory', oid: treeOid(d), size: 0, path: d.path };
}

function findDir(tree: RepoTree, p: string): DirNode | null {
  if (p === '') return tree.root;
  let node: DirNode | undefined = tree.root;
  for (const seg of p.split('/')) {
    node = node?.dirs.get(seg);
    if (!node) return null;
  }
  return node;
}

/** The entry of one path (a file or a folder), or null when the listing has neither. */
export function entryAt(tree: RepoTree, p: string, lastCommit: { id: string; date: string } | null): Record<string, unknown> | null {
  const slash = p.lastIndexOf('/');
  const parent = findDir(tree, slash < 0 ? '' : p.slice(0, slash));
  const name = slash < 0 ? p : p.slice(slash + 1);
  const f = parent?.files.get(name);
  if (f) return fileEntry(f, lastCommit);
  const d = parent?.dirs.get(name);
  return d ? dirEntry(d) : null;
}

/**
 * The tree answer for folder `p` ('' = the root): its children, or with `recursive` every file and
 * folder under it, sorted by path. Throws E_ENTRY_NOT_FOUND when `p` is no folder of the listing.
 */
export function treeEntries(
  tree: RepoTree,
  p: string,
  recursive: boolean,
  lastCommit: { id: string; date: string } | null,
): Array<Record<string, unknown>> {
  const dir = findDir(tree, p);
  if (!dir) throw new CacheError(ErrorCodes.ENTRY_NOT_FOUND, `folder ${JSON.stringify(p)} not found`);
  const out: Array<Record<string, unknown>> = [];
  const walk = (d: DirNode) => {
    for (const sub of d.dirs.values()) {
      out.push(dirEntry(sub));
      if (recursive) walk(sub);
    }
    for (const f of d.files.values()) out.push(fileEntry(f, lastCommit));
  };
  walk(dir);
  return out.sort((a, b) => ((a.path as string) < (b.path as string) ? -1 : (a.path as string) > (b.path as string) ? 1 : 0));
}

/** Entries per page, as the Hub pages them: 1000, or 50 when each entry is expanded. */
export const pageSizeOf = (expand: boolean): number => (expand ? 50 : 1000);

/** The opaque cursor of a page starting at entry `offset`. */
export function cursorOf(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}

/** The entry offset a cursor names; E_BAD_REQUEST for one this endpoint did not make. */
export function offsetOfCursor(cursor: string | null): number {
  if (cursor === null || cursor === '') return 0;
  const m = /^o:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new CacheError(ErrorCodes.BAD_REQUEST, `cursor ${JSON.stringify(cursor.slice(0, 80))} is not one this endpoint made; start the listing again`);
  return Number(m[1]);
}
