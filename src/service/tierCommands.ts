import { listingKeyOfStored, refKey } from '../origin/s3/tierMetadata.js';
import fs from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import type { ModelRecord } from '../cache/types.js';
import type { S3OriginConfig } from '../config/types.js';
import { createRefsRepo } from '../db/refsRepo.js';
import { CacheError, ErrorCodes } from '../errors.js';
import type { ParamsOf, ResultOf, TierGcItem, TierPushCounts, TierPushModel } from '../ipc/protocol.js';
import { createTierStore, type TierStore } from '../origin/s3/tierStore.js';
import { tierName } from '../origin/s3/tierErrors.js';
import { blobPath } from '../store/layout.js';
import { findCachedModel, type CallContext, type DaemonState } from './serviceState.js';

/**
 * The `tier` commands, run by the daemon (or the CLI in direct mode): the daemon owns the config that
 * names the tier and the index that says which blobs make up which model. Each call opens its own
 * client to the first s3 origin of the config and closes it after; the SDK is loaded only here.
 */

const COMMIT_RE = /^[0-9a-f]{40}$/;

function tierConfig(state: DaemonState): S3OriginConfig {
  const cfg = state.config();
  const s3 = cfg.origins.find((o): o is S3OriginConfig => o.type === 's3');
  if (!s3) {
    const file = cfg.source.path ?? 'the config (none is in effect: built-in defaults)';
    throw new CacheError(
      ErrorCodes.USAGE,
      `no fleet tier is configured: add an origin {"type": "s3", "bucket": ...} to "origins" in ${file} (see docs/fleet-tier.md)`,
    );
  }
  return s3;
}

async function withTier<T>(state: DaemonState, fn: (t: TierStore) => Promise<T>): Promise<T> {
  const t = createTierStore(tierConfig(state), { logger: state.logger, clock: state.clock, client: { maxAttempts: 3 } });
  try {
    return await fn(t);
  } finally {
    t.close();
  }
}

export async function tierStatus(state: DaemonState): Promise<ResultOf<'tierStatus'>> {
  return withTier(state, async (t) => {
    const c = t.config;
    const p = await t.probe();
    const base = {
      tier: tierName(c),
      endpoint: c.endpoint,
      bucket: c.bucket,
      prefix: c.prefix,
      mode: c.mode,
      trustMetadata: c.trustMetadata,
      reachable: p.reachable,
      conditionalPut: p.conditionalPut,
    };
    if (!p.reachable) return { ...base, error: p.error ?? 'unreachable', objects: null, bytes: null, blobs: null, blobBytes: null };
    return { ...base, ...(await t.usage()) };
  });
}

export async function tierGc(state: DaemonState, p: ParamsOf<'tierGc'>, ctx: CallContext): Promise<ResultOf<'tierGc'>> {
  const dryRun = p.dryRun ?? false;
  return withTier(state, async (t) => {
    if (!dryRun && t.config.mode === 'read-only') {
      throw new CacheError(
        ErrorCodes.USAGE,
        `${tierName(t.config)} is read-only (mode "read-only"): tier gc deletes nothing here; run it where the tier is read-write, or with --dry-run`,
      );
    }
    const cutoffMs = state.clock() - p.olderThanMs;
    const deleted: TierGcItem[] = [];
    let scanned = 0;
    for await (const b of t.listBlobs()) {
      scanned++;
      if (scanned % 100 === 0) ctx.progress({ scanned });
      const basis = b.lastReadMs !== null ? 'last-read' : 'last-modified';
      const at = b.lastReadMs ?? b.lastModifiedMs;
      if (at < cutoffMs) deleted.push({ sha256: b.sha256, bytes: b.size, lastReadMs: b.lastReadMs, lastModifiedMs: b.lastModifiedMs, basis });
    }
    if (!dryRun && deleted.length > 0) await t.deleteBlobs(deleted.map((d) => d.sha256));
    return {
      tier: tierName(t.config),
      dryRun,
      olderThanMs: p.olderThanMs,
      cutoffMs,
      scanned,
      deleted,
      freedBytes: deleted.reduce((n, d) => n + d.bytes, 0),
    };
  });
}

const PROGRESS_EVERY_BYTES = 8 * 1024 * 1024;

/** `stream`, calling `report` with the bytes read so far every few MiB (a long upload keeps the CLI's idle deadline alive). */
function withProgress(stream: Readable, report: (doneBytes: number) => void): Readable {
  let done = 0;
  let next = PROGRESS_EVERY_BYTES;
  const counter = new Transform({
    transform(c: Buffer, _enc, cb) {
      done += c.length;
      if (done >= next) {
        next = done + PROGRESS_EVERY_BYTES;
        report(done);
      }
      cb(null, c);
    },
  });
  stream.on('error', (e) => counter.destroy(e));
  counter.on('close', () => stream.destroy());
  return stream.pipe(counter);
}

export async function tierPush(state: DaemonState, p: ParamsOf<'tierPush'>, ctx: CallContext): Promise<ResultOf<'tierPush'>> {
  const { cache, leases } = state;
  const models =
    p.models && p.models.length > 0 ? p.models.map((name) => findCachedModel(state, name)) : cache.list().filter((m) => m.state === 'ready');
  for (const m of models) {
    if (m.state !== 'ready') throw new CacheError(ErrorCodes.INTEGRITY, `${m.key} is damaged: run cache-manager verify --repair before pushing it`);
  }
  return withTier(state, async (t) => {
    if (t.config.mode === 'read-only') {
      throw new CacheError(ErrorCodes.USAGE, `${tierName(t.config)} is read-only (mode "read-only"): tier push needs a read-write tier`);
    }
    const refs = createRefsRepo(cache.db).all();
    const done = new Map<string, 'uploaded' | 'skipped'>();
    const blobs = { uploaded: 0, skipped: 0, uploadedBytes: 0 };
    const aliases: TierPushCounts = { uploaded: 0, skipped: 0 };
    const listings: TierPushCounts = { uploaded: 0, skipped: 0 };
    const refsPushed: TierPushCounts = { uploaded: 0, skipped: 0 };
    const out: TierPushModel[] = [];
    const putOnce = async (counts: TierPushCounts, key: string, write: () => Promise<void>) => {
      if (done.has(key)) return;
      if (await t.has(key)) {
        done.set(key, 'skipped');
        counts.skipped++;
        return;
      }
      await write();
      done.set(key, 'uploaded');
      counts.uploaded++;
    };
    for (const m of models) {
      // Leased while pushed: eviction never removes a blob this push is reading.
      const lease = leases.acquire(m.id, null, 'tier-push');
      try {
        const files = cache.files(m.id);
        const row: TierPushModel = { model: m.key, blobs: 0, uploaded: 0, skipped: 0, uploadedBytes: 0 };
        const seen = new Set<string>();
        for (const f of files) {
          if (!seen.has(f.blob)) {
            seen.add(f.blob);
            row.blobs++;
            const key = `blobs/sha256/${f.blob}`;
            const before = done.get(key);
            if (before === undefined) {
              ctx.progress({ model: m.key, blob: f.blob, doneBytes: 0, totalBytes: f.size });
              const head = await t.headBlob(f.blob);
              let r: 'stored' | 'exists' = 'exists';
              if (!head || head.size !== f.size) {
                const report = (doneBytes: number) => ctx.progress({ model: m.key, blob: f.blob, doneBytes, totalBytes: f.size });
                r = await t.putBlob(f.blob, f.size, () => withProgress(fs.createReadStream(blobPath(cache.layout, f.blob)), report));
              }
              done.set(key, r === 'stored' ? 'uploaded' : 'skipped');
              if (r === 'stored') {
                blobs.uploaded++;
                blobs.uploadedBytes += f.size;
                row.uploaded++;
                row.uploadedBytes += f.size;
              } else {
                blobs.skipped++;
                row.skipped++;
              }
            } else if (before === 'skipped') row.skipped++;
          }
          if (f.gitSha1) {
            const sha1 = f.gitSha1;
            await putOnce(aliases, `git-sha1/${sha1}`, () => t.putAlias(sha1, f.blob));
          }
        }
        const listing = {
          commit: m.commit,
          files: files.map((f) => ({ path: f.path, size: f.size, sha256: f.blob, ...(f.gitSha1 ? { gitSha1: f.gitSha1 } : {}) })),
        };
        await putOnce(listings, listingKeyOfStored(m.repo, m.subfolder, m.commit), () => t.putJson(listingKeyOfStored(m.repo, m.subfolder, m.commit), listing));
        for (const r of refs) {
          if (r.repo !== m.repo || r.subfolder !== m.subfolder || r.commit_sha !== m.commit || COMMIT_RE.test(r.revision)) continue;
          const key = refKey(r.repo, r.revision);
          try {
            await putOnce(refsPushed, key, () => t.putJson(key, r.commit_sha));
          } catch (err) {
            if (!(err instanceof CacheError) || err.code !== ErrorCodes.BAD_REQUEST) throw err;
            state.logger.warn({ ref: r.ref }, 'revision name cannot be a tier key; its ref is not pushed');
          }
        }
        out.push(row);
      } finally {
        leases.release(lease.id);
      }
    }
    return { tier: tierName(t.config), models: out, blobs, aliases, listings, refs: refsPushed };
  });
}
