import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, redactConfig } from '../../../src/config/load.js';
import { CacheError, ErrorCodes } from '../../../src/errors.js';
import { configFileOf } from '../../../src/cli/configFile.js';
import { useTempDir } from '../../support/useTempDir.js';

const tmp = useTempDir();

function load(origins: unknown[]) {
  const file = path.join(tmp.path, 'cache-config.json');
  fs.writeFileSync(file, JSON.stringify({ origins }));
  return loadConfig({ configPath: file, env: {}, home: tmp.path, platform: 'linux', cwd: tmp.path });
}

function configError(fn: () => unknown): CacheError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CacheError);
    expect((err as CacheError).code).toBe(ErrorCodes.CONFIG);
    return err as CacheError;
  }
  throw new Error('expected a config error');
}

describe('the s3 origin in the config', () => {
  it('fills defaults: prefix "", us-east-1, path style with an endpoint, read-write, metadata untrusted', () => {
    const c = load([{ type: 's3', endpoint: 'http://127.0.0.1:9000/', bucket: 'fleet-models' }, { type: 'huggingface' }]);
    expect(c.origins[0]).toEqual({
      type: 's3',
      endpoint: 'http://127.0.0.1:9000',
      bucket: 'fleet-models',
      prefix: '',
      region: 'us-east-1',
      accessKeyId: null,
      secretAccessKey: null,
      forcePathStyle: true,
      mode: 'read-write',
      trustMetadata: false,
      uploadQueue: { maxBlobs: 64, maxBytesInFlight: 2e9 },
    });
    const aws = load([{ type: 's3', bucket: 'fleet-models', region: 'eu-west-1' }]).origins[0];
    expect(aws).toMatchObject({ endpoint: null, forcePathStyle: false, region: 'eu-west-1' });
  });

  it('takes every field; the secret is redacted when printed', () => {
    const c = load([
      {
        type: 's3',
        endpoint: 'https://acc.r2.cloudflarestorage.com',
        bucket: 'models.ci',
        prefix: '/team-a/models/',
        region: 'auto',
        accessKeyId: 'AKIA1',
        secretAccessKey: 'very-secret',
        forcePathStyle: false,
        mode: 'read-only',
        trustMetadata: true,
        uploadQueue: { maxBlobs: 4, maxBytesInFlight: '1GiB' },
      },
    ]);
    expect(c.origins[0]).toMatchObject({ prefix: 'team-a/models', mode: 'read-only', trustMetadata: true, uploadQueue: { maxBlobs: 4, maxBytesInFlight: 1024 ** 3 } });
    expect(JSON.stringify(redactConfig(c))).not.toContain('very-secret');
    expect(JSON.stringify(configFileOf(c))).not.toContain('very-secret');
    // What `config show` prints loads again to the same origin (secret aside).
    const again = load(
      (configFileOf(c).origins as Record<string, unknown>[]).map((o) => ({ ...o, secretAccessKey: 'very-secret' })),
    );
    expect(again.origins).toEqual(c.origins);
  });

  it.each([
    ['no bucket', { type: 's3' }, 'origins[0].bucket'],
    ['bad bucket name', { type: 's3', bucket: 'Bad_Name' }, 'bucket "Bad_Name" must be 3-63 characters'],
    ['prefix with ..', { type: 's3', bucket: 'abc', prefix: 'a/../b' }, 'origins[0].prefix'],
    ['mode unknown', { type: 's3', bucket: 'abc', mode: 'write-only' }, 'origins[0].mode'],
    ['key without secret', { type: 's3', bucket: 'abc', accessKeyId: 'AK' }, 'accessKeyId and secretAccessKey must be given together'],
    ['endpoint not http', { type: 's3', bucket: 'abc', endpoint: 'ftp://x' }, 'expected an http(s) URL'],
    ['unknown key', { type: 's3', bucket: 'abc', acl: 'public' }, 'acl'],
  ])('%s is a config error naming the field', (_name, origin, expected) => {
    expect(configError(() => load([origin])).message).toContain(expected);
  });
});
