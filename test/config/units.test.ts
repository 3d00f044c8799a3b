import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DURATION_PATTERN, SIZE_PATTERN, formatBytes, formatMB, parseDuration, parseSize } from '../../src/config/units.js';

describe('parseSize', () => {
  it.each([
    ['5GB', 5e9],
    ['500MB', 500e6],
    ['750MB', 750e6],
    ['750 MB', 750e6],
    ['1.5GB', 1.5e9],
    ['5gb', 5e9],
    ['2kB', 2000],
    ['2KB', 2000],
    ['1TB', 1e12],
    ['4GiB', 4 * 1024 ** 3],
    ['4gib', 4 * 1024 ** 3],
    ['1KiB', 1024],
    ['1MiB', 1024 ** 2],
    ['1TiB', 1024 ** 4],
    ['0.5KiB', 512],
    ['100B', 100],
    ['1048576', 1048576],
    [1048576, 1048576],
    [0, 0],
    ['0', 0],
  ] as const)('%j -> %d bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each(['lots', '', '5 G', '5K', '-5GB', '5GB ', ' 5GB', '.5GB', '5.GB', '5Gb2', '5 iB', 'GB', '5PB'])(
    'rejects %j naming the value',
    (input) => {
      expect(() => parseSize(input)).toThrow(`expected a size like "5GB", got ${JSON.stringify(input)}`);
    },
  );

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60])('rejects the number %d', (n) => {
    expect(() => parseSize(n)).toThrow(/expected a size like "5GB"/);
  });

  it('rejects a size past Number.MAX_SAFE_INTEGER', () => {
    expect(() => parseSize('99999999999TB')).toThrow('"99999999999TB" is too large');
  });

  it('agrees with its own pattern (the JSON Schema uses the same one) on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (s) => {
        let ok = true;
        try {
          parseSize(s);
        } catch {
          ok = false;
        }
        expect(ok).toBe(new RegExp(SIZE_PATTERN.source, 'u').test(s));
      }),
    );
  });

  it('round-trips whole byte counts written as digits', () => {
    fc.assert(
      fc.property(fc.nat(), (n) => {
        expect(parseSize(String(n))).toBe(n);
      }),
    );
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['30m', 1_800_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['1.5h', 5_400_000],
    ['1.5s', 1500],
    ['30 s', 30_000],
    ['250', 250],
    [250, 250],
    [0, 0],
  ] as const)('%j -> %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['soon', '', '30S', '30M', '7days', '-1s', '1y', 's'])('rejects %j naming the value', (input) => {
    expect(() => parseDuration(input)).toThrow(`expected a duration like "30s", got ${JSON.stringify(input)}`);
  });

  it.each([-1, 2.5, Number.NaN])('rejects the number %d', (n) => {
    expect(() => parseDuration(n)).toThrow(/expected a duration like "30s"/);
  });

  it('agrees with its own pattern on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), (s) => {
        let ok = true;
        try {
          parseDuration(s);
        } catch {
          ok = false;
        }
        expect(ok).toBe(new RegExp(DURATION_PATTERN.source, 'u').test(s));
      }),
    );
  });
});

describe('formatMB', () => {
  it.each([
    [0, '0'],
    [400_000, '0'],
    [1_234_567, '1'],
    [12_345_678, '12'],
    [5e9, '5000'],
    [5_120_500_000, '5121'],
  ])('%d bytes -> %s (always a whole number: scripts compare it with shell integer tests)', (bytes, text) => {
    expect(formatMB(bytes)).toBe(text);
    expect(text).toMatch(/^\d+$/);
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [512, '512 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [1500, '1.5 kB'],
    [999_999, '1.0 MB'],
    [1_500_000, '1.5 MB'],
    [75_000_000, '75.0 MB'],
    [2_300_000_000, '2.30 GB'],
    [5e9, '5.00 GB'],
    [1.2e12, '1.20 TB'],
    [-1500, '-1.5 kB'],
  ])('%d -> %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('never prints 1000 or more of a unit below TB', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999e9 }), (n) => {
        const [num] = formatBytes(n).split(' ');
        expect(Number(num)).toBeLessThan(1000);
      }),
    );
  });
});
