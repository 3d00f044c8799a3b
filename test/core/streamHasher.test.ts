import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inlineHasher } from '../../src/store/streamHasher.js';

const sha256 = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Uint8Array) => crypto.createHash('sha1').update(`blob ${b.byteLength}\0`).update(b).digest('hex');

describe('inlineHasher', () => {
  it('hashes bytes fed in uneven pieces, and the buffer may be reused once update() returns', async () => {
    const data = crypto.randomBytes(3 << 20);
    const h = inlineHasher(data.length);
    const scratch = Buffer.alloc(70_000);
    for (let off = 0; off < data.length; off += scratch.length) {
      const n = data.copy(scratch, 0, off, Math.min(data.length, off + scratch.length));
      h.update(scratch.subarray(0, n));
      scratch.fill(0xee); // reused at once
    }
    expect(await h.digest()).toEqual({ sha256: sha256(data), gitSha1: gitSha1(data) });
  });

  it('reset() starts again from byte 0; without gitSha1 the digest names none', async () => {
    const data = Buffer.from('the right bytes');
    const h = inlineHasher(data.length, { gitSha1: false });
    h.update(Buffer.from('wrong bytes first'));
    h.reset();
    h.update(data);
    expect(await h.digest()).toEqual({ sha256: sha256(data), gitSha1: '' });
  });
});
