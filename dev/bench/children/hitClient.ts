import { connect } from '../../../src/ipc/client.js';

/**
 * Child process: opens `connections` connections to the daemon, waits until `startAt` (epoch ms, so all
 * clients start together), and on each connection sends sequential `get`s of `model` (closed loop).
 * Stops after `gets` per connection, or at `startAt + durationMs`. Prints one JSON line:
 * { perConnection: number[][] (latencies in µs, in order), elapsedMs }.
 */
interface Args {
  socketPath: string;
  model: string;
  connections: number;
  gets?: number;
  durationMs?: number;
  warmup?: number;
  startAt?: number;
  /** Take a lease and release it after each get (release not timed). Default: lease false. */
  leased?: boolean;
}

const a = JSON.parse(process.argv[2]!) as Args;
const clients = await Promise.all(Array.from({ length: a.connections }, () => connect({ socketPath: a.socketPath })));
const get = async (c: (typeof clients)[number]) => {
  const r = await c.call('get', { model: a.model, client: 'bench', lease: a.leased === true });
  if (!r.hit) throw new Error(`expected a hit for ${a.model}`);
  return r;
};
for (const c of clients) for (let i = 0; i < (a.warmup ?? 200); i++) {
  const r = await get(c);
  if (r.lease) await c.call('release', { lease: r.lease.id });
}
if (a.startAt) await new Promise((r) => setTimeout(r, Math.max(0, a.startAt! - Date.now())));
const t0 = performance.now();
const stopAt = a.durationMs ? t0 + a.durationMs : Infinity;
const perConnection = await Promise.all(
  clients.map(async (c) => {
    const lat: number[] = [];
    const n = a.gets ?? Infinity;
    while (lat.length < n) {
      const s = performance.now();
      if (s >= stopAt) break;
      const r = await get(c);
      lat.push(Math.round((performance.now() - s) * 1000));
      if (r.lease) await c.call('release', { lease: r.lease.id });
    }
    return lat;
  }),
);
const elapsedMs = performance.now() - t0;
await Promise.all(clients.map((c) => c.close()));
process.stdout.write(`${JSON.stringify({ perConnection, elapsedMs })}\n`);
