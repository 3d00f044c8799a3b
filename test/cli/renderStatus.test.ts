import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../src/cli/commands/status.js';
import type { ResultOf } from '../../src/ipc/protocol.js';

const base: ResultOf<'status'> = {
  daemon: { running: true, pid: 42, version: '0.1.0', socket: '/tmp/s.sock', uptimeMs: 65_000 },
  cacheDir: '/tmp/cache',
  usedBytes: 1_234_000_000,
  reservedBytes: 0,
  limitBytes: 5e9,
  lowWatermark: 0.9,
  models: 3,
  blobs: 40,
  pinned: 0,
  damaged: 0,
  leases: 0,
  downloadsInFlight: 0,
  offline: false,
  origins: ['huggingface https://huggingface.co'],
  hubUrl: null,
  hubSecretFile: null,
  hits: 2,
  misses: 1,
  errors: 0,
  hitRate: 2 / 3,
  lastVerify: null,
};

/** What `grep 'Hit Rate' | grep -o '[0-9]*'` yields, as the old callers read it. */
function grepHitRate(page: string): string[] {
  const line = page.split('\n').filter((l) => l.includes('Hit Rate'));
  return line.flatMap((l) => l.match(/[0-9]+/g) ?? []);
}

describe('the status page', () => {
  it('prints the hit rate as a whole number, the one number on its line', () => {
    const page = renderStatus(base);
    expect(page).toMatch(/^Hit Rate: 67%$/m);
    expect(grepHitRate(page)).toEqual(['67']);
  });

  it('says when there were no requests yet, still as a number the old scripts can read', () => {
    const page = renderStatus({ ...base, hits: 0, misses: 0, hitRate: null });
    expect(page).toMatch(/^Hit Rate: 0% \(no requests yet\)$/m);
    expect(grepHitRate(page)).toEqual(['0']);
  });

  it('keeps Total Cache Size as the first <N>MB on the page', () => {
    const page = renderStatus(base);
    expect(page.match(/\d+MB/)?.[0]).toBe('1234MB');
    expect(page.split('\n')[1]!.split(/\s+/)[3]).toBe('1234MB');
  });
});
