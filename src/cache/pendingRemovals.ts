import fs from 'node:fs';
import type { Log } from '../logger.js';

/** Awaited before an evicted model's files are removed (tests pause removals with it). */
export type RemovalGate = (key: string) => Promise<void>;

export interface PendingRemovals {
  /** Bytes of evicted blobs moved aside whose files are not yet removed. */
  readonly bytes: number;
  readonly count: number;
  /**
   * Removes the tmp/ entry `trash` (registered in `liveTemps` until it is gone) off the event loop. A
   * failed removal leaves the entry to the next tmp/ sweep. Returns when the removal has ended (never
   * rejects).
   */
  start(key: string, trash: string, bytes: number): Promise<void>;
  /** Resolves when every removal started so far has ended. */
  settled(): Promise<void>;
  /**
   * Finishes every pending removal synchronously (close: the work left is bounded by what is pending).
   * Their async completions then do nothing.
   */
  finishNow(): void;
}

interface Pending {
  key: string;
  trash: string;
  bytes: number;
  ended: boolean;
  done: Promise<void>;
}

/**
 * The evictions whose files are still being removed. Invariant: every pending entry is a tmp/ entry
 * nothing in the index names, kept in `liveTemps` (so no sweep races it) until it is gone: a crash while
 * it is pending leaves only tmp/ debris, which start-up sweeps.
 */
export function createPendingRemovals(opts: {
  liveTemps: Set<string>;
  log: Log;
  gate?: RemovalGate | undefined;
}): PendingRemovals {
  const { liveTemps, log } = opts;
  const pending = new Set<Pending>();
  let bytes = 0;

  function end(p: Pending, ok: boolean, error?: Error): void {
    if (p.ended) return;
    p.ended = true;
    pending.delete(p);
    bytes -= p.bytes;
    liveTemps.delete(p.trash);
    if (!ok) log.warn({ model: p.key, dir: p.trash, error: error?.message }, 'could not remove an evicted model; a tmp/ sweep removes it');
  }

  async function run(p: Pending): Promise<void> {
    try {
      if (opts.gate) await opts.gate(p.key);
      if (p.ended) return;
      await fs.promises.rm(p.trash, { recursive: true, force: true });
    } catch (err) {
      end(p, false, err as Error);
      return;
    }
    end(p, true);
  }

  return {
    get bytes() {
      return bytes;
    },
    get count() {
      return pending.size;
    },
    start(key, trash, size) {
      liveTemps.add(trash);
      const p: Pending = { key, trash, bytes: size, ended: false, done: Promise.resolve() };
      pending.add(p);
      bytes += size;
      p.done = run(p);
      return p.done;
    },
    async settled() {
      while (pending.size > 0) await Promise.all([...pending].map((p) => p.done));
    },
    finishNow() {
      for (const p of [...pending]) {
        try {
          fs.rmSync(p.trash, { recursive: true, force: true });
          end(p, true);
        } catch (err) {
          end(p, false, err as Error);
        }
      }
    },
  };
}
