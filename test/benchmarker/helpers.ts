import fs from 'node:fs';
import path from 'node:path';
import type { BenchSuiteConfig, CacheRunPort, RunCacheStats } from '../../src/benchmarker/types.js';

export const NODE = JSON.stringify(process.execPath);

export function suite(command: string, o: Partial<BenchSuiteConfig> = {}): BenchSuiteConfig {
  return { command, runs: 1, targetMs: null, cwd: o.cwd ?? process.cwd(), env: {}, ...o };
}

/** Deterministic report ids: 2025-03-04 10:00:00 local time plus one minute per call. */
export function stepClock(): () => number {
  let n = 0;
  const start = new Date(2025, 2, 4, 10, 0, 0).getTime();
  return () => start + 60_000 * n++;
}

export const MODEL_BYTES = 75_000_000;

/**
 * A cache port that behaves like the daemon's run accounting, in-process: suites append `hit` or
 * `miss` lines to `<dir>/events-<VOCORIZE_CACHE_RUN>`, and runStats(id) counts exactly that run's lines.
 */
export class RecordingPort implements CacheRunPort {
  readonly calls: string[] = [];
  private next = 0;
  constructor(private readonly dir: string) {}

  async startRun(label: string): Promise<string> {
    const id = `run-test-${++this.next}`;
    this.calls.push(`start ${id} ${label}`);
    return id;
  }
  async endRun(id: string): Promise<void> {
    this.calls.push(`end ${id}`);
  }
  async runStats(id: string): Promise<RunCacheStats | null> {
    this.calls.push(`stats ${id}`);
    const file = path.join(this.dir, `events-${id}`);
    if (!fs.existsSync(file)) return null;
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
    const hits = lines.filter((l) => l === 'hit').length;
    const misses = lines.filter((l) => l === 'miss').length;
    return {
      hits,
      misses,
      errors: 0,
      hitRate: hits + misses > 0 ? hits / (hits + misses) : null,
      bytesDownloaded: misses * MODEL_BYTES,
      bytesAvoided: hits * MODEL_BYTES,
      timeSavedMs: hits * 1500,
      missedModels: misses > 0 ? ['whisper-tiny'] : [],
    };
  }
}

/** A shell snippet that "gets" the model: a miss the first time (creates the marker), a hit after. */
export function getModelCommand(dir: string): string {
  const marker = path.join(dir, 'model-cached');
  return `if [ -f '${marker}' ]; then echo hit; else touch '${marker}'; echo miss; fi >> "${dir}/events-$VOCORIZE_CACHE_RUN"; echo "$VOCORIZE_CACHE_RUN" >> "${dir}/seen-runs"`;
}
