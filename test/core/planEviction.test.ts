import { describe, expect, it } from 'vitest';
import { planEviction, type PlanInput, type PlanModel } from '../../src/lru/planEviction.js';
import { createReservations } from '../../src/lru/reservations.js';

const m = (id: number, size: number, lastAccess: number, extra: Partial<PlanModel> = {}): PlanModel => ({
  id,
  size,
  lastAccess,
  pinned: false,
  leased: false,
  ...extra,
});

const base = { reservedBytes: 0, limitBytes: 100, lowWatermark: 1 } as const;

describe('planEviction', () => {
  const cases: Array<{ name: string; input: PlanInput; evict: number[]; fits: boolean; reason?: string; freed?: number }> = [
    {
      name: 'nothing when everything fits',
      input: { ...base, models: [m(1, 50, 1)], usedBytes: 50, incomingBytes: 50 },
      evict: [],
      fits: true,
      freed: 0,
    },
    {
      name: 'least recently used first',
      input: { ...base, models: [m(1, 30, 30), m(2, 30, 10), m(3, 30, 20)], usedBytes: 90, incomingBytes: 20 },
      evict: [2],
      fits: true,
      freed: 30,
    },
    {
      name: 'ties on last access break by id ascending',
      input: { ...base, models: [m(9, 30, 5), m(4, 30, 5), m(7, 30, 5)], usedBytes: 90, incomingBytes: 20 },
      evict: [4],
      fits: true,
    },
    {
      name: 'skips pinned',
      input: { ...base, models: [m(1, 30, 1, { pinned: true }), m(2, 30, 2), m(3, 30, 3)], usedBytes: 90, incomingBytes: 20 },
      evict: [2],
      fits: true,
    },
    {
      name: 'skips leased',
      input: { ...base, models: [m(1, 30, 1, { leased: true }), m(2, 30, 2), m(3, 30, 3)], usedBytes: 90, incomingBytes: 20 },
      evict: [2],
      fits: true,
    },
    {
      name: 'evicts down to the low watermark',
      input: {
        ...base,
        lowWatermark: 0.5,
        models: [m(1, 20, 1), m(2, 20, 2), m(3, 20, 3), m(4, 20, 4)],
        usedBytes: 80,
        incomingBytes: 30,
      },
      // 110 → needs <= 50: evict 1 (90), 2 (70), 3 (50)
      evict: [1, 2, 3],
      fits: true,
      freed: 60,
    },
    {
      name: 'fits at the limit even when the watermark cannot be reached',
      input: {
        ...base,
        lowWatermark: 0.5,
        models: [m(1, 20, 1), m(2, 60, 2, { pinned: true })],
        usedBytes: 80,
        incomingBytes: 30,
      },
      evict: [1],
      fits: true,
    },
    {
      name: 'everything pinned: nothing evicted',
      input: { ...base, models: [m(1, 40, 1, { pinned: true }), m(2, 40, 2, { pinned: true })], usedBytes: 80, incomingBytes: 30 },
      evict: [],
      fits: false,
      reason: 'in-use',
    },
    {
      name: 'cannot fit even after evicting all candidates: nothing evicted',
      input: { ...base, models: [m(1, 10, 1), m(2, 70, 2, { leased: true })], usedBytes: 80, incomingBytes: 40 },
      evict: [],
      fits: false,
      reason: 'in-use',
    },
    {
      name: 'a single model larger than the limit: too-large, nothing evicted',
      input: { ...base, models: [m(1, 10, 1), m(2, 10, 2)], usedBytes: 20, incomingBytes: 101 },
      evict: [],
      fits: false,
      reason: 'too-large',
    },
    {
      name: 'reservations count against the limit',
      input: { ...base, reservedBytes: 40, models: [m(1, 30, 1), m(2, 30, 2)], usedBytes: 60, incomingBytes: 10 },
      evict: [1],
      fits: true,
    },
    {
      name: 'empty cache, incoming exactly the limit',
      input: { ...base, models: [], usedBytes: 0, incomingBytes: 100 },
      evict: [],
      fits: true,
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const plan = planEviction(c.input);
      expect(plan.evict).toEqual(c.evict);
      expect(plan.fits).toBe(c.fits);
      if (c.reason) expect(plan.reason).toBe(c.reason);
      else expect(plan.reason).toBeUndefined();
      if (c.freed !== undefined) expect(plan.freedBytes).toBe(c.freed);
    });
  }

  it('handles 10,000 models and returns them oldest first', () => {
    const models: PlanModel[] = [];
    for (let i = 0; i < 10_000; i++) models.push(m(i + 1, 1000, (i * 7919) % 10_000, { pinned: i % 10 === 0 }));
    const plan = planEviction({ models, usedBytes: 10_000_000, reservedBytes: 0, incomingBytes: 1_000_000, limitBytes: 10_000_000, lowWatermark: 0.9 });
    expect(plan.fits).toBe(true);
    expect(plan.evict.length).toBe(2000);
    const byId = new Map(models.map((x) => [x.id, x]));
    const times = plan.evict.map((id) => byId.get(id)!.lastAccess);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(plan.evict.some((id) => byId.get(id)!.pinned)).toBe(false);
  });
});

describe('reservations', () => {
  it('tracks the total and releases each reservation once', () => {
    const r = createReservations();
    const a = r.reserve(10);
    const b = r.reserve(5);
    expect(r.total).toBe(15);
    expect(r.unreserve(a)).toBe(true);
    expect(r.unreserve(a)).toBe(false);
    expect(r.total).toBe(5);
    r.unreserve(b);
    expect(r.total).toBe(0);
    expect(r.count).toBe(0);
    expect(() => r.reserve(-1)).toThrow(RangeError);
  });
});
