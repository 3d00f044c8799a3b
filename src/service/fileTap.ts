import type { BlobSink, BlobWriter, ExpectedContent, OpenWriterOptions } from '../store/types.js';

/** Bytes of the most recent part of a download a tap keeps in memory for readers following it. */
export const TAP_WINDOW_BYTES = 16 * 1024 * 1024;

/** The key of a content: its sha256, else its git blob SHA-1. */
export function contentKey(e: Pick<ExpectedContent, 'sha256' | 'gitSha1'>): string | null {
  if (e.sha256) return `s:${e.sha256.toLowerCase()}`;
  if (e.gitSha1) return `g:${e.gitSha1.toLowerCase()}`;
  return null;
}

type TapState = 'idle' | 'writing' | 'committed' | 'failed';

/**
 * What readers of a download in flight see: the bytes a blob writer accepted, in order, in a bounded
 * window (the last TAP_WINDOW_BYTES), and the writer's verdict. One writer at a time feeds a tap; a
 * writer that fails (integrity, abort) ends its generation, and a retry's writer starts the next.
 * Invariants: a reader that delivered any byte of a failed generation fails (its client must not keep a
 * file made of unverified bytes); the last byte of the file is never read from the tap (readers take it
 * from the verified, admitted file).
 */
export class FileTap {
  readonly size: number;
  private state: TapState = 'idle';
  private gen = 0;
  /** Offset of chunks[0]. */
  private start = 0;
  /** Offset after the last chunk: bytes the current writer accepted. */
  private end = 0;
  private chunks: Buffer[] = [];
  private held = 0;
  private failure: unknown = null;
  private waiters = new Set<() => void>();

  constructor(size: number) {
    this.size = size;
  }

  private wake(): void {
    const w = [...this.waiters];
    this.waiters.clear();
    for (const f of w) f();
  }

  /** Resolves at the next change (bytes, restart, verdict), or when `signal` aborts. */
  changed(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** A writer opened, starting at `offset` (bytes before it come from a resumed partial file, not the window). */
  opened(offset: number): void {
    this.gen++;
    this.state = 'writing';
    this.failure = null;
    this.start = this.end = offset;
    this.chunks = [];
    this.held = 0;
    this.wake();
  }

  accepted(chunk: Uint8Array): void {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.chunks.push(b);
    this.held += b.byteLength;
    this.end += b.byteLength;
    while (this.held - (this.chunks[0]?.byteLength ?? 0) >= TAP_WINDOW_BYTES && this.chunks.length > 1) {
      const first = this.chunks.shift()!;
      this.held -= first.byteLength;
      this.start += first.byteLength;
    }
    this.wake();
  }

  restarted(): void {
    this.start = this.end = 0;
    this.chunks = [];
    this.held = 0;
    this.wake();
  }

  committed(): void {
    this.state = 'committed';
    this.wake();
  }

  failed(err: unknown): void {
    if (this.state !== 'writing') return;
    this.state = 'failed';
    this.failure = err;
    this.chunks = [];
    this.held = 0;
    this.wake();
  }

  /** What a reader at `pos` may do now (see TapReader). */
  view(pos: number, limit: number):
    | { kind: 'bytes'; gen: number; data: Buffer }
    | { kind: 'wait' }
    | { kind: 'committed' }
    | { kind: 'failed'; gen: number; err: unknown } {
    if (this.state === 'failed') return { kind: 'failed', gen: this.gen, err: this.failure };
    if (this.state === 'writing' || this.state === 'committed') {
      // The last byte of the file never comes from the tap: a reader takes it from the cached file once
      // the admission finished, so a client that has the whole file finds it cached when it asks again.
      const ceiling = Math.min(this.end, this.size - 1);
      const upto = Math.min(ceiling, limit);
      if (pos >= this.start && pos < upto) return { kind: 'bytes', gen: this.gen, data: this.slice(pos, upto) };
    }
    if (this.state === 'committed') return { kind: 'committed' };
    return { kind: 'wait' };
  }

  private slice(from: number, to: number): Buffer {
    const parts: Buffer[] = [];
    let off = this.start;
    for (const c of this.chunks) {
      const cEnd = off + c.byteLength;
      if (cEnd > from && off < to) parts.push(c.subarray(Math.max(0, from - off), Math.min(c.byteLength, to - off)));
      if (cEnd >= to) break;
      off = cEnd;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}

/**
 * The taps of downloads in flight, by content key. A tap lives while a writer feeds it or a reader
 * holds it (acquire/release counted).
 */
export function createFileTaps() {
  const taps = new Map<string, { tap: FileTap; users: number }>();

  function acquire(key: string, size: number): FileTap {
    let e = taps.get(key);
    if (!e) {
      e = { tap: new FileTap(size), users: 0 };
      taps.set(key, e);
    }
    e.users++;
    return e.tap;
  }

  function release(key: string): void {
    const e = taps.get(key);
    if (!e) return;
    if (--e.users <= 0) taps.delete(key);
  }

  /** Wraps a writer so the tap of its content sees every accepted chunk and the verdict. */
  function tapWriter(w: BlobWriter, key: string, tap: FileTap): BlobWriter {
    let ended = false;
    const end = () => {
      if (!ended) {
        ended = true;
        release(key);
      }
    };
    tap.opened(w.written);
    return {
      get written() {
        return w.written;
      },
      async write(chunk) {
        try {
          await w.write(chunk);
        } catch (err) {
          tap.failed(err);
          throw err;
        }
        tap.accepted(chunk);
      },
      async restart() {
        await w.restart();
        tap.restarted();
      },
      async commit() {
        try {
          const ref = await w.commit();
          tap.committed();
          return ref;
        } catch (err) {
          tap.failed(err);
          throw err;
        } finally {
          end();
        }
      },
      async abort(o) {
        tap.failed(new Error('download aborted'));
        try {
          await w.abort(o);
        } finally {
          end();
        }
      },
    };
  }

  return {
    acquire,
    release,
    /** `sink` with every writer it opens feeding the tap of its content. */
    wrapSink(sink: BlobSink): BlobSink {
      return {
        findBlob: (e) => sink.findBlob(e),
        async openWriter(e: ExpectedContent, o?: OpenWriterOptions) {
          const w = await sink.openWriter(e, o);
          const key = contentKey(e);
          if (key === null) return w;
          return tapWriter(w, key, acquire(key, e.size));
        },
      };
    },
    /** Taps alive (tests). */
    size: () => taps.size,
  };
}

export type FileTaps = ReturnType<typeof createFileTaps>;
