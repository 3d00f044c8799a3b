import { finished, type Readable } from 'node:stream';

/**
 * Feeds every chunk of `stream` to `write`, in order and one at a time: the stream is paused while a
 * write runs and resumed when it resolves. Chunks reach `write` as the stream produced them; unlike
 * `for await` over a Readable (whose `read()` merges whatever is buffered into one new Buffer), nothing
 * is copied or concatenated on the way.
 *
 * Resolves after the stream ended and the last write resolved. Rejects with the stream's error (a
 * destroy with a reason, or a premature close) or with the first write's rejection, after which the
 * stream is destroyed and `write` is not called again.
 */
export function pumpChunks(stream: Readable, write: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let writing = false;
    let ended = false;
    let settled = false;
    const settle = (err: unknown) => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      stopWatching();
      if (err === undefined) {
        resolve();
      } else {
        if (!stream.destroyed) stream.destroy();
        reject(err);
      }
    };
    const onData = (chunk: Uint8Array) => {
      if (settled) return;
      writing = true;
      stream.pause();
      write(chunk).then(
        () => {
          writing = false;
          if (ended) settle(undefined);
          else if (!settled) stream.resume();
        },
        (err: unknown) => settle(err ?? new Error('write failed')),
      );
    };
    const stopWatching = finished(stream, { writable: false }, (err) => {
      if (err) {
        settle(err);
        return;
      }
      ended = true;
      if (!writing) settle(undefined);
    });
    stream.on('data', onData);
  });
}
