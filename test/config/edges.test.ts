import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { MAX_FRAME_LIMIT_BYTES } from '../../src/config/schema.js';
import { CacheError, ErrorCodes } from '../../src/errors.js';

/** Config edges a hostile or careless file can reach: an unbounded frame limit and prototype-named keys. */

const FILE = '/cfg/cache-config.json';
const parse = (value: unknown) => parseConfigText(JSON.stringify(value), FILE, { env: {}, home: '/home/u', platform: 'linux', cwd: '/cfg' });
/** Raw text, so that `__proto__` stays an own key as JSON.parse makes it. */
const parseText = (text: string) => parseConfigText(text, FILE, { env: {}, home: '/home/u', platform: 'linux', cwd: '/cfg' });

function configError(fn: () => unknown): CacheError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CacheError);
    expect((err as CacheError).code).toBe(ErrorCodes.CONFIG);
    return err as CacheError;
  }
  throw new Error('expected a config error');
}

describe('frameLimit', () => {
  it('accepts values up to 64 MiB', () => {
    expect(MAX_FRAME_LIMIT_BYTES).toBe(64 * 1024 * 1024);
    expect(parse({ frameLimit: '64MiB' }).frameLimitBytes).toBe(MAX_FRAME_LIMIT_BYTES);
    expect(parse({ frameLimit: MAX_FRAME_LIMIT_BYTES }).frameLimitBytes).toBe(MAX_FRAME_LIMIT_BYTES);
  });

  it.each([['1TB'], ['65MiB'], [MAX_FRAME_LIMIT_BYTES + 1], [Number.MAX_SAFE_INTEGER]])('refuses %j with an error naming the field and the bound', (v) => {
    const err = configError(() => parse({ frameLimit: v }));
    expect(err.message).toContain(FILE);
    expect(err.message).toContain('frameLimit');
    expect(err.message).toMatch(/at most .*67108864 bytes/);
  });
});

describe('reserved record keys', () => {
  for (const key of ['__proto__', 'constructor', 'prototype']) {
    it(`models: ${JSON.stringify(key)} is refused with an error naming the key`, () => {
      const err = configError(() => parseText(`{"models": {"ok": "a/b", ${JSON.stringify(key)}: "org/repo"}}`));
      expect(err.message).toContain('models');
      expect(err.message).toContain(key);
      expect(err.message).toContain('reserved');
    });

    it(`benchmark.suites: ${JSON.stringify(key)} is refused`, () => {
      const err = configError(() => parseText(`{"benchmark": {"suites": {${JSON.stringify(key)}: {"command": "true"}}}}`));
      expect(err.message).toContain('benchmark.suites');
      expect(err.message).toContain(key);
    });

    it(`benchmark suite env: ${JSON.stringify(key)} is refused`, () => {
      const err = configError(() => parseText(`{"benchmark": {"suites": {"s": {"command": "true", "env": {${JSON.stringify(key)}: "x"}}}}}`));
      expect(err.message).toContain('env');
      expect(err.message).toContain(key);
    });
  }

  it('ordinary aliases still load, including names that merely contain a reserved word', () => {
    const c = parse({ models: { 'constructor-tiny': 'org/a', proto: 'org/b' } });
    expect(c.models).toEqual({ 'constructor-tiny': 'org/a', proto: 'org/b' });
  });
});
