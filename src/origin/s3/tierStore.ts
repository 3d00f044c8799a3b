import { createHash, randomBytes } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3OriginConfig } from '../../config/types.js';
import { CacheError, ErrorCodes } from '../../errors.js';
import type { Log } from '../../logger.js';
import { createS3Client, type S3ClientOptions, type S3Sdk } from './s3Client.js';
import { failureOf, isNotFound, tierError, tierName } from './tierErrors.js';

/**
 * The fleet tier: a content-addressed blob store on an S3-compatible bucket, shared by many runners.
 *
 * Object layout (all keys under the configured prefix):
 *   blobs/sha256/<hex>               the blob; metadata sha256=<hex>, last-read=<ISO time>
 *   git-sha1/<hex>                   alias: body is the sha256 hex of the blob whose git SHA-1 is <hex>
 *   listings/<repo>/<commit>.json    a listing (JSON)
 *   refs/<repo>/<revision>           a commit (JSON)
 * Nothing read from the tier is trusted here: the caller verifies blobs against their key, aliases
 * against the listing's git SHA-1, and uses refs/listings only with trustMetadata. What this module
 * guarantees on the write side: a blob is stored only when the bytes it was given hash to its key (the
 * last bytes are held back until the digest matches, so a mismatch never completes an upload), and a
 * read-only tier never writes (every write method refuses; touchBlob does nothing).
 * The AWS SDK loads on the first request, never at import.
 */

export interface TierProbe {
  reachable: boolean;
  /** Why the store is not reachable or not usable (names the endpoint and bucket). */
  error?: string;
  /** The store refuses a PUT with If-None-Match: * over an existing key (AWS, MinIO, R2, moto); Swift 2.30 does not support it. */
  conditionalPut: boolean;
}

export interface TierBlobHead {
  size: number;
  /** From the last-read metadata; null when the object has none (or it does not parse). */
  lastReadMs: number | null;
}

export interface TierBlobListing {
  sha256: string;
  size: number;
  lastReadMs: number | null;
  lastModifiedMs: number;
}

export interface TierUsage {
  objects: number;
  bytes: number;
  blobs: number;
  blobBytes: number;
}

export interface TierOpenedBlob {
  stream: Readable;
  /** Byte offset the stream starts at. */
  offset: number;
  /** Total size of the blob. */
  total: number;
}

export interface TierStore {
  readonly config: S3OriginConfig;
  /** Reachability and store quirks; a successful answer is cached (an unreachable one is not). Never throws. */
  probe(signal?: AbortSignal): Promise<TierProbe>;
  /** null: no such blob (a HEAD answer carries no error code, so a missing bucket looks the same; probe tells them apart). */
  headBlob(sha256: string, signal?: AbortSignal): Promise<TierBlobHead | null>;
  /** null: no such blob. The stream starts at `offset` (a Range read); offset = total gives an empty stream. */
  openBlob(sha256: string, offset: number, signal?: AbortSignal): Promise<TierOpenedBlob | null>;
  /**
   * Stores a blob (multipart above the multipart threshold). `body` is called once and must yield the
   * blob's `size` bytes; when they do not hash to `sha256` the upload fails (E_INTEGRITY) and nothing
   * is stored. 'exists': the key was already there (conditional PUT, or HEAD first where the store
   * lacks it) and nothing was written.
   */
  putBlob(sha256: string, size: number, body: () => Readable, signal?: AbortSignal): Promise<'stored' | 'exists'>;
  /** Sets the last-read metadata of a blob to now (the caller throttles this). Does nothing on a read-only tier. */
  touchBlob(sha256: string): Promise<void>;
  /** The sha256 an alias names, or null when there is none (or its body is not a sha256 hex). Untrusted. */
  getAlias(gitSha1: string): Promise<string | null>;
  putAlias(gitSha1: string, sha256: string): Promise<void>;
  /** JSON at a key relative to the prefix (listings/..., refs/...); null when absent or not JSON. Untrusted. */
  getJson(key: string): Promise<unknown>;
  putJson(key: string, value: unknown): Promise<void>;
  /** Whether an object exists at a key relative to the prefix. */
  has(key: string): Promise<boolean>;
  /** Every blob under blobs/sha256/, with its metadata (one HEAD per blob for last-read). */
  listBlobs(signal?: AbortSignal): AsyncIterable<TierBlobListing>;
  /** Objects and bytes under the prefix, and of them the blobs (listing only, no HEADs). */
  usage(signal?: AbortSignal): Promise<TierUsage>;
  /** Deletes blobs by sha256; returns how many deletes the store confirmed. */
  deleteBlobs(sha256s: readonly string[]): Promise<number>;
  /** Closes the client's sockets. */
  close(): void;
}

export interface TierStoreDeps {
  logger?: Pick<Log, 'debug' | 'info' | 'warn'>;
  clock?: () => number;
  /** Blobs at least this large go up by multipart. Default 64 MiB. */
  multipartThreshold?: number;
  /** Smallest multipart part (grown so a blob needs at most 10,000 parts). Default 8 MiB; S3 requires >= 5 MiB. */
  partSize?: number;
  client?: S3ClientOptions;
}

const SHA256 = /^[0-9a-f]{64}$/;
const SHA1 = /^[0-9a-f]{40}$/;
/** A key under the prefix: '/'-separated segments of safe characters, none empty, "." or "..". */
const REL_KEY = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9._@=+-]+(?:\/[A-Za-z0-9._@=+-]+)*$/;
const MIB = 1024 * 1024;
/** getJson reads at most this much: a listing of a very large repository still fits. */
const MAX_JSON_BYTES = 32 * MIB;
const LIST_HEAD_CONCURRENCY = 8;
const DELETE_BATCH = 1000;

export function blobKey(prefix: string, sha256: string): string {
  return `${prefix ? `${prefix}/` : ''}blobs/sha256/${sha256}`;
}

export function createTierStore(config: S3OriginConfig, deps: TierStoreDeps = {}): TierStore {
  const clock = deps.clock ?? Date.now;
  const log = deps.logger;
  const threshold = deps.multipartThreshold ?? 64 * MIB;
  const minPart = Math.max(5 * MIB, deps.partSize ?? 8 * MIB);
  const where = tierName(config);
  const Bucket = config.bucket;
  const key = (rel: string) => (config.prefix ? `${config.prefix}/${rel}` : rel);
  const blobsPrefix = key('blobs/sha256/');

  let clientP: Promise<{ sdk: S3Sdk; client: S3Client }> | null = null;
  const s3 = () => (clientP ??= createS3Client(config, deps.client));
  let probed: TierProbe | null = null;

  const checkSha = (sha256: string) => {
    if (!SHA256.test(sha256)) throw new CacheError(ErrorCodes.BAD_REQUEST, `not a sha256 hex digest: ${JSON.stringify(sha256.slice(0, 80))}`);
  };
  const checkWritable = (what: string) => {
    if (config.mode === 'read-only') {
      throw new CacheError(ErrorCodes.USAGE, `${where} is read-only (mode "read-only" in the config): ${what} is not allowed; set mode "read-write" to write`);
    }
  };
  const checkKey = (rel: string) => {
    if (!REL_KEY.test(rel)) throw new CacheError(ErrorCodes.BAD_REQUEST, `not a safe tier key: ${JSON.stringify(rel.slice(0, 200))}`);
  };

  /** Runs one SDK command; failures become CacheErrors, except aborts, which are rethrown as they are. */
  async function send<T>(what: string, make: (sdk: S3Sdk) => object, signal?: AbortSignal): Promise<T> {
    const { sdk, client } = await s3();
    try {
      const command = make(sdk) as Parameters<S3Client['send']>[0];
      return (await client.send(command, signal ? { abortSignal: signal } : undefined)) as T;
    } catch (err) {
      if (signal?.aborted) throw err;
      throw tierError(config, what, err);
    }
  }
  /** As send, but a 404 is null. */
  async function sendOrNull<T>(what: string, make: (sdk: S3Sdk) => object, signal?: AbortSignal): Promise<T | null> {
    try {
      return await send<T>(what, make, signal);
    } catch (err) {
      const cause = err instanceof CacheError ? err.cause : null;
      if (cause && isNotFound(failureOf(cause))) return null;
      throw err;
    }
  }

  const lastReadOf = (meta: Record<string, string> | undefined): number | null => {
    const v = meta?.['last-read'];
    if (!v) return null;
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : null;
  };
  const metadata = (sha256: string) => ({ sha256, 'last-read': new Date(clock()).toISOString() });

  async function detectConditionalPut(signal?: AbortSignal): Promise<boolean> {
    if (config.mode === 'read-only') return false;
    const probeKey = key(`probe/conditional-put-${randomBytes(8).toString('hex')}`);
    try {
      await send('a conditional PUT probe', (sdk) => new sdk.PutObjectCommand({ Bucket, Key: probeKey, Body: 'probe', IfNoneMatch: '*' }), signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      log?.debug({ err: (err as Error).message }, 'the tier does not support conditional PUT');
      return false;
    }
    let refused = false;
    try {
      await send('a conditional PUT probe', (sdk) => new sdk.PutObjectCommand({ Bucket, Key: probeKey, Body: 'probe', IfNoneMatch: '*' }), signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      const st = err instanceof CacheError ? failureOf(err.cause).status : null;
      refused = st === 412 || st === 409;
    }
    await send('deleting the probe object', (sdk) => new sdk.DeleteObjectCommand({ Bucket, Key: probeKey }), signal).catch(() => {});
    return refused;
  }

  async function putSingle(sha256: string, size: number, body: Readable, conditional: boolean, signal?: AbortSignal): Promise<'stored' | 'exists'> {
    try {
      await send(
        `uploading blob ${sha256}`,
        (sdk) =>
          new sdk.PutObjectCommand({
            Bucket,
            Key: key(`blobs/sha256/${sha256}`),
            Body: body,
            ContentLength: size,
            ContentType: 'application/octet-stream',
            Metadata: metadata(sha256),
            ...(conditional ? { IfNoneMatch: '*' } : {}),
          }),
        signal,
      );
      return 'stored';
    } catch (err) {
      if (conditional && err instanceof CacheError && failureOf(err.cause).status === 412) return 'exists';
      throw err;
    } finally {
      body.destroy();
    }
  }

  async function putMultipart(sha256: string, size: number, body: Readable, conditional: boolean, signal?: AbortSignal): Promise<'stored' | 'exists'> {
    const Key = key(`blobs/sha256/${sha256}`);
    const partSize = Math.max(minPart, Math.ceil(size / 10_000));
    const created = await send<{ UploadId?: string }>(
      `starting a multipart upload of blob ${sha256}`,
      (sdk) => new sdk.CreateMultipartUploadCommand({ Bucket, Key, ContentType: 'application/octet-stream', Metadata: metadata(sha256) }),
      signal,
    );
    const UploadId = created.UploadId;
    if (!UploadId) throw new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${where}: no UploadId for a multipart upload of blob ${sha256}`);
    const parts: { ETag: string; PartNumber: number }[] = [];
    try {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flushPart = async () => {
        const PartNumber = parts.length + 1;
        const buf = Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        const r = await send<{ ETag?: string }>(
          `uploading part ${PartNumber} of blob ${sha256}`,
          (sdk) => new sdk.UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: buf, ContentLength: buf.length }),
          signal,
        );
        parts.push({ ETag: r.ETag ?? '', PartNumber });
      };
      for await (const chunk of body) {
        const b = chunk as Buffer;
        let at = 0;
        while (at < b.length) {
          const take = Math.min(b.length - at, partSize - pendingBytes);
          pending.push(b.subarray(at, at + take));
          pendingBytes += take;
          at += take;
          if (pendingBytes === partSize) await flushPart();
        }
      }
      if (pendingBytes > 0 || parts.length === 0) await flushPart();
      await send(
        `completing the multipart upload of blob ${sha256}`,
        (sdk) =>
          new sdk.CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts }, ...(conditional ? { IfNoneMatch: '*' } : {}) }),
        signal,
      );
      return 'stored';
    } catch (err) {
      body.destroy();
      await send('aborting a multipart upload', (sdk) => new sdk.AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch((e: unknown) =>
        log?.warn({ err: (e as Error).message, key: Key }, 'could not abort a multipart upload; a bucket lifecycle rule removes it'),
      );
      if (conditional && err instanceof CacheError && failureOf(err.cause).status === 412) return 'exists';
      throw err;
    }
  }

  async function readBody(body: unknown, limit: number, what: string): Promise<Buffer | null> {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of body as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > limit) {
        (body as Readable).destroy?.();
        log?.warn({ what, limit }, 'tier object too large; ignored');
        return null;
      }
      chunks.push(c);
    }
    return Buffer.concat(chunks, n);
  }

  async function getText(rel: string, limit: number): Promise<string | null> {
    const r = await sendOrNull<{ Body?: unknown }>(`reading ${rel}`, (sdk) => new sdk.GetObjectCommand({ Bucket, Key: key(rel) }));
    if (!r || !r.Body) return null;
    const buf = await readBody(r.Body, limit, rel);
    return buf === null ? null : buf.toString('utf8');
  }

  async function putText(rel: string, body: string, contentType: string): Promise<void> {
    await send(`writing ${rel}`, (sdk) => new sdk.PutObjectCommand({ Bucket, Key: key(rel), Body: body, ContentType: contentType }));
  }

  return {
    config,

    async probe(signal) {
      if (probed) return probed;
      try {
        await send('probe', (sdk) => new sdk.HeadBucketCommand({ Bucket }), signal);
        probed = { reachable: true, conditionalPut: await detectConditionalPut(signal) };
        log?.info({ tier: where, conditionalPut: probed.conditionalPut, mode: config.mode }, 'fleet tier reachable');
        return probed;
      } catch (err) {
        if (signal?.aborted) throw err;
        return { reachable: false, error: (err as Error).message, conditionalPut: false };
      }
    },

    async headBlob(sha256, signal) {
      checkSha(sha256);
      const r = await sendOrNull<{ ContentLength?: number; Metadata?: Record<string, string> }>(
        `HEAD of blob ${sha256}`,
        (sdk) => new sdk.HeadObjectCommand({ Bucket, Key: key(`blobs/sha256/${sha256}`) }),
        signal,
      );
      return r ? { size: r.ContentLength ?? 0, lastReadMs: lastReadOf(r.Metadata) } : null;
    },

    async openBlob(sha256, offset, signal) {
      checkSha(sha256);
      if (!Number.isSafeInteger(offset) || offset < 0) throw new CacheError(ErrorCodes.BAD_REQUEST, `bad offset ${offset} reading blob ${sha256}`);
      let r: { Body?: unknown; ContentRange?: string; ContentLength?: number } | null;
      try {
        r = await sendOrNull(
          `reading blob ${sha256}`,
          (sdk) => new sdk.GetObjectCommand({ Bucket, Key: key(`blobs/sha256/${sha256}`), ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}) }),
          signal,
        );
      } catch (err) {
        if (offset > 0 && err instanceof CacheError && failureOf(err.cause).status === 416) {
          const head = await this.headBlob(sha256, signal);
          if (!head) return null;
          if (head.size === offset) return { stream: Readable.from([]), offset, total: offset };
        }
        throw err;
      }
      if (!r) return null;
      const stream = r.Body as Readable;
      const m = /^bytes (\d+)-\d+\/(\d+)$/.exec(r.ContentRange ?? '');
      if (m) return { stream, offset: Number(m[1]), total: Number(m[2]) };
      return { stream, offset: 0, total: r.ContentLength ?? 0 };
    },

    async putBlob(sha256, size, body, signal) {
      checkSha(sha256);
      checkWritable(`uploading blob ${sha256}`);
      const { conditionalPut } = await this.probe(signal);
      if (!conditionalPut) {
        const head = await this.headBlob(sha256, signal);
        if (head && head.size === size) return 'exists';
      }
      // A body that fails (unreadable, or not the blob) aborts the request: an HTTP client piping it
      // would otherwise wait for the bytes that never come.
      const ac = new AbortController();
      const onAbort = () => ac.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) ac.abort(signal.reason);
      let bodyError: unknown = null;
      const src = body();
      const checked = verifying(sha256, size, where);
      src.on('error', (e) => checked.destroy(e));
      checked.on('error', (e) => {
        bodyError ??= e;
        src.destroy();
        ac.abort(e);
      });
      src.pipe(checked);
      try {
        return await (size >= threshold
          ? putMultipart(sha256, size, checked, conditionalPut, ac.signal)
          : putSingle(sha256, size, checked, conditionalPut, ac.signal));
      } catch (err) {
        throw bodyError ?? err;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    },

    async touchBlob(sha256) {
      checkSha(sha256);
      if (config.mode === 'read-only') return;
      const Key = key(`blobs/sha256/${sha256}`);
      await send(
        `refreshing last-read of blob ${sha256}`,
        (sdk) =>
          new sdk.CopyObjectCommand({
            Bucket,
            Key,
            CopySource: `${Bucket}/${Key}`,
            MetadataDirective: 'REPLACE',
            Metadata: metadata(sha256),
            ContentType: 'application/octet-stream',
          }),
      );
    },

    async getAlias(gitSha1) {
      if (!SHA1.test(gitSha1)) throw new CacheError(ErrorCodes.BAD_REQUEST, `not a git SHA-1: ${JSON.stringify(gitSha1.slice(0, 80))}`);
      const text = await getText(`git-sha1/${gitSha1}`, 1024);
      const v = text?.trim() ?? null;
      return v !== null && SHA256.test(v) ? v : null;
    },

    async putAlias(gitSha1, sha256) {
      if (!SHA1.test(gitSha1)) throw new CacheError(ErrorCodes.BAD_REQUEST, `not a git SHA-1: ${JSON.stringify(gitSha1.slice(0, 80))}`);
      checkSha(sha256);
      checkWritable(`writing alias ${gitSha1}`);
      await putText(`git-sha1/${gitSha1}`, sha256, 'text/plain');
    },

    async getJson(rel) {
      checkKey(rel);
      const text = await getText(rel, MAX_JSON_BYTES);
      if (text === null) return null;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        log?.warn({ tier: where, key: rel }, 'tier object is not JSON; ignored');
        return null;
      }
    },

    async putJson(rel, value) {
      checkKey(rel);
      checkWritable(`writing ${rel}`);
      await putText(rel, JSON.stringify(value), 'application/json');
    },

    async has(rel) {
      checkKey(rel);
      const r = await sendOrNull(`HEAD of ${rel}`, (sdk) => new sdk.HeadObjectCommand({ Bucket, Key: key(rel) }));
      return r !== null;
    },

    async *listBlobs(signal) {
      let ContinuationToken: string | undefined;
      do {
        const page = await send<{ Contents?: { Key?: string; Size?: number; LastModified?: Date }[]; IsTruncated?: boolean; NextContinuationToken?: string }>(
          'listing blobs',
          (sdk) => new sdk.ListObjectsV2Command({ Bucket, Prefix: blobsPrefix, ...(ContinuationToken ? { ContinuationToken } : {}) }),
          signal,
        );
        const items = (page.Contents ?? []).filter((o) => o.Key !== undefined && SHA256.test(o.Key.slice(blobsPrefix.length)));
        for (let i = 0; i < items.length; i += LIST_HEAD_CONCURRENCY) {
          const batch = items.slice(i, i + LIST_HEAD_CONCURRENCY);
          const heads = await Promise.all(batch.map((o) => this.headBlob(o.Key!.slice(blobsPrefix.length), signal)));
          for (const [j, o] of batch.entries()) {
            const head = heads[j];
            if (!head) continue; // deleted since the listing
            yield {
              sha256: o.Key!.slice(blobsPrefix.length),
              size: o.Size ?? head.size,
              lastReadMs: head.lastReadMs,
              lastModifiedMs: o.LastModified ? o.LastModified.getTime() : 0,
            };
          }
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    },

    async usage(signal) {
      const out: TierUsage = { objects: 0, bytes: 0, blobs: 0, blobBytes: 0 };
      let ContinuationToken: string | undefined;
      do {
        const page = await send<{ Contents?: { Key?: string; Size?: number }[]; IsTruncated?: boolean; NextContinuationToken?: string }>(
          'listing objects',
          (sdk) => new sdk.ListObjectsV2Command({ Bucket, ...(config.prefix ? { Prefix: `${config.prefix}/` } : {}), ...(ContinuationToken ? { ContinuationToken } : {}) }),
          signal,
        );
        for (const o of page.Contents ?? []) {
          out.objects++;
          out.bytes += o.Size ?? 0;
          if (o.Key?.startsWith(blobsPrefix) && SHA256.test(o.Key.slice(blobsPrefix.length))) {
            out.blobs++;
            out.blobBytes += o.Size ?? 0;
          }
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
      return out;
    },

    async deleteBlobs(sha256s) {
      for (const s of sha256s) checkSha(s);
      if (sha256s.length === 0) return 0;
      checkWritable(`deleting ${sha256s.length} blob(s)`);
      let deleted = 0;
      for (let i = 0; i < sha256s.length; i += DELETE_BATCH) {
        const batch = sha256s.slice(i, i + DELETE_BATCH);
        try {
          const r = await send<{ Deleted?: unknown[]; Errors?: { Key?: string; Code?: string }[] }>(
            `deleting ${batch.length} blob(s)`,
            (sdk) => new sdk.DeleteObjectsCommand({ Bucket, Delete: { Objects: batch.map((s) => ({ Key: key(`blobs/sha256/${s}`) })), Quiet: false } }),
          );
          deleted += r.Deleted?.length ?? 0;
          for (const e of r.Errors ?? []) log?.warn({ tier: where, key: e.Key, code: e.Code }, 'tier refused to delete a blob');
        } catch (err) {
          const f = err instanceof CacheError ? failureOf(err.cause) : null;
          if (!f || f.status === null || f.status >= 500 || f.status === 403) throw err;
          log?.info({ tier: where, status: f.status, s3Error: f.name }, 'DeleteObjects refused; deleting one by one');
          for (const s of batch) {
            await send(`deleting blob ${s}`, (sdk) => new sdk.DeleteObjectCommand({ Bucket, Key: key(`blobs/sha256/${s}`) }));
            deleted++;
          }
        }
      }
      return deleted;
    },

    close() {
      if (clientP) void clientP.then(({ client }) => client.destroy(), () => {});
    },
  };
}

/**
 * Passes `size` bytes through, holding the last chunk back until the whole stream hashed to
 * `sha256`: on a mismatch (or a wrong length) the stream fails before its last byte leaves, so a
 * request that needs every byte (Content-Length, or a multipart completed after the body) never
 * completes with bytes that are not the blob.
 */
function verifying(sha256: string, size: number, where: string): Transform {
  const hash = createHash('sha256');
  let seen = 0;
  let held: Buffer | null = null;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      hash.update(chunk);
      seen += chunk.length;
      if (held) this.push(held);
      held = chunk;
      cb();
    },
    flush(cb: TransformCallback) {
      const got = hash.digest('hex');
      if (seen !== size || got !== sha256) {
        cb(
          new CacheError(
            ErrorCodes.INTEGRITY,
            `refusing to upload blob ${sha256} to the ${where}: the local bytes are ${seen} bytes hashing to ${got}, expected ${size} bytes; run cache-manager verify`,
            { details: { sha256, got, size, seen } },
          ),
        );
        return;
      }
      if (held) this.push(held);
      cb();
    },
  });
}
