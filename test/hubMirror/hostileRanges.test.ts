import { expect, test } from 'vitest';
import { parseRange } from '../../src/hubMirror/hubShapes.js';

/**
 * Range headers a hostile client sends: a header longer than any plain range is not parsed at all (the
 * parsing pattern backtracks quadratically over runs of spaces: 16 KiB of them cost the daemon's event
 * loop a quarter second), and anything but one plain range is ignored (the whole file), as RFC 9110 allows.
 */
test('a Range header longer than any plain range is ignored (the whole file), so parsing work stays bounded', () => {
  const pad = ' '.repeat(2_000);
  expect(parseRange(`bytes=0-5${pad}`, 100)).toEqual({ kind: 'full' });
  expect(parseRange(`bytes=${pad}0-5`, 100)).toEqual({ kind: 'full' });
  expect(parseRange(`bytes=${pad}x`, 100)).toEqual({ kind: 'full' });
});

test('plain ranges, with the optional spaces clients send, still parse', () => {
  expect(parseRange('bytes=0-0', 100)).toEqual({ kind: 'partial', from: 0, to: 0 });
  expect(parseRange(' bytes = 10 - 19 ', 100)).toEqual({ kind: 'partial', from: 10, to: 19 });
  expect(parseRange('bytes=-5', 100)).toEqual({ kind: 'partial', from: 95, to: 99 });
  expect(parseRange('bytes=90-', 100)).toEqual({ kind: 'partial', from: 90, to: 99 });
  expect(parseRange('bytes=-0', 100)).toEqual({ kind: 'unsatisfiable' });
  expect(parseRange('bytes=5-2', 100)).toEqual({ kind: 'full' });
  expect(parseRange('bytes=0-1,3-4', 100)).toEqual({ kind: 'full' });
});
