import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCache } from '../../src/cache/openCache.js';
import type { SnapshotFile } from '../../src/cache/types.js';

const seeded = new Map<number, Promise<{ cacheDir: string; ms: number }>>();

/**
 * One seeded cache of `count` models per process, shared by evict-plan and startup (seeding takes ~30 s on
 * 2 cores); removed when the process exits. Users must not change it.
 */
export function sharedSeed(count: number): Promise<{ cacheDir: string; ms: number }> {
  let p = seeded.get(count);
  if (!p) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-bench-seed-'));
    fs.chmodSync(root, 0o700);
    process.once('exit', () => fs.rmSync(root, { recursive: true, force: true }));
    const cacheDir = path.join(root, 'cache');
    p = seedIndex(cacheDir, count).then((ms) => ({ cacheDir, ms }));
    seeded.set(count, p);
  }
  return p;
}

/**
 * Fills a fresh cache at `cacheDir` with `count` small models through the cache library itself
 * (openCache → openWriter/commit → admit), so the index, blobs and snapshot trees are exactly what the
 * daemon would have made. Each model has 2 files: one shared config blob and one blob of its own.
 * Access times are spread over a month. Returns the elapsed ms.
 */
export async function seedIndex(cacheDir: string, count: number): Promise<number> {
  const t0 = performance.now();
  let now = Date.now() - 30 * 86_400_000;
  const cache = openCache({ cacheDir, limitBytes: 1e15, lowWatermark: 0.9, clock: () => now });
  try {
    const put = async (bytes: Buffer): Promise<SnapshotFile> => {
      const w = await cache.openWriter({ size: bytes.length });
      await w.write(bytes);
      const ref = await w.commit();
      return { path: '', blob: ref.sha256, size: ref.size, gitSha1: ref.gitSha1 };
    };
    const shared = await put(Buffer.from('{"model_type":"whisper"}\n'));
    for (let i = 0; i < count; i++) {
      const own = await put(Buffer.from(`weights of model ${i}\n${'x'.repeat(i % 997)}`));
      const commit = crypto.createHash('sha1').update(String(i)).digest('hex');
      now += 250_000;
      cache.admit({
        repo: `bench-org/model-${String(i).padStart(5, '0')}`,
        subfolder: null,
        commit,
        origin: 'bench',
        fetchMs: 1000,
        files: [
          { ...shared, path: 'config.json' },
          { ...own, path: 'weights.bin' },
        ],
      });
    }
    cache.flush();
  } finally {
    cache.close();
  }
  return performance.now() - t0;
}
