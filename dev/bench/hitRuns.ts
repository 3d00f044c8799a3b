import { runChild } from './harness.js';
import { percentile } from './stats.js';

export interface HitRun {
  /** Latencies in ms, per connection, in order. */
  perConnection: number[][];
  elapsedMs: number;
}

export interface HitClientArgs {
  socketPath: string;
  model: string;
  connections: number;
  gets?: number;
  durationMs?: number;
  warmup?: number;
  leased?: boolean;
}

/**
 * Runs `processes` hitClient children at once (connections split between them), started together.
 * Returns all their connections' latencies (ms).
 */
export async function runHitClients(distDir: string, args: HitClientArgs, processes = 1): Promise<HitRun> {
  const p = Math.max(1, Math.min(processes, args.connections));
  const startAt = Date.now() + 400 + 60 * p;
  const shares = Array.from({ length: p }, (_, i) => Math.floor(args.connections / p) + (i < args.connections % p ? 1 : 0));
  const runs = await Promise.all(
    shares.map((connections) =>
      runChild<{ perConnection: number[][]; elapsedMs: number }>('hitClient', { ...args, connections, startAt }),
    ),
  );
  return {
    perConnection: runs.flatMap((r) => r.perConnection.map((l) => l.map((us) => us / 1000))),
    elapsedMs: Math.max(...runs.map((r) => r.elapsedMs)),
  };
}

export function all(run: HitRun): number[] {
  return run.perConnection.flat();
}

export function p(run: HitRun, q: number): number {
  return percentile(all(run), q);
}
