import type { LogRepo } from '../db/logRepo.js';
import type { EvictionInfo, VerifyRecord } from './maintenanceApi.js';

/** The verify and eviction history of the index, for maintenance commands and status. */
export interface MaintenanceLog {
  recordVerify(rec: VerifyRecord): number;
  lastVerify(): VerifyRecord | null;
  listEvictions(sinceMs?: number): EvictionInfo[];
}

export function createMaintenanceLog(log: LogRepo): MaintenanceLog {
  return {
    recordVerify: (rec) =>
      log.insertVerify({
        ts: rec.ts,
        mode: rec.mode,
        models: rec.models,
        files: rec.files,
        bytes_hashed: rec.bytesHashed,
        corrupted: rec.corrupted,
        missing: rec.missing,
        orphans: rec.orphans,
        repaired: rec.repaired,
        duration_ms: rec.durationMs,
        ok: rec.ok ? 1 : 0,
      }),
    lastVerify() {
      const r = log.lastVerify();
      if (!r) return null;
      return {
        ts: r.ts,
        mode: r.mode,
        models: r.models,
        files: r.files,
        bytesHashed: r.bytes_hashed,
        corrupted: r.corrupted,
        missing: r.missing,
        orphans: r.orphans,
        repaired: r.repaired,
        durationMs: r.duration_ms,
        ok: r.ok === 1,
      };
    },
    listEvictions: (sinceMs) =>
      log.evictionsSince(sinceMs ?? 0).map((e) => ({ ts: e.ts, model: e.model, bytes: e.bytes, reason: e.reason })),
  };
}
