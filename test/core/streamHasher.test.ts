import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { workerHasher } from '../../src/store/streamHasher.js';

const HASHER = path.resolve(import.meta.dirname, '../../dist/store/streamHasher.js');

/** Runs `body` in a fresh node process (ESM, `workerHasher` imported); it must end by itself. */
function runAlone(body: string) {
  return spawnSync(process.execPath, ['--input-type=module', '-e', `import { workerHasher } from ${JSON.stringify(HASHER)};\n${body}`], {
    encoding: 'utf8',
    timeout: 15_000,
  });
}

describe('workerHasher', () => {
  it('hashes in the worker across backpressure waits, two at once included', async () => {
    const size = 20 << 20;
    const data = crypto.randomBytes(size);
    const h = workerHasher(size);
    const waits: Array<Promise<void>> = [];
    for (let off = 0; off < size; off += 1 << 20) {
      const r = h.update(data.subarray(off, off + (1 << 20)));
      if (r) waits.push(r);
    }
    expect(waits.length).toBeGreaterThan(1);
    await Promise.all(waits);
    const d = await h.digest();
    expect(d.sha256).toBe(crypto.createHash('sha256').update(data).digest('hex'));
    expect(d.gitSha1).toBe(crypto.createHash('sha1').update(`blob ${size}\0`).update(data).digest('hex'));
  });

  it('dispose() while an update waits for the worker ends the wait, and the idle worker does not keep the process alive', () => {
    const r = runAlone(`
      const h = workerHasher(64 << 20);
      let waiting = null;
      for (let i = 0; i < 32 && !waiting; i++) waiting = h.update(Buffer.alloc(1 << 20)) ?? null;
      if (!waiting) { console.log('no backpressure'); process.exit(2); }
      h.dispose();
      await waiting;
      console.log('resolved');
    `);
    expect(r.error).toBeUndefined();
    expect(r.stdout.trim()).toBe('resolved');
    expect(r.status).toBe(0);
  });

  it('after a digest the process ends by itself', () => {
    const r = runAlone(`
      const h = workerHasher(3);
      await h.update(Buffer.from('abc'));
      console.log((await h.digest()).sha256);
    `);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(crypto.createHash('sha256').update('abc').digest('hex'));
  });
});
