import crypto from 'node:crypto';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contentKey, createFileTaps, FileTap, TAP_WINDOW_BYTES } from '../../src/service/fileTap.js';
import { openBlobWriter } from '../../src/store/blobWriter.js';
import { blobPath, ensureLayout, layoutFor } from '../../src/store/layout.js';
import type { BlobSink } from '../../src/store/types.js';
import { useTempDir } from '../support/useTempDir.js';

const tmp = useTempDir('vc-tap-');
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

function realSink(): BlobSink {
  const layout = layoutFor(tmp.path);
  ensureLayout(layout);
  return { findBlob: () => null, openWriter: (e, o) => openBlobWriter(layout, e, { label: o?.label }) };
}

describe('FileTap', () => {
  it('lets a reader take accepted bytes but never the last byte of the file (it comes from the admitted file)', () => {
    const t = new FileTap(10);
    expect(t.view(0, 10)).toEqual({ kind: 'wait' });
    t.opened(0);
    t.accepted(Buffer.from('01234'));
    const v = t.view(0, 10);
    expect(v.kind === 'bytes' && v.data.toString()).toBe('01234');
    t.accepted(Buffer.from('56789'));
    const held = t.view(5, 10);
    expect(held.kind === 'bytes' && held.data.toString()).toBe('5678');
    expect(t.view(9, 10)).toEqual({ kind: 'wait' });
    t.committed();
    expect(t.view(9, 10)).toEqual({ kind: 'committed' });
    // A range that ends before the last byte is not held back.
    const t2 = new FileTap(10);
    t2.opened(0);
    t2.accepted(Buffer.from('0123'));
    const r = t2.view(0, 1);
    expect(r.kind === 'bytes' && r.data.toString()).toBe('0');
  });

  it('reports a failure with its generation, and a retry starts the next generation', () => {
    const t = new FileTap(4);
    t.opened(0);
    t.accepted(Buffer.from('ab'));
    const before = t.view(0, 4);
    expect(before.kind === 'bytes' && before.gen).toBe(1);
    const err = new Error('integrity');
    t.failed(err);
    expect(t.view(0, 4)).toEqual({ kind: 'failed', gen: 1, err });
    t.opened(0);
    t.accepted(Buffer.from('abc'));
    const after = t.view(0, 4);
    expect(after.kind === 'bytes' && after.gen).toBe(2);
  });

  it('a restart (origin ignored the range) empties the window; readers keep their offset', () => {
    const t = new FileTap(6);
    t.opened(0);
    t.accepted(Buffer.from('abc'));
    t.restarted();
    expect(t.view(2, 6)).toEqual({ kind: 'wait' });
    t.accepted(Buffer.from('abcd'));
    const v = t.view(2, 6);
    expect(v.kind === 'bytes' && v.data.toString()).toBe('cd');
  });

  it('keeps a bounded window: a reader behind it waits for the verdict (then reads the verified file)', () => {
    const chunk = Buffer.alloc(1024 * 1024, 1);
    const size = TAP_WINDOW_BYTES + 4 * chunk.byteLength;
    const t = new FileTap(size);
    t.opened(0);
    for (let n = 0; n < size; n += chunk.byteLength) t.accepted(chunk);
    expect(t.view(0, size)).toEqual({ kind: 'wait' });
    const recent = t.view(size - chunk.byteLength, size);
    expect(recent.kind === 'bytes' && recent.data.byteLength).toBe(chunk.byteLength - 1);
    t.committed();
    expect(t.view(0, size)).toEqual({ kind: 'committed' });
  });

  it('wakes waiters on every change, and when their signal aborts', async () => {
    const t = new FileTap(4);
    const w = t.changed();
    t.opened(0);
    await w;
    const ac = new AbortController();
    const w2 = t.changed(ac.signal);
    ac.abort();
    await w2;
  });
});

describe('createFileTaps', () => {
  it('feeds the tap of a content from a real blob writer, and tells the verdict (committed)', async () => {
    const taps = createFileTaps();
    const bytes = crypto.randomBytes(300_000);
    const e = { size: bytes.byteLength, sha256: sha256(bytes) };
    const key = contentKey(e)!;
    const tap = taps.acquire(key, e.size);
    const w = await taps.wrapSink(realSink()).openWriter(e, { label: 'x' });
    await w.write(bytes.subarray(0, 1000));
    const v = tap.view(0, e.size);
    expect(v.kind === 'bytes' && v.data.equals(bytes.subarray(0, 1000))).toBe(true);
    await w.write(bytes.subarray(1000));
    const ref = await w.commit();
    expect(ref.sha256).toBe(e.sha256);
    expect(tap.view(e.size - 1, e.size)).toEqual({ kind: 'committed' });
    expect(fs.existsSync(blobPath(layoutFor(tmp.path), e.sha256))).toBe(true);
    taps.release(key);
    expect(taps.size()).toBe(0);
  });

  it('a writer whose bytes do not match fails the tap (readers that sent bytes must cut their client)', async () => {
    const taps = createFileTaps();
    const bytes = crypto.randomBytes(5000);
    const e = { size: bytes.byteLength, sha256: sha256(bytes) };
    const key = contentKey(e)!;
    const tap = taps.acquire(key, e.size);
    const w = await taps.wrapSink(realSink()).openWriter(e);
    const bad = Buffer.from(bytes);
    bad[100] = bad[100]! ^ 0xff;
    await w.write(bad);
    await expect(w.commit()).rejects.toMatchObject({ code: 'E_INTEGRITY' });
    expect(tap.view(0, e.size).kind).toBe('failed');
    // The writer's own hold on the tap ended; the reader's remains until released.
    expect(taps.size()).toBe(1);
    taps.release(key);
    expect(taps.size()).toBe(0);
  });
});
