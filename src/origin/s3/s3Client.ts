import { createHash } from 'node:crypto';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type { S3OriginConfig } from '../../config/types.js';

/** The SDK module, loaded on first use only: the CLI's fast paths and a daemon without an s3 origin never load it. */
export type S3Sdk = typeof import('@aws-sdk/client-s3');

export interface S3ClientOptions {
  /** Give up on a TCP connect after this long. Default 3 s. */
  connectTimeoutMs?: number;
  /** Give up on a request whose socket is idle this long. Default 30 s. */
  idleTimeoutMs?: number;
  /** Attempts per request (1: no SDK retries; the caller decides). Default 1. */
  maxAttempts?: number;
}

let sdkP: Promise<S3Sdk> | null = null;

export function loadS3Sdk(): Promise<S3Sdk> {
  return (sdkP ??= import('@aws-sdk/client-s3'));
}

/**
 * An S3 client that works with stores other than AWS: checksums only where the API requires them
 * (Swift's s3api rejects aws-chunked streaming checksums with 501), Content-MD5 on DeleteObjects
 * (Swift requires it; the SDK sends a CRC32 instead), path-style addressing when configured, a short
 * connect timeout, and explicit credentials only when the config gives them (else the SDK's default
 * chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile, instance role).
 */
export async function createS3Client(config: S3OriginConfig, opts: S3ClientOptions = {}): Promise<{ sdk: S3Sdk; client: S3Client }> {
  const sdk = await loadS3Sdk();
  const cfg: S3ClientConfig = {
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: opts.maxAttempts ?? 1,
    requestHandler: { connectionTimeout: opts.connectTimeoutMs ?? 3_000, requestTimeout: opts.idleTimeoutMs ?? 30_000 },
  };
  if (config.endpoint !== null) cfg.endpoint = config.endpoint;
  if (config.accessKeyId !== null && config.secretAccessKey !== null) {
    cfg.credentials = { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey };
  }
  const client = new sdk.S3Client(cfg);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const req = args.request as { body?: unknown; headers?: Record<string, string> } | undefined;
      if (context.commandName === 'DeleteObjectsCommand' && req && typeof req.body === 'string' && req.headers) {
        req.headers['content-md5'] = createHash('md5').update(req.body).digest('base64');
      }
      return next(args);
    },
    { step: 'build', name: 'contentMd5ForDeleteObjects' },
  );
  return { sdk, client };
}
