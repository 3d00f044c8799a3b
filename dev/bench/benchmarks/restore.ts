import fs from 'node:fs';
import path from 'node:path';
import { whisperKitRepo } from '../../fixtures/generate.js';
import { connect } from '../../../src/ipc/client.js';
import { figure } from '../figures.js';
import { BASE_REF, openSandbox } from '../fixture.js';
import { timeProcess } from '../harness.js';
import { repeat, spread, timed } from '../stats.js';
import type { Benchmark } from '../types.js';

/**
 * `restore` of a cached ~1 GB, 17-file model into a fresh folder over the daemon's socket (clone where the
 * filesystem can, else hard link; same filesystem here), vs `cp -r` of the snapshot tree to a fresh folder.
 */
export const restore: Benchmark = {
  name: 'restore',
  describe: 'restore of a cached ~1 GB model into a fresh folder vs cp -r',
  async run(ctx) {
    const sb = await openSandbox(ctx.distDir, { repo: whisperKitRepo({ weightScale: 7 }), warm: [BASE_REF], prefix: 'restore' });
    try {
      const c = await connect({ socketPath: sb.socketPath });
      const hit = await c.call('get', { model: BASE_REF, lease: false, client: 'bench' });
      let n = 0;
      const fresh = () => path.join(sb.root, `dest-${n++}`);
      const ours: number[] = [];
      const cp: number[] = [];
      let method = '';
      await repeat(
        ctx.reps,
        async (i) => {
          const a = fresh();
          const ms = await timed(async () => {
            const r = await c.call('restore', { model: BASE_REF, to: a, layout: 'plain' });
            method = String(r.method);
          });
          const b = fresh();
          const cpMs = await timeProcess('cp', ['-r', hit.path, b]);
          fs.rmSync(a, { recursive: true, force: true });
          fs.rmSync(b, { recursive: true, force: true });
          if (i >= 0) {
            ours.push(ms);
            cp.push(cpMs);
          }
        },
        1,
      );
      await c.close();
      const o = spread(ours);
      return [
        figure('restore', `restore ${(hit.bytes / 1e9).toFixed(2)} GB, ${hit.files} files`, 'ms', o, {
          refSpread: spread(cp),
          refName: 'cp -r',
          target: '<= 50 ms',
          pass: o.median <= 50,
          ratioMeaning: 'ours/cp time (lower is better)',
          note: `method: ${method}; timed as one socket request from the client`,
        }),
      ];
    } finally {
      await sb.dispose();
    }
  },
};
