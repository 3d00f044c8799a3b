import fs from 'node:fs';
import path from 'node:path';
import type { FilesRepo } from '../db/filesRepo.js';
import { matchesFingerprint } from './fingerprint.js';
import type { ModelTable } from './modelTable.js';
import type { SnapshotFile } from './types.js';

export interface SnapshotTrust {
  /**
   * Whether a model may be served as a hit. Untrusted (first hit since the cache opened, or distrusted
   * since): every file is lstat'ed against its recorded fingerprint; all match → trusted, true; any
   * differs → the model is marked damaged, false. Trusted: a memory lookup, no I/O.
   */
  confirm(modelId: number): boolean;
  distrust(modelId: number): void;
  /** Marks a model damaged; voids the fingerprints of `files` (paths found corrupt) in the index. */
  markDamaged(modelId: number, files?: readonly string[]): void;
}

export function createSnapshotTrust(deps: {
  table: ModelTable;
  files: FilesRepo;
  filesOf: (modelId: number) => SnapshotFile[];
}): SnapshotTrust {
  const { table } = deps;
  return {
    confirm(modelId) {
      if (table.isTrusted(modelId)) return true;
      const m = table.live(modelId);
      if (!m || m.state !== 'ready') return false;
      for (const f of deps.filesOf(modelId)) {
        let st: fs.Stats | null;
        try {
          st = fs.lstatSync(path.join(m.path, ...f.path.split('/')));
        } catch {
          st = null;
        }
        if (!matchesFingerprint(st, f)) {
          table.markDamaged(modelId);
          return false;
        }
      }
      table.trust(modelId);
      return true;
    },
    distrust: (modelId) => table.distrust(modelId),
    markDamaged(modelId, files) {
      if (!table.live(modelId)) return;
      for (const p of files ?? []) deps.files.distrust(modelId, p);
      table.markDamaged(modelId);
    },
  };
}
