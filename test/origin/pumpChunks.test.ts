import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { pumpChunks } from '../../src/origin/pumpChunks.js';

/** A byte stream that pushes `chunks` as fast as it is read (16 KiB high-water mark, like a socket). */
function source(chunks: Buffer[]): Readable {
  let i = 0;
  return new Readable({
    highWaterMark: 16 * 1024,
    read() {
      this.push(i < chunks.length ? chunks[i++]! : null);
    },
  });
}

const pieces = (n: number, size: number) => Array.from({ length: n }, (_, i) => Buffer.alloc(size, i % 251));

describe('pumpChunks', () => {
  it('hands each chunk over as produced (same buffers, in order, never merged) one write at a time, even when writes are slow', async () => {
    const chunks = pieces(40, 10_000);
    const got: Uint8Array[] = [];
    let running = 0;
    let overlap = false;
    await pumpChunks(source(chunks), async (c) => {
      running++;
      if (running > 1) overlap = true;
      got.push(c);
      if (got.length % 7 === 0) await sleep(5); // chunks pile up in the stream meanwhile
      running--;
    });
    expect(overlap).toBe(false);
    expect(got.length).toBe(chunks.length);
    got.forEach((c, i) => expect(c).toBe(chunks[i]));
  });

  it('resolves only after the last write resolved', async () => {
    let lastDone = false;
    const chunks = pieces(3, 100);
    let n = 0;
    await pumpChunks(source(chunks), async () => {
      if (++n === 3) {
        await sleep(30);
        lastDone = true;
      }
    });
    expect(lastDone).toBe(true);
  });

  it('an empty stream resolves without a write', async () => {
    let writes = 0;
    await pumpChunks(Readable.from([]), async () => {
      writes++;
    });
    expect(writes).toBe(0);
  });

  it("rejects with the stream's error and writes nothing after it", async () => {
    const s = new Readable({ read() {} });
    let writes = 0;
    const done = pumpChunks(s, async () => {
      writes++;
    });
    s.push(Buffer.from('a'));
    await sleep(10);
    s.destroy(new Error('connection reset'));
    s.push(Buffer.from('b'));
    await expect(done).rejects.toThrow('connection reset');
    expect(writes).toBe(1);
  });

  it('a stream destroyed without an error (premature close) rejects', async () => {
    const s = new Readable({ read() {} });
    const done = pumpChunks(s, async () => undefined);
    s.push(Buffer.from('a'));
    await sleep(10);
    s.destroy();
    await expect(done).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });

  it("a write's rejection rejects, destroys the stream and stops further writes", async () => {
    const s = source(pieces(20, 1000));
    let writes = 0;
    const done = pumpChunks(s, async () => {
      if (++writes === 3) throw new Error('disk full');
    });
    await expect(done).rejects.toThrow('disk full');
    await sleep(20);
    expect(writes).toBe(3);
    expect(s.destroyed).toBe(true);
  });
});
