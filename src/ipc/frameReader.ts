/**
 * Splits a stream of decoded text into frames ended by a delimiter (`\f`, node-ipc's framing),
 * without ever holding more than `limitBytes` (UTF-8 bytes) of an unfinished frame.
 *
 * Contract:
 *  - `onFrame` gets each complete frame without its delimiter; empty frames (`\f\f`) are skipped;
 *  - a frame whose UTF-8 size exceeds `limitBytes` calls `onOversize(bytesSeen)` once, as soon as the
 *    limit is crossed (not when the delimiter finally arrives); from then on the reader is stopped
 *    and discards everything pushed to it;
 *  - `stop()` also stops it (e.g. when an `onFrame` handler closes the connection).
 * Chunks must come from a decoder that keeps multi-byte characters whole (`socket.setEncoding('utf8')`).
 */
export interface FrameReader {
  push(chunk: string): void;
  stop(): void;
  readonly stopped: boolean;
  /** UTF-8 bytes of the unfinished frame held right now. */
  readonly pendingBytes: number;
}

export const FRAME_DELIMITER = '\f';

export interface FrameReaderOptions {
  limitBytes: number;
  onFrame(text: string): void;
  onOversize(bytesSeen: number): void;
}

export function createFrameReader(opts: FrameReaderOptions): FrameReader {
  const { limitBytes, onFrame, onOversize } = opts;
  const parts: string[] = [];
  let pending = 0;
  let stopped = false;

  const overflow = (bytes: number): void => {
    stopped = true;
    parts.length = 0;
    pending = 0;
    onOversize(bytes);
  };

  return {
    get stopped() {
      return stopped;
    },
    get pendingBytes() {
      return pending;
    },
    stop() {
      stopped = true;
      parts.length = 0;
      pending = 0;
    },
    push(chunk: string) {
      let start = 0;
      while (!stopped) {
        const end = chunk.indexOf(FRAME_DELIMITER, start);
        if (end === -1) {
          if (start < chunk.length) {
            const rest = start === 0 ? chunk : chunk.slice(start);
            const bytes = pending + Buffer.byteLength(rest, 'utf8');
            if (bytes > limitBytes) return overflow(bytes);
            pending = bytes;
            parts.push(rest);
          }
          return;
        }
        const seg = chunk.slice(start, end);
        start = end + 1;
        const bytes = pending + Buffer.byteLength(seg, 'utf8');
        if (bytes > limitBytes) return overflow(bytes);
        const text = parts.length === 0 ? seg : parts.join('') + seg;
        parts.length = 0;
        pending = 0;
        if (text.length > 0) onFrame(text);
      }
    },
  };
}
