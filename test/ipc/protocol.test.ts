import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMITS, METHODS, parseRequest, PROTOCOL_VERSION, type ParsedRequest } from '../../src/ipc/protocol.js';

function expectError(r: ParsedRequest, code: string, field?: RegExp): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error.code).toBe(code);
  expect(r.error.retryable).toBe(false);
  expect(typeof r.error.message).toBe('string');
  if (field) expect(r.error.message).toMatch(field);
}

describe('parseRequest', () => {
  it('accepts a well-formed request and passes params through unchanged', () => {
    const r = parseRequest({ id: 7, method: 'get', params: { model: 'tiny', client: 'x', lease: false, progress: true } });
    expect(r).toEqual({ ok: true, id: 7, method: 'get', params: { model: 'tiny', client: 'x', lease: false, progress: true } });
    expect(PROTOCOL_VERSION).toBe(1);
  });

  it('treats omitted params as {} and accepts string ids', () => {
    expect(parseRequest({ id: 'a-1', method: 'hello' })).toEqual({ ok: true, id: 'a-1', method: 'hello', params: {} });
    expect(parseRequest({ id: 1, method: 'get' }).ok).toBe(false);
  });

  it('lets an unsafe-looking model reference through (the daemon judges references)', () => {
    const r = parseRequest({ id: 1, method: 'get', params: { model: '../../etc/passwd' } });
    expect(r.ok && r.method === 'get' && r.params.model).toBe('../../etc/passwd');
  });

  it('refuses non-objects with E_BAD_FRAME and id null', () => {
    for (const raw of [null, 5, 'x', [], [1, 2], true, undefined]) {
      const r = parseRequest(raw);
      expectError(r, 'E_BAD_FRAME');
      expect(r.id).toBeNull();
    }
  });

  it('refuses bad ids with id null', () => {
    for (const id of [undefined, null, 1.5, -0.5, 2 ** 60, 'x'.repeat(LIMITS.id + 1), {}, []]) {
      const r = parseRequest({ id, method: 'hello', params: {} });
      expectError(r, 'E_BAD_REQUEST', /id/);
      expect(r.id).toBeNull();
    }
    expect(parseRequest({ id: 'x'.repeat(LIMITS.id), method: 'hello' }).ok).toBe(true);
    expect(parseRequest({ id: Number.MAX_SAFE_INTEGER, method: 'hello' }).ok).toBe(true);
  });

  it('names unknown methods, including prototype names', () => {
    for (const method of ['nope', 'constructor', '__proto__', 'toString', 'hasOwnProperty', '']) {
      const r = parseRequest({ id: 3, method, params: {} });
      expectError(r, 'E_UNKNOWN_METHOD');
      expect(r.id).toBe(3);
    }
    expectError(parseRequest({ id: 3, method: 42 }), 'E_BAD_REQUEST', /method/);
  });

  it('names the field for wrong param types, unknown fields and bounds', () => {
    expectError(parseRequest({ id: 1, method: 'get', params: { model: 5 } }), 'E_BAD_REQUEST', /params\.model/);
    expectError(parseRequest({ id: 1, method: 'get', params: { model: 'a', lease: 'yes' } }), 'E_BAD_REQUEST', /params\.lease/);
    expectError(parseRequest({ id: 1, method: 'get', params: { model: 'a', evil: 1 } }), 'E_BAD_REQUEST', /evil/);
    expectError(
      parseRequest({ id: 1, method: 'get', params: { model: 'm'.repeat(LIMITS.modelRef + 1) } }),
      'E_BAD_REQUEST',
      /params\.model/,
    );
    expect(parseRequest({ id: 1, method: 'get', params: { model: 'm'.repeat(LIMITS.modelRef) } }).ok).toBe(true);
    expectError(
      parseRequest({ id: 1, method: 'warm', params: { models: Array.from({ length: LIMITS.items + 1 }, () => 'a') } }),
      'E_BAD_REQUEST',
      /params\.models/,
    );
    expectError(parseRequest({ id: 1, method: 'warm', params: { models: ['a', 3] } }), 'E_BAD_REQUEST', /params\.models\[1\]/);
    expectError(parseRequest({ id: 1, method: 'restore', params: { model: 'a', to: 'relative/dir' } }), 'E_BAD_REQUEST', /params\.to/);
    expectError(parseRequest({ id: 1, method: 'restore', params: { model: 'a', to: '/x', layout: 'zip' } }), 'E_BAD_REQUEST', /layout/);
    expectError(parseRequest({ id: 1, method: 'clean', params: { olderThanMs: -1 } }), 'E_BAD_REQUEST', /olderThanMs/);
    expectError(parseRequest({ id: 1, method: 'list', params: [] }), 'E_BAD_REQUEST', /params/);
    expectError(parseRequest({ id: 1, method: 'hello', params: {}, extra: true }), 'E_BAD_REQUEST', /extra/);
  });

  it('refuses params that try prototype tricks', () => {
    const raw = JSON.parse('{"id":1,"method":"get","params":{"model":"a","__proto__":{"lease":false}}}') as unknown;
    expectError(parseRequest(raw), 'E_BAD_REQUEST', /__proto__/);
    expect(({} as Record<string, unknown>).lease).toBeUndefined();
  });

  it('survives deep nesting and hostile objects without throwing', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    expectError(parseRequest({ id: 1, method: 'get', params: { model: deep } }), 'E_BAD_REQUEST', /params\.model/);
    expectError(parseRequest({ id: 1, method: 'get', params: deep }), 'E_BAD_REQUEST');
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
        ownKeys() {
          throw new Error('boom');
        },
      },
    );
    const r = parseRequest(hostile);
    expect(r.ok).toBe(false);
  });

  it('has a schema for every method name the daemon expects', () => {
    expect([...METHODS].sort()).toEqual(
      [
        'hello', 'get', 'release', 'leases', 'warm', 'list', 'status', 'pin', 'unpin', 'evict', 'verify', 'clean', 'optimize',
        'restore', 'import', 'stats', 'metrics', 'report', 'runStart', 'runEnd', 'config', 'shutdown',
        'tierStatus', 'tierGc', 'tierPush',
      ].sort(),
    );
  });

  it('property: never throws and always returns a well-formed result for arbitrary JSON', () => {
    const method = fc.oneof(fc.constantFrom(...METHODS), fc.string());
    const request = fc.record(
      { id: fc.oneof(fc.integer(), fc.string(), fc.double(), fc.constant(null)), method, params: fc.jsonValue() },
      { requiredKeys: [] },
    );
    const wellFormed = (r: ParsedRequest): boolean => {
      if (r.ok) {
        return (typeof r.id === 'string' || Number.isSafeInteger(r.id)) && METHODS.includes(r.method) && typeof r.params === 'object';
      }
      return (
        (r.id === null || typeof r.id === 'string' || typeof r.id === 'number') &&
        typeof r.error.code === 'string' &&
        /^E_[A-Z_]+$/.test(r.error.code) &&
        typeof r.error.message === 'string' &&
        r.error.message.length > 0 &&
        typeof r.error.retryable === 'boolean'
      );
    };
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), request), (raw) => {
        const r = parseRequest(raw);
        return wellFormed(r) && JSON.parse(JSON.stringify(r)) !== undefined;
      }),
      { numRuns: 2000 },
    );
  });
});
