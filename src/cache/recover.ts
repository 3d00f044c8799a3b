import { blobPath, type Layout } from '../store/layout.js';
import { isFreshPartial } from '../store/partials.js';
import { removeSnapshotTree } from '../store/snapshotTree.js';
import type { Log } from '../logger.js';
import { unlinkQuiet } from './fsQuiet.js';
import type { IndexRepos } from './indexRepos.js';
import type { RecoveryReport } from './maintenanceApi.js';
import { sweepTmpDir } from './sweepTmp.js';

/**
 * Start-up recovery from an unclean stop, from the index only (the snapshot tree is never walked):
 * every leftover admissions row is a crash mid-admission or mid-eviction (its unowned snapshot dir is
 * removed; a ready model owning the dir may have been half-swapped and is marked damaged); every
 * unreferenced blob is deleted; tmp/ is emptied except for resumable partial downloads.
 */
export function recover(layout: Layout, repos: IndexRepos, clock: () => number, log: Log): RecoveryReport {
  const rep: RecoveryReport = {
    admissions: 0,
    snapshotDirsRemoved: 0,
    modelsMarkedDamaged: 0,
    blobsRemoved: 0,
    blobBytesRemoved: 0,
    tmpEntriesRemoved: 0,
  };
  for (const a of repos.admissions.all()) {
    rep.admissions++;
    const owner = repos.models.byDir(a.dir);
    if (owner && owner.state === 'ready') {
      // A re-admission over a ready snapshot may have swapped its tree: distrust it until re-checked.
      repos.models.setState(owner.id, 'damaged');
      rep.modelsMarkedDamaged++;
    } else {
      const removed = removeSnapshotTree(layout, a.dir, (abs, err) =>
        log.warn({ dir: abs, error: err.message }, 'could not remove snapshot dir'),
      );
      if (removed) rep.snapshotDirsRemoved++;
    }
    repos.admissions.remove(a.id);
  }
  for (const b of repos.blobs.garbage()) {
    unlinkQuiet(blobPath(layout, b.digest));
    if (repos.blobs.removeIfUnreferenced(b.digest)) {
      rep.blobsRemoved++;
      rep.blobBytesRemoved += b.size;
    }
  }
  // Resumable partial downloads survive a restart (store/partials.ts); everything else in tmp/ is debris.
  rep.tmpEntriesRemoved = sweepTmpDir(layout, (p) => isFreshPartial(p, clock())).entries;
  return rep;
}
