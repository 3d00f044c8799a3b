import type { S3OriginConfig } from '../../config/types.js';
import { CacheError, ErrorCodes } from '../../errors.js';

/** What an SDK or network error looks like from outside: HTTP status, S3 error name, errno. */
export interface S3Failure {
  status: number | null;
  name: string;
  errno: string | null;
  message: string;
}

export function failureOf(err: unknown): S3Failure {
  const e = (err ?? {}) as { $metadata?: { httpStatusCode?: number }; name?: unknown; code?: unknown; message?: unknown; cause?: unknown };
  const cause = (e.cause ?? {}) as { code?: unknown };
  const errno = typeof e.code === 'string' ? e.code : typeof cause.code === 'string' ? cause.code : null;
  return {
    status: typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : null,
    name: typeof e.name === 'string' ? e.name : 'Error',
    errno,
    message: typeof e.message === 'string' ? e.message : String(err),
  };
}

export function isNotFound(f: S3Failure): boolean {
  return f.status === 404 && f.name !== 'NoSuchBucket';
}

/** Where the tier is, for messages: endpoint (or AWS), bucket and prefix. */
export function tierName(c: S3OriginConfig): string {
  return `s3 tier ${c.endpoint ?? `AWS S3 (${c.region})`} bucket ${c.bucket}${c.prefix ? ` prefix ${c.prefix}/` : ''}`;
}

/**
 * A CacheError for a failed request to the tier. Refused/reset connections, timeouts, 429 and 5xx are
 * E_ORIGIN_UNAVAILABLE and retryable; a missing bucket, bad credentials or a denied request are final
 * E_CONFIG errors that say what to fix in the s3 origin's config; anything else is a final
 * E_ORIGIN_UNAVAILABLE naming the store's answer.
 */
export function tierError(config: S3OriginConfig, what: string, err: unknown): CacheError {
  const f = failureOf(err);
  const where = tierName(config);
  const answer = f.status !== null ? `HTTP ${f.status} ${f.name}` : f.errno ?? f.name;
  const details = { status: f.status, s3Error: f.name, errno: f.errno, bucket: config.bucket, endpoint: config.endpoint };
  if (f.name === 'NoSuchBucket' || f.name === 'InvalidBucketName' || (f.status === 404 && what === 'probe')) {
    return new CacheError(
      ErrorCodes.CONFIG,
      `${where}: ${what} failed (${answer}): the bucket does not exist; create it, or fix "bucket"/"endpoint" of the s3 origin in the config; retrying will not help`,
      { details, cause: err },
    );
  }
  if (f.status === 401 || f.status === 403) {
    return new CacheError(
      ErrorCodes.CONFIG,
      `${where}: ${what} was refused (${answer}: ${f.message}); check the credentials (accessKeyId/secretAccessKey of the s3 origin, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_PROFILE), "region" and the bucket policy; retrying will not help`,
      { details, cause: err },
    );
  }
  const transient =
    f.status === null || f.status === 408 || f.status === 429 || f.status >= 500 || f.name === 'TimeoutError' || f.name === 'RequestTimeout';
  if (f.status === 501) {
    return new CacheError(ErrorCodes.ORIGIN_UNAVAILABLE, `${where}: ${what} is not supported by this store (${answer}: ${f.message})`, {
      details,
      cause: err,
    });
  }
  return new CacheError(
    ErrorCodes.ORIGIN_UNAVAILABLE,
    `${where}: ${what} failed (${answer}${f.status === null ? `: ${f.message}` : ''})${transient ? '; retry later' : '; retrying will not help'}`,
    { retryable: transient, details, cause: err },
  );
}
