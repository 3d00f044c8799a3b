import { describe, expect, it } from 'vitest';
import { connectionCap, MAX_CONNECTIONS, MIN_CONNECTIONS, openFileLimit, RESERVED_FDS } from '../../src/daemon/fileLimit.js';

describe('the open-file limit and the connection cap', () => {
  it('reads this process\'s limit', () => {
    const n = openFileLimit();
    if (n !== null) expect(n).toBeGreaterThan(0);
  });

  it('keeps connections under the limit with room for everything else, within fixed bounds', () => {
    expect(connectionCap(null)).toBe(1024);
    expect(connectionCap(20_000)).toBe(MAX_CONNECTIONS);
    expect(connectionCap(1024)).toBe(1024 - RESERVED_FDS);
    expect(connectionCap(256)).toBe(MIN_CONNECTIONS);
  });
});
