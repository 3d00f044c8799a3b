import { describe, expect, it } from 'vitest';
import { createLeases } from '../../src/service/leases.js';

describe('leases.list', () => {
  it('lists unexpired leases oldest first, with their holder and times; copies change nothing', () => {
    let now = 1000;
    const leases = createLeases({ ttlMs: 100, clock: () => now });
    const a = leases.acquire(1, 7, 'suite-a');
    now = 1050;
    const b = leases.acquire(2, null);
    expect(leases.list()).toEqual([
      { id: a.id, modelId: 1, connId: 7, client: 'suite-a', takenAt: 1000, expiresAt: 1100 },
      { id: b.id, modelId: 2, connId: null, client: null, takenAt: 1050, expiresAt: 1150 },
    ]);
    leases.list()[0]!.expiresAt = 0;
    expect(leases.isLeased(1)).toBe(true);
    now = 1100;
    expect(leases.list().map((l) => l.id)).toEqual([b.id]);
    leases.release(b.id);
    expect(leases.list()).toEqual([]);
  });
});
