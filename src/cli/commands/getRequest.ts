import { CacheError, ErrorCodes } from '../../errors.js';
import type { ParamsOf, ResultOf } from '../../ipc/protocol.js';
import { duration, printable } from '../format.js';

/**
 * What `get` and `release` send and print, shared by the full CLI (get.ts) and the fast path (fast/), so
 * both send the same request and print the same text. Light on purpose: no argument parser, no schema.
 */

export interface Patterns {
  include: string[];
  exclude: string[];
}

export interface GetOptions extends Patterns {
  client?: string;
  run?: string;
  hold?: boolean;
}

/**
 * The reference with --include/--exclude written as its filter suffix `[include=…;exclude=…]`: the same
 * text an alias or a protocol client would send. The daemon validates the patterns (E_BAD_REF).
 */
export function withPatterns(model: string, o: Patterns): string {
  if (o.include.length === 0 && o.exclude.length === 0) return model;
  if (model.includes('[')) throw new CacheError(ErrorCodes.USAGE, `${printable(model)} already has a file filter: use either it or --include/--exclude`);
  const clauses: string[] = [];
  if (o.include.length > 0) clauses.push(`include=${o.include.join(',')}`);
  if (o.exclude.length > 0) clauses.push(`exclude=${o.exclude.join(',')}`);
  return `${model}[${clauses.join(';')}]`;
}

/** The params of the `get` call for `model` (already withPatterns'd); `offline` is the caller's offlineParam(). */
export function getParams(model: string, o: GetOptions, offline: { offline?: true }, env: NodeJS.ProcessEnv = process.env): ParamsOf<'get'> {
  return {
    model,
    client: o.client ?? nonEmpty(env.VOCORIZE_CACHE_CLIENT) ?? 'cli',
    run: o.run ?? nonEmpty(env.VOCORIZE_CACHE_RUN),
    // --hold: the caller uses the path after this process exits, so the lease lives for leaseTtl.
    leaseScope: o.hold ? 'ttl' : 'connection',
    // Always asked for: besides the bar, progress events restart the call's idle deadline.
    progress: true,
    ...offline,
  };
}

/** What `get` prints: with --json this document, else its `path` alone (the bare path scripts read). */
export function getData(r: ResultOf<'get'>, hold: boolean | undefined) {
  return { path: r.path, hit: r.hit, model: r.model, ref: r.ref, commit: r.commit, files: r.files, bytes: r.bytes, lease: hold ? r.lease : null };
}

/** `release`'s human line. */
export function releaseText(lease: string, d: ResultOf<'release'>): string {
  return d.released ? `released ${printable(lease)}` : `no lease ${printable(lease)} (already ended)`;
}

/** `lease: <id> (expires in 30 min 0 s; cache-manager release <id>)`. */
export function leaseNote(lease: { id: string; expiresAt: number }, now = Date.now()): string {
  const id = printable(lease.id);
  return `lease: ${id} (expires in ${duration(Math.max(0, lease.expiresAt - now))}; cache-manager release ${id})`;
}

export function nonEmpty(v: string | undefined): string | undefined {
  return v && v.length > 0 ? v : undefined;
}
