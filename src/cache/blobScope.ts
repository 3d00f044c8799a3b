import type { BlobLedger } from './blobLedger.js';
import type { BlobScope } from './types.js';

/**
 * A sink for one admission in flight (see Cache.blobScope): every blob it finds or commits is held
 * until release(); holds of concurrent scopes on one blob are counted. After release() the scope holds
 * nothing more, and its blobs that are unreferenced and held by no one else are deleted (unless the
 * cache is closed).
 */
export function createBlobScope(ledger: BlobLedger, isClosed: () => boolean): BlobScope {
  const mine = new Set<string>();
  let released = false;
  const pin = (digest: string): void => {
    if (released || mine.has(digest)) return;
    mine.add(digest);
    ledger.scopeHold(digest);
  };
  return {
    findBlob(expected) {
      const ref = ledger.findBlob(expected);
      if (ref) pin(ref.sha256);
      return ref;
    },
    openWriter: (expected, wopts) => ledger.openWriter(expected, wopts, (ref) => pin(ref.sha256)),
    release() {
      if (released) return;
      released = true;
      for (const d of mine) ledger.scopeRelease(d);
      if (!isClosed()) ledger.dropUnreferenced(mine);
    },
  };
}
