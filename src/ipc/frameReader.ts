/**
 * Splits a stream of decoded text into frames ended by a delimiter (`\f`, node-ipc's framing),
 * without ever holding more than `limitBytes` (UTF-8 bytes) of an unfinished frame.
 *
 * Contract:
 *  - `onFrame` gets each complete frame without its delimiter; empty frames (`\f\f`) are skipped;
 *  - a frame whose UTF-8 size exceeds `limitBytes` calls `onOversize(bytesSeen)` once, as soon as the
 *    limit is crossed (not when the delimiter finally arrives); from then on the reader is stopped
 *    and discards everything pushed to it;
 *  - `stop()` also stops it (e.g. when an `onFrame` handler closes the connection);
 *  - `pause()` (also from inside `onFrame`) stops delivering frames: text not yet split, and text pushed
 *    while paused, is kept in order as a backlog; `resume()` delivers the backlog until it is empty or the
 *    reader is paused again. The caller pauses its source too, so the backlog stays about one read long.
 *    A `resume()` from inside `onFrame` only clears the pause: the running split goes on.
 * Chunks must come from a decoder that keeps multi-byte characters whole (`socket.setEncoding('utf8')`).
 */
export interface FrameReader {
  push(chunk: string): void;
  stop(): void;
  pause(): void;
  resume(): void;
  readonly stopped: boolean;
  readonly paused: boolean;
  /** True while pushed text waits unsplit (the reader was paused). */
  readonly backlogged: boolean;
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
  let paused = false;
  /** Text pushed but not yet split, oldest first. */
  let backlog: string[] = [];
  /** True while split() runs: a nested resume() must not start a second split. */
  let splitting = false;

  const overflow = (bytes: number): void => {
    stopped = true;
    parts.length = 0;
    pending = 0;
    backlog = [];
    onOversize(bytes);
  };

  /** Splits `chunk`; when paused midway, puts the rest in front of the backlog. */
  function split(chunk: string): void {
    let start = 0;
    while (!stopped) {
      if (paused) {
        if (start < chunk.length) backlog.unshift(start === 0 ? chunk : chunk.slice(start));
        return;
      }
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
  }

  function drain(): void {
    splitting = true;
    try {
      while (!stopped && !paused && backlog.length > 0) split(backlog.shift()!);
    } finally {
      splitting = false;
    }
  }

  return {
    get stopped() {
      return stopped;
    },
    get paused() {
      return paused;
    },
    get backlogged() {
      return backlog.length > 0;
    },
    get pendingBytes() {
      return pending;
    },
    stop() {
      stopped = true;
      parts.length = 0;
      pending = 0;
      backlog = [];
    },
    pause() {
      paused = true;
    },
    resume() {
      if (!paused) return;
      paused = false;
      if (!splitting) drain();
    },
    push(chunk: string) {
      if (stopped) return;
      backlog.push(chunk);
      if (!paused && !splitting) drain();
    },
  };
}
