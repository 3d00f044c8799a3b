import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';

/**
 * A fresh temp dir for each test of the calling file (or describe block): made in beforeEach,
 * removed with everything in it in afterEach. `path` reads the current test's dir, so it is valid
 * only inside tests and hooks registered after this call.
 */
export function useTempDir(prefix = 'vc-'): { readonly path: string } {
  let current: string | undefined;
  beforeEach(() => {
    current = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  afterEach(() => {
    if (current !== undefined) fs.rmSync(current, { recursive: true, force: true });
    current = undefined;
  });
  return {
    get path(): string {
      if (current === undefined) throw new Error('the temp dir exists only while a test runs');
      return current;
    },
  };
}
