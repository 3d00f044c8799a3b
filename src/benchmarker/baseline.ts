import fs from 'node:fs';
import path from 'node:path';
import { z } from '../vendor/zod.js';
import type { Baseline, BenchReport, GitFacts, MachineFacts, SuiteBaseline, SuiteResult } from './types.js';

export const BASELINE_FILE = 'performance_baseline.json';

const spreadSchema = z.object({ median: z.number(), min: z.number(), max: z.number() });

const machineSchema = z.object({
  os: z.string(),
  release: z.string(),
  arch: z.string(),
  cpus: z.number(),
  cpuModel: z.string().nullable(),
  nodeVersion: z.string(),
  totalMemoryBytes: z.number(),
});

const suiteBaselineSchema = z.object({
  medianMs: z.number().nonnegative(),
  minMs: z.number().nonnegative(),
  maxMs: z.number().nonnegative(),
  runs: z.number().int().positive(),
  peakRss: spreadSchema.nullable(),
  commit: z.string().nullable(),
  recordedAt: z.string(),
});

export const baselineSchema = z.object({
  schemaVersion: z.literal(1),
  updatedAt: z.string(),
  commit: z.string().nullable(),
  branch: z.string().nullable(),
  machine: machineSchema.nullable(),
  suites: z.record(z.string(), suiteBaselineSchema),
});

/** The old performance-measurement.sh wrote `{timestamp, commit, unit_tests, integration_tests, branch}` in seconds. */
export const legacySchema = z.object({
  timestamp: z.string().optional(),
  commit: z.string().optional(),
  branch: z.string().optional(),
  unit_tests: z.number().nonnegative().optional(),
  integration_tests: z.number().nonnegative().optional(),
});

export interface BaselineRead {
  baseline: Baseline | null;
  /** Why an existing file could not be used (it is then ignored, never overwritten implicitly). */
  problem: string | null;
}

/** Reads the baseline; a missing file is `{baseline: null, problem: null}`, an unusable one names its problem. */
export function readBaseline(file: string): BaselineRead {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { baseline: null, problem: null };
    return { baseline: null, problem: `cannot read ${file}: ${(err as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { baseline: null, problem: `${file} is not valid JSON (${(err as Error).message}); write a new one with --update-baseline` };
  }
  const parsed = baselineSchema.safeParse(json);
  if (parsed.success) return { baseline: parsed.data, problem: null };
  const legacy = legacySchema.safeParse(json);
  if (legacy.success && (legacy.data.unit_tests !== undefined || legacy.data.integration_tests !== undefined)) {
    return { baseline: fromLegacy(legacy.data), problem: null };
  }
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  return { baseline: null, problem: `${file} is not a baseline${where}: ${issue?.message ?? 'unexpected shape'}` };
}

/** What a report records about the baseline file it was judged against. */
export function baselineFacts(file: string, read: BaselineRead, written: boolean): BenchReport['baseline'] {
  const b = read.baseline;
  return {
    file,
    present: b !== null,
    problem: read.problem,
    updatedAt: b?.updatedAt ?? null,
    commit: b?.commit ?? null,
    branch: b?.branch ?? null,
    legacy: b?.legacy === true,
    machine: b?.machine ?? null,
    written,
  };
}

function fromLegacy(l: z.infer<typeof legacySchema>): Baseline {
  const at = l.timestamp ?? new Date(0).toISOString();
  const suites: Record<string, SuiteBaseline> = {};
  const add = (name: string, seconds: number | undefined): void => {
    if (seconds === undefined) return;
    const ms = seconds * 1000;
    suites[name] = { medianMs: ms, minMs: ms, maxMs: ms, runs: 1, peakRss: null, commit: l.commit ?? null, recordedAt: at };
  };
  add('unit', l.unit_tests);
  add('integration', l.integration_tests);
  return { schemaVersion: 1, updatedAt: at, commit: l.commit ?? null, branch: l.branch ?? null, machine: null, suites, legacy: true };
}

/**
 * The baseline after this run (pure): every suite that ran cleanly replaces its entry; suites not run,
 * or that failed, keep their previous entry.
 */
export function nextBaseline(
  prev: Baseline | null,
  results: readonly SuiteResult[],
  o: { now: string; git: GitFacts; machine: MachineFacts },
): Baseline {
  const suites: Record<string, SuiteBaseline> = { ...(prev?.suites ?? {}) };
  for (const r of results) {
    if (!r.ok || r.time === null) continue;
    suites[r.name] = {
      medianMs: r.time.median,
      minMs: r.time.min,
      maxMs: r.time.max,
      runs: r.measurements.length,
      peakRss: r.peakRss,
      commit: o.git.commit,
      recordedAt: o.now,
    };
  }
  return { schemaVersion: 1, updatedAt: o.now, commit: o.git.commit, branch: o.git.branch, machine: o.machine, suites };
}

/** Writes atomically (temp file + rename) so a reader never sees half a baseline. */
export function writeBaseline(file: string, b: Baseline): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const { legacy: _legacy, ...clean } = b;
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(clean, null, 2) + '\n');
  fs.renameSync(tmp, file);
}
