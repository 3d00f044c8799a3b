import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { Readable } from 'node:stream';
import { describe, expect } from 'vitest';
import type { TierGcResult, TierPushResult, TierStatusResult } from '../../src/ipc/protocol.js';
import { createTierStore } from '../../src/origin/s3/tierStore.js';
import { s3StoreKinds, useS3Store } from '../support/s3Env.js';
import { noDaemon } from './daemon-helpers.js';
import { waitFor, type Sandbox } from './harness.js';
import { hubTest } from './hubTest.js';

/**
 * `cache-manager tier status|gc|push` through the built CLI, against the real object store of
 * test/support/s3Env.ts (Swift in CI, else moto): through the daemon, and in direct mode.
 */

const it = hubTest;
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const DAY = 86_400_000;

const kind = s3StoreKinds()[0]!;

describe(`cache-manager tier against the ${kind} store`, () => {
  const s3 = useS3Store(kind);
  let n = 0;
  /** An s3 origin (config-file form) under a prefix of its own, so tests do not see each other's objects. */
  const s3Origin = (extra: Record<string, unknown> = {}) => ({
    type: 's3',
    endpoint: s3.store.endpoint,
    bucket: s3.store.bucket,
    prefix: `t${++n}-${crypto.randomBytes(3).toString('hex')}`,
    region: s3.store.region,
    accessKeyId: s3.store.accessKeyId,
    secretAccessKey: s3.store.secretAccessKey,
    ...extra,
  });
  /** The Hub origin the sandbox was made with (its fake Hub). */
  const hubOrigin = (sb: Sandbox): unknown =>
    (JSON.parse(fs.readFileSync(sb.configPath, 'utf8')) as { origins: { type: string }[] }).origins.find((x) => x.type === 'huggingface');
  const tierOf = (o: ReturnType<typeof s3Origin>, clock?: () => number) =>
    createTierStore(s3.store.origin({ prefix: o.prefix, mode: 'read-write' }), clock ? { clock } : {});

  it('status: no s3 origin is a usage error that says what to add', async ({ sb }) => {
    const r = await sb.cli(['tier', 'status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no fleet tier is configured');
    expect(r.stderr).toContain(sb.configPath);
  });

  it('status through the daemon: reachable, with the objects and bytes under the prefix', async ({ sb }) => {
    const o = s3Origin();
    sb.writeConfig({ origins: [o, hubOrigin(sb)] });
    const empty = await sb.cli(['tier', 'status', '--json']);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.json<TierStatusResult>()).toMatchObject({ reachable: true, bucket: s3.store.bucket, prefix: o.prefix, objects: 0, bytes: 0, blobs: 0 });
    const t = tierOf(o);
    const data = crypto.randomBytes(4096);
    await t.putBlob(sha(data), data.length, () => Readable.from([data]));
    await t.putJson('refs/org/m/main', 'a'.repeat(40));
    t.close();
    const r = await sb.cli(['tier', 'status', '--json']);
    expect(r.json<TierStatusResult>()).toMatchObject({ reachable: true, objects: 2, blobs: 1, blobBytes: 4096 });
    expect(r.json<TierStatusResult>().bytes).toBe(4096 + 42);
    const human = await sb.cli(['tier', 'status']);
    expect(human.stdout).toMatch(/reachable:\s+yes/);
    expect(human.stdout).toMatch(/blobs:\s+1 /);
  });

  it('status of a tier that is not there: exit 1, unreachable, the endpoint named', async ({ sb }) => {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    sb.writeConfig({ origins: [s3Origin({ endpoint: `http://127.0.0.1:${port}` }), hubOrigin(sb)] });
    const r = await sb.cli(['tier', 'status', '--json']);
    expect(r.code).toBe(1);
    const d = r.json<TierStatusResult>();
    expect(d.reachable).toBe(false);
    expect(d.objects).toBeNull();
    expect(d.error).toContain(`127.0.0.1:${port}`);
  });

  it('push seeds the tier from the warm cache: blobs, aliases, listings, refs; a second push skips them all', async ({ sb }) => {
    // Warm the cache from the Hub with no tier configured, then stop the daemon and push in direct mode.
    for (const m of ['whisper-tiny', 'mlx-tiny']) {
      const g = await sb.cli(['get', m, '--json']);
      expect(g.code, g.stderr).toBe(0);
    }
    const listed = (await sb.cli(['list', '--json'])).json<{ models: { model: string; repo: string; subfolder: string | null; commit: string }[] }>().models;
    const tiny = listed.find((m) => m.subfolder === 'openai_whisper-tiny')!;
    const mlx = listed.find((m) => m.repo === 'mlx-community/whisper-tiny')!;
    expect((await sb.cli(['daemon', 'stop'])).code).toBe(0);
    await waitFor(() => noDaemon(sb.cacheDir), 20_000, 'daemon gone');
    const o = s3Origin();
    sb.writeConfig({ origins: [o, hubOrigin(sb)] });

    const first = await sb.cli(['--no-autostart', 'tier', 'push', 'whisper-tiny', '--json'], { timeoutMs: 120_000 });
    expect(first.code, first.stderr).toBe(0);
    const d1 = first.json<TierPushResult>();
    expect(d1.models.map((m) => m.model)).toEqual([tiny.model]);
    expect(d1.blobs.uploaded).toBeGreaterThan(0);
    expect(d1.blobs.skipped).toBe(0);
    expect(d1.listings).toEqual({ uploaded: 1, skipped: 0 });
    expect(d1.refs).toEqual({ uploaded: 1, skipped: 0 });

    // What is in the bucket is what the cache holds: every blob under its content key, hashing to it.
    const t = tierOf(o);
    const listing = (await t.getJson(`listings/${tiny.repo}/${tiny.commit}/openai_whisper-tiny.json`)) as {
      commit: string;
      files: { path: string; size: number; sha256: string; gitSha1?: string }[];
    };
    expect(listing.commit).toBe(tiny.commit);
    expect(new Set(listing.files.map((f) => f.sha256)).size).toBe(d1.blobs.uploaded);
    for (const f of listing.files) {
      const opened = await t.openBlob(f.sha256, 0);
      const chunks: Buffer[] = [];
      for await (const c of opened!.stream) chunks.push(c as Buffer);
      expect(sha(Buffer.concat(chunks)), f.path).toBe(f.sha256);
      if (f.gitSha1) expect(await t.getAlias(f.gitSha1)).toBe(f.sha256);
    }
    expect(d1.aliases.uploaded).toBe(new Set(listing.files.filter((f) => f.gitSha1).map((f) => f.gitSha1)).size);
    expect(await t.getJson(`refs/${tiny.repo}/main`)).toBe(tiny.commit);

    const again = (await sb.cli(['--no-autostart', 'tier', 'push', 'whisper-tiny', '--json'], { timeoutMs: 120_000 })).json<TierPushResult>();
    expect(again.blobs).toEqual({ uploaded: 0, skipped: d1.blobs.uploaded, uploadedBytes: 0 });
    expect(again.listings).toEqual({ uploaded: 0, skipped: 1 });
    expect(again.aliases.uploaded).toBe(0);
    expect(again.refs).toEqual({ uploaded: 0, skipped: 1 });

    // No models named: every cached model; only what the tier lacks goes up.
    const all = await sb.cli(['--no-autostart', 'tier', 'push'], { timeoutMs: 120_000 });
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain(`${tiny.model}: 0 blob(s) uploaded`);
    expect(all.stdout).toContain(mlx.model);
    expect(await t.getJson(`listings/${mlx.repo}/${mlx.commit}.json`)).toMatchObject({ commit: mlx.commit });
    t.close();

    const unknown = await sb.cli(['--no-autostart', 'tier', 'push', 'not-cached/model']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('not in the cache');
  });

  it('gc deletes blobs unread for the duration (last-read, else LastModified), prints them; --dry-run deletes nothing', async ({ sb }) => {
    const o = s3Origin();
    sb.writeConfig({ origins: [o, hubOrigin(sb)] });
    const now = Date.now();
    const old = crypto.randomBytes(1000);
    const recent = crypto.randomBytes(2000);
    const unread = crypto.randomBytes(3000);
    const oldTier = tierOf(o, () => now - 40 * DAY);
    await oldTier.putBlob(sha(old), old.length, () => Readable.from([old]));
    oldTier.close();
    const t = tierOf(o, () => now);
    await t.putBlob(sha(recent), recent.length, () => Readable.from([recent]));
    // A blob some other writer stored without the last-read metadata: its age is its LastModified.
    const { sdk, client } = await s3.store.client();
    await client.send(new sdk.PutObjectCommand({ Bucket: s3.store.bucket, Key: `${o.prefix}/blobs/sha256/${sha(unread)}`, Body: unread }));

    const dry = await sb.cli(['tier', 'gc', '--older-than', '30d', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const d = dry.json<TierGcResult>();
    expect(d).toMatchObject({ dryRun: true, scanned: 3, freedBytes: 1000 });
    expect(d.deleted).toEqual([{ sha256: sha(old), bytes: 1000, lastReadMs: now - 40 * DAY, lastModifiedMs: expect.any(Number), basis: 'last-read' }]);
    expect(await t.headBlob(sha(old))).not.toBeNull();
    const dryHuman = await sb.cli(['tier', 'gc', '--older-than', '30d', '--dry-run']);
    expect(dryHuman.stdout).toContain(`would delete ${sha(old)}`);

    const real = await sb.cli(['tier', 'gc', '--older-than', '30d']);
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toContain(`deleted ${sha(old)}`);
    expect(real.stdout).toMatch(/Freed 1(\.0)? ?kB|Freed 1000 ?B/);
    expect(await t.headBlob(sha(old))).toBeNull();
    expect(await t.headBlob(sha(recent))).not.toBeNull();
    expect(await t.headBlob(sha(unread))).not.toBeNull();

    // Everything stored before now is older than 0 ms: the unread blob is judged by LastModified.
    await new Promise((r) => setTimeout(r, 1100));
    const zero = (await sb.cli(['tier', 'gc', '--older-than', '0ms', '--dry-run', '--json'])).json<TierGcResult>();
    const bases = Object.fromEntries(zero.deleted.map((x) => [x.sha256, x.basis]));
    expect(bases).toEqual({ [sha(recent)]: 'last-read', [sha(unread)]: 'last-modified' });
    t.close();

    const bad = await sb.cli(['tier', 'gc', '--older-than', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--older-than');
  });

  it('a read-only tier: gc only with --dry-run, push refused, nothing written', async ({ sb }) => {
    const o = s3Origin({ mode: 'read-only' });
    sb.writeConfig({ origins: [o, hubOrigin(sb)] });
    const g = await sb.cli(['get', 'mlx-tiny', '--json']);
    expect(g.code, g.stderr).toBe(0);
    const gc = await sb.cli(['tier', 'gc', '--older-than', '1d']);
    expect(gc.code).toBe(2);
    expect(gc.stderr).toContain('read-only');
    expect((await sb.cli(['tier', 'gc', '--older-than', '1d', '--dry-run'])).code).toBe(0);
    const push = await sb.cli(['tier', 'push']);
    expect(push.code).toBe(2);
    expect(push.stderr).toContain('read-only');
    const st = (await sb.cli(['tier', 'status', '--json'])).json<TierStatusResult>();
    expect(st).toMatchObject({ reachable: true, mode: 'read-only', objects: 0 });
  });
});
