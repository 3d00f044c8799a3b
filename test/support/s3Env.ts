import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3OriginConfig } from '../../src/config/types.js';
import { createS3Client, type S3Sdk } from '../../src/origin/s3/s3Client.js';
import { freePort } from '../../dev/fixtures/freePort.js';

/**
 * The object stores the tier tests run against:
 *  - 'env': the store named by S3_ENDPOINT / S3_ACCESS_KEY / S3_SECRET_KEY / S3_REGION (in CI, the
 *    Swift cluster scripts/s3/start-swift-s3.sh starts);
 *  - 'moto': S3_ENDPOINT_MOTO when set, else a moto server (`python3 -m moto.server`, or $MOTO_PYTHON)
 *    started for the test file on a free loopback port and stopped after it.
 * s3StoreKinds() lists both when S3_ENDPOINT is set, else moto alone. useS3Store(kind) makes a bucket
 * of its own for the calling file (or describe block) and removes it, with everything in it, after.
 */
export type S3StoreKind = 'env' | 'moto';

export interface S3TestStore {
  kind: S3StoreKind;
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  bucket: string;
  /** An s3 origin config for this store's bucket. */
  origin(overrides?: Partial<S3OriginConfig>): S3OriginConfig;
  /** A raw client for the test's own checks and tampering (same quirk handling as the tier's). */
  client(): Promise<{ sdk: S3Sdk; client: S3Client }>;
}

export function s3StoreKinds(): S3StoreKind[] {
  return process.env.S3_ENDPOINT ? ['env', 'moto'] : ['moto'];
}

let moto: { endpoint: Promise<string>; child: ChildProcess | null; users: number } | null = null;


async function startMoto(): Promise<{ endpoint: string; child: ChildProcess }> {
  const port = await freePort();
  const python = process.env.MOTO_PYTHON ?? 'python3';
  const child = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto server (${python} -m moto.server) exited with ${child.exitCode}: ${stderr}`);
    try {
      const r = await fetch(`${endpoint}/`);
      await r.arrayBuffer();
      return { endpoint, child };
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  child.kill('SIGKILL');
  throw new Error(`moto server did not answer on ${endpoint} within 90 s: ${stderr}`);
}

function motoEndpoint(): Promise<string> {
  if (!moto) {
    const fromEnv = process.env.S3_ENDPOINT_MOTO;
    if (fromEnv) moto = { endpoint: Promise.resolve(fromEnv), child: null, users: 0 };
    else {
      const started = startMoto();
      moto = { endpoint: started.then((s) => s.endpoint), child: null, users: 0 };
      const m = moto;
      void started.then((s) => (m.child = s.child), () => {});
    }
  }
  moto.users++;
  return moto.endpoint;
}

async function releaseMoto(): Promise<void> {
  if (!moto) return;
  moto.users--;
  if (moto.users > 0) return;
  const m = moto;
  moto = null;
  await m.endpoint.catch(() => {});
  const child = m.child;
  if (child && child.exitCode === null) {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

export function useS3Store(kind: S3StoreKind): { readonly store: S3TestStore } {
  let current: S3TestStore | null = null;
  let clients: S3Client[] = [];
  beforeAll(async () => {
    const endpoint = kind === 'env' ? process.env.S3_ENDPOINT! : await motoEndpoint();
    const accessKeyId = kind === 'env' ? (process.env.S3_ACCESS_KEY ?? '') : 'testing';
    const secretAccessKey = kind === 'env' ? (process.env.S3_SECRET_KEY ?? '') : 'testing';
    const region = (kind === 'env' ? process.env.S3_REGION : undefined) ?? 'us-east-1';
    const bucket = `vc-test-${randomBytes(6).toString('hex')}`;
    const origin = (o: Partial<S3OriginConfig> = {}): S3OriginConfig => ({
      type: 's3',
      endpoint,
      bucket,
      prefix: '',
      region,
      accessKeyId,
      secretAccessKey,
      forcePathStyle: true,
      mode: 'read-write',
      trustMetadata: false,
      uploadQueue: { maxBlobs: 64, maxBytesInFlight: 2e9 },
      ...o,
    });
    const client = async () => {
      const c = await createS3Client(origin(), { maxAttempts: 3 });
      clients.push(c.client);
      return c;
    };
    const { sdk, client: admin } = await client();
    await admin.send(new sdk.CreateBucketCommand({ Bucket: bucket }));
    current = { kind, endpoint, accessKeyId, secretAccessKey, region, bucket, origin, client };
  });
  afterAll(async () => {
    try {
      if (current) await removeBucket(current);
    } finally {
      for (const c of clients) c.destroy();
      clients = [];
      current = null;
      if (kind === 'moto') await releaseMoto();
    }
  });
  return {
    get store(): S3TestStore {
      if (!current) throw new Error('the S3 test store exists only inside tests and hooks registered after useS3Store');
      return current;
    },
  };
}

async function removeBucket(store: S3TestStore): Promise<void> {
  const { sdk, client } = await store.client();
  for (;;) {
    const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: store.bucket }));
    const keys = (page.Contents ?? []).map((o) => o.Key!).filter(Boolean);
    if (keys.length === 0) break;
    for (const Key of keys) await client.send(new sdk.DeleteObjectCommand({ Bucket: store.bucket, Key }));
  }
  const uploads = await client.send(new sdk.ListMultipartUploadsCommand({ Bucket: store.bucket })).catch(() => null);
  for (const u of uploads?.Uploads ?? []) {
    await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: store.bucket, Key: u.Key!, UploadId: u.UploadId! })).catch(() => {});
  }
  await client.send(new sdk.DeleteBucketCommand({ Bucket: store.bucket }));
}
