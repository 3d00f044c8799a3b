import type Database from 'better-sqlite3';
import { createAdmissionsRepo, type AdmissionsRepo } from '../db/admissionsRepo.js';
import { createBlobsRepo, type BlobsRepo } from '../db/blobsRepo.js';
import { createFilesRepo, type FilesRepo } from '../db/filesRepo.js';
import { createLogRepo, type LogRepo } from '../db/logRepo.js';
import { createModelsRepo, type ModelsRepo } from '../db/modelsRepo.js';
import { createRefsRepo, type RefsRepo } from '../db/refsRepo.js';

/** The prepared statements of one open index, shared by the parts of the cache. */
export interface IndexRepos {
  db: Database.Database;
  models: ModelsRepo;
  files: FilesRepo;
  blobs: BlobsRepo;
  refs: RefsRepo;
  admissions: AdmissionsRepo;
  log: LogRepo;
}

export function createIndexRepos(db: Database.Database): IndexRepos {
  return {
    db,
    models: createModelsRepo(db),
    files: createFilesRepo(db),
    blobs: createBlobsRepo(db),
    refs: createRefsRepo(db),
    admissions: createAdmissionsRepo(db),
    log: createLogRepo(db),
  };
}
