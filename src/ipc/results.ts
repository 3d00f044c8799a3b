import type { ConfigResult } from './configResult.js';
import type { MetricsResult, ReportResult, RunEndResult, RunStartResult, StatsResult } from './accountingResults.js';
import type { TierGcResult, TierPushResult, TierStatusResult } from './tierResults.js';
import type { CleanResult, ImportResult, OptimizeResult, RestoreResult, VerifyResult } from './maintenanceResults.js';
import type {
  EvictResult,
  GetResult,
  HelloResult,
  LeasesResult,
  ListResult,
  PinResult,
  ReleaseResult,
  ShutdownResult,
  StatusResult,
  WarmResult,
} from './modelResults.js';

export type * from './accountingResults.js';
export type * from './configResult.js';
export type * from './maintenanceResults.js';
export type * from './modelResults.js';
export type * from './tierResults.js';

/**
 * The result of every socket method, by method name: what the daemon's handler returns and what a
 * client's call resolves to. The keys are exactly the protocol's methods (protocol.ts checks this).
 */
export interface Results {
  hello: HelloResult;
  get: GetResult;
  release: ReleaseResult;
  leases: LeasesResult;
  warm: WarmResult;
  list: ListResult;
  status: StatusResult;
  pin: PinResult;
  unpin: PinResult;
  evict: EvictResult;
  verify: VerifyResult;
  clean: CleanResult;
  optimize: OptimizeResult;
  restore: RestoreResult;
  import: ImportResult;
  stats: StatsResult;
  metrics: MetricsResult;
  report: ReportResult;
  runStart: RunStartResult;
  runEnd: RunEndResult;
  config: ConfigResult;
  shutdown: ShutdownResult;
  tierStatus: TierStatusResult;
  tierGc: TierGcResult;
  tierPush: TierPushResult;
}
