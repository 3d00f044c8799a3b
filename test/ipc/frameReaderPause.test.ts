import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFrameReader } from '../../src/ipc/frameReader.js';

/** pause()/resume(): frames are delivered in order, none lost or repeated, whenever the reader is paused. */

describe('createFrameReader pause and resume', () => {
  it('delivers every frame once, in order, however pushes, pauses (also from onFrame) and resumes interleave', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes('\f')), { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 5 }),
        (frames, cuts, pauseEvery) => {
          const got: string[] = [];
          const reader = createFrameReader({
            limitBytes: 1_000_000,
            onFrame: (t) => {
              got.push(t);
              if (got.length % pauseEvery === 0) reader.pause();
            },
            onOversize: () => {
              throw new Error('no frame is over the limit');
            },
          });
          const stream = frames.map((f) => `${f}\f`).join('');
          let i = 0;
          let k = 0;
          while (i < stream.length) {
            const n = cuts[k++ % cuts.length]!;
            reader.push(stream.slice(i, i + n));
            i += n;
            if (k % 2 === 0) reader.resume();
          }
          for (let guard = 0; reader.paused && guard < 1000; guard++) reader.resume();
          return JSON.stringify(got) === JSON.stringify(frames) && !reader.backlogged && reader.pendingBytes === 0;
        },
      ),
      { numRuns: 500 },
    );
  });

  it('holds pushed text while paused and reports it as backlog; stop() drops it', () => {
    const got: string[] = [];
    const reader = createFrameReader({ limitBytes: 100, onFrame: (t) => got.push(t), onOversize: () => undefined });
    reader.pause();
    reader.push('a\fb\f');
    expect(got).toEqual([]);
    expect(reader.backlogged).toBe(true);
    reader.resume();
    expect(got).toEqual(['a', 'b']);
    expect(reader.backlogged).toBe(false);
    reader.pause();
    reader.push('c\f');
    reader.stop();
    reader.resume();
    expect(got).toEqual(['a', 'b']);
    expect(reader.backlogged).toBe(false);
  });

  it('a resume() from inside onFrame does not deliver frames out of order', () => {
    const got: string[] = [];
    const reader = createFrameReader({
      limitBytes: 100,
      onFrame: (t) => {
        got.push(t);
        reader.pause();
        reader.resume();
      },
      onOversize: () => undefined,
    });
    reader.push('1\f2\f3\f');
    expect(got).toEqual(['1', '2', '3']);
  });
});
