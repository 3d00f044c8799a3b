import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hashFiles } from '../../../src/maintenance/hashWorker.js';
import { figure } from '../figures.js';
import { tempRoot, timeProcess } from '../harness.js';
import { repeat, spread, timed } from '../stats.js';
import type { Benchmark } from '../types.js';

const MiB = 1 << 20;
const CHUNK = 64 * MiB;

/** Writes `chunks` × 64 MiB of random bytes to `file` (each chunk stamped so no two are equal). */
function writeFile(file: string, chunks: number, base: Buffer): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (let i = 0; i < chunks; i++) {
      base.writeUInt32BE(i ^ crypto.randomInt(2 ** 31), 0);
      fs.writeSync(fd, base);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * verify's hashing path (maintenance/hashWorker: worker threads, 4 MiB sequential reads, sha256) on one
 * 1 GiB file and on 16 × 64 MiB files, vs `openssl dgst -sha256` and `sha256sum` on the same files (page
 * cache warm for all). Single file: ours/openssl throughput. Many files: ours vs ONE openssl process.
 */
export const hash: Benchmark = {
  name: 'hash',
  describe: 'verify hashing: 1 GiB file and 16 × 64 MiB vs openssl dgst -sha256 and sha256sum',
  async run(ctx) {
    const tmp = tempRoot('hash');
    try {
      const base = crypto.randomBytes(CHUNK);
      const big = path.join(tmp.dir, 'one-gib.bin');
      writeFile(big, 16, base);
      const many = Array.from({ length: 16 }, (_, i) => path.join(tmp.dir, `part-${String(i).padStart(2, '0')}.bin`));
      for (const f of many) writeFile(f, 1, base);
      const reps = Math.min(ctx.reps, 3);

      const ours1: number[] = [];
      const ossl1: number[] = [];
      const sum1: number[] = [];
      const oursN: number[] = [];
      const osslN: number[] = [];
      const sumN: number[] = [];
      await repeat(
        reps,
        async (i) => {
          const rec = (arr: number[], ms: number) => i >= 0 && arr.push(ms);
          rec(ossl1, await timeProcess('openssl', ['dgst', '-sha256', big]));
          rec(ours1, await timed(() => hashFiles([{ path: big }])));
          // sha256sum (no SHA-NI here) takes ~7 s per GiB: once, not per repetition.
          if (i === 0) rec(sum1, await timeProcess('sha256sum', [big]));
          rec(osslN, await timeProcess('openssl', ['dgst', '-sha256', ...many]));
          rec(oursN, await timed(() => hashFiles(many.map((p) => ({ path: p })))));
          if (i === 0) rec(sumN, await timeProcess('sha256sum', many));
        },
        1,
      );
      const gbps = (ms: number[]) => spread(ms.map((m) => (1 << 30) / 1e9 / (m / 1000)));
      const b = 'hash';
      const single = gbps(ours1);
      const singleRef = gbps(ossl1);
      const multi = gbps(oursN);
      const multiRef = gbps(osslN);
      return [
        figure(b, '1 GiB file', 'GB/s', single, {
          refSpread: singleRef,
          refName: 'openssl dgst -sha256',
          target: '>= 0.9× openssl',
          pass: single.median / singleRef.median >= 0.9,
          note: 'hashFiles() in-process incl. worker start-up',
        }),
        figure(b, '1 GiB file vs sha256sum', 'GB/s', single, { refSpread: gbps(sum1), refName: 'sha256sum' }),
        figure(b, '16 × 64 MiB', 'GB/s', multi, {
          refSpread: multiRef,
          refName: 'one openssl process',
          target: '> 1.6× one openssl (2 cores)',
          pass: multi.median / multiRef.median > 1.6,
          note: `${os.availableParallelism()} hash worker threads (os.availableParallelism())`,
        }),
        figure(b, '16 × 64 MiB vs sha256sum', 'GB/s', multi, { refSpread: gbps(sumN), refName: 'sha256sum' }),
      ];
    } finally {
      tmp.dispose();
    }
  },
};
