import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFrameReader } from '../../src/ipc/frameReader.js';

function collect(limitBytes: number) {
  const frames: string[] = [];
  const oversize: number[] = [];
  const reader = createFrameReader({ limitBytes, onFrame: (t) => frames.push(t), onOversize: (b) => oversize.push(b) });
  return { reader, frames, oversize };
}

describe('createFrameReader', () => {
  it('yields the same frames however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((s) => !s.includes('\f')), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }),
        (frames, cuts) => {
          const stream = frames.map((f) => `${f}\f`).join('');
          const { reader, frames: got, oversize } = collect(1_000_000);
          let i = 0;
          let k = 0;
          while (i < stream.length) {
            const n = cuts[k++ % cuts.length] ?? 1;
            reader.push(stream.slice(i, i + n));
            i += n;
          }
          return oversize.length === 0 && JSON.stringify(got) === JSON.stringify(frames) && reader.pendingBytes === 0;
        },
      ),
    );
  });

  it('skips empty frames and keeps an unfinished tail', () => {
    const { reader, frames } = collect(100);
    reader.push('\f\fa\f\fb');
    expect(frames).toEqual(['a']);
    expect(reader.pendingBytes).toBe(1);
    reader.push('c\f');
    expect(frames).toEqual(['a', 'bc']);
  });

  it('stops at the first byte over the limit, before any delimiter arrives, and then discards everything', () => {
    const { reader, frames, oversize } = collect(10);
    reader.push('12345');
    reader.push('6789012');
    expect(oversize).toEqual([12]);
    expect(reader.stopped).toBe(true);
    expect(reader.pendingBytes).toBe(0);
    reader.push('ok\f');
    expect(frames).toEqual([]);
    expect(oversize).toHaveLength(1);
  });

  it('counts UTF-8 bytes, not characters; a frame of exactly the limit passes', () => {
    const a = collect(6);
    a.reader.push('€€\f'); // 6 bytes
    expect(a.frames).toEqual(['€€']);
    const b = collect(6);
    b.reader.push('€€a\f'); // 7 bytes in 3 characters
    expect(b.frames).toEqual([]);
    expect(b.oversize).toEqual([7]);
  });
});
