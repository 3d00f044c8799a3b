import type Database from 'better-sqlite3';
import { createDailyRepo, type DailyRepo } from '../db/dailyRepo.js';
import { createEventsRepo, type EventsRepo } from '../db/eventsRepo.js';
import { createLogRepo, type LogRepo } from '../db/logRepo.js';
import { createModelsRepo, type ModelsRepo } from '../db/modelsRepo.js';
import { createRunsRepo, type RunsRepo } from '../db/runsRepo.js';
import { createStatsResetsRepo, type StatsResetsRepo } from '../db/statsResetsRepo.js';

/** The repos accounting reads and writes through. */
export interface AccountingRepos {
  readonly events: EventsRepo;
  readonly daily: DailyRepo;
  readonly runs: RunsRepo;
  readonly resets: StatsResetsRepo;
  readonly log: LogRepo;
  readonly models: ModelsRepo;
}

const byConnection = new WeakMap<Database.Database, AccountingRepos>();

/**
 * Accounting's repos for one connection. Each repo is created on first use and kept as long as the
 * connection object lives, so its statements are prepared once per connection, not once per call.
 */
export function accountingRepos(db: Database.Database): AccountingRepos {
  let repos = byConnection.get(db);
  if (!repos) {
    repos = lazyRepos(db);
    byConnection.set(db, repos);
  }
  return repos;
}

function lazyRepos(db: Database.Database): AccountingRepos {
  const once = <T>(make: (db: Database.Database) => T): (() => T) => {
    let made: T | undefined;
    return () => (made ??= make(db));
  };
  const events = once(createEventsRepo);
  const daily = once(createDailyRepo);
  const runs = once(createRunsRepo);
  const resets = once(createStatsResetsRepo);
  const log = once(createLogRepo);
  const models = once(createModelsRepo);
  return {
    get events() {
      return events();
    },
    get daily() {
      return daily();
    },
    get runs() {
      return runs();
    },
    get resets() {
      return resets();
    },
    get log() {
      return log();
    },
    get models() {
      return models();
    },
  };
}
