import { z } from '../vendor/zod.js';
import type { BenchReport } from './types.js';

/**
 * The shape of `performance_report_<id>.json`. One zod schema is the source: `parseBenchReport`
 * validates with it, and `benchReportJsonSchema` is the JSON Schema emitted from it for other tools.
 */
const nn = z.number().nonnegative();
const spread = z.strictObject({ median: nn, min: nn, max: nn });
const verdict = z.enum(['pass', 'warn', 'fail', 'new', 'error']);
const comparison = z.strictObject({ verdict, changePct: z.number().nullable(), reasons: z.array(z.string()) });
const machine = z.strictObject({
  os: z.string(),
  release: z.string(),
  arch: z.string(),
  cpus: z.number().int().nonnegative(),
  cpuModel: z.string().nullable(),
  nodeVersion: z.string(),
  totalMemoryBytes: nn,
});
const git = z.strictObject({ commit: z.string().nullable(), branch: z.string().nullable() });
const runStats = z.strictObject({
  hits: z.number().int().nonnegative(),
  misses: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  hitRate: z.number().min(0).max(1).nullable(),
  bytesDownloaded: nn,
  bytesAvoided: nn,
  timeSavedMs: nn,
  missedModels: z.array(z.string()).optional(),
});
const measurement = z.strictObject({
  wallMs: nn,
  userMs: nn.nullable(),
  sysMs: nn.nullable(),
  peakRssBytes: nn.nullable(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  timedOut: z.boolean(),
  interrupted: z.boolean(),
  logPath: z.string(),
  rssMethod: z.enum(['proc', 'ps', 'none']),
  rssSamples: z.number().int().nonnegative(),
});
const suiteBaseline = z.strictObject({
  medianMs: nn,
  minMs: nn,
  maxMs: nn,
  runs: z.number().int().positive(),
  peakRss: spread.nullable(),
  commit: z.string().nullable(),
  recordedAt: z.string(),
});
const suite = z.strictObject({
  name: z.string().min(1),
  command: z.string(),
  cwd: z.string(),
  runsRequested: z.number().int().positive(),
  targetMs: nn.nullable(),
  measurements: z.array(measurement),
  ok: z.boolean(),
  failure: z.string().nullable(),
  time: spread.nullable(),
  cpuMedianMs: nn.nullable(),
  peakRss: spread.nullable(),
  cache: z.strictObject({
    runId: z.string().nullable(),
    reachable: z.boolean(),
    note: z.string().nullable(),
    stats: runStats.nullable(),
  }),
  baseline: suiteBaseline.nullable(),
  timeCheck: comparison,
  memoryCheck: comparison,
  verdict,
});

export const benchReportSchema = z
  .strictObject({
    schemaVersion: z.literal(1),
    id: z.string().regex(/^\d{8}_\d{6}(_\d+)?$/),
    createdAt: z.string(),
    mode: z.strictObject({ quick: z.boolean(), ci: z.boolean(), memoryFocus: z.boolean(), updateBaseline: z.boolean() }),
    git,
    machine,
    overall_score: z.number().min(0).max(100).nullable(),
    grade: z.strictObject({
      letter: z.enum(['A', 'B', 'C', 'D', 'F']).nullable(),
      score: z.number().min(0).max(100).nullable(),
      rule: z.string().min(1),
      deductions: z.array(z.strictObject({ points: nn, reason: z.string() })),
    }),
    exitCode: z.number().int().min(0),
    suites: z.array(suite),
    cache: z.strictObject({
      reachable: z.boolean(),
      note: z.string().nullable(),
      totals: z
        .strictObject({
          hits: z.number().int().nonnegative(),
          misses: z.number().int().nonnegative(),
          errors: z.number().int().nonnegative(),
          hitRate: z.number().min(0).max(1).nullable(),
          bytesDownloaded: nn,
          bytesAvoided: nn,
          timeSavedMs: nn,
          suitesCounted: z.number().int().nonnegative(),
        })
        .nullable(),
    }),
    baseline: z.strictObject({
      file: z.string(),
      present: z.boolean(),
      problem: z.string().nullable(),
      updatedAt: z.string().nullable(),
      commit: z.string().nullable(),
      branch: z.string().nullable(),
      legacy: z.boolean(),
      machine: machine.nullable(),
      written: z.boolean(),
    }),
    trend: z
      .array(
        z.strictObject({
          reportId: z.string(),
          createdAt: z.string(),
          commit: z.string().nullable(),
          grade: z.string(),
          medians: z.record(z.string(), nn.nullable()),
          peakRss: z.record(z.string(), nn.nullable()),
          hitRate: z.number().min(0).max(1).nullable(),
        }),
      )
      .max(5),
    recommendations: z.array(z.strictObject({ kind: z.string(), suite: z.string().nullable(), text: z.string().min(1) })).min(1),
  })
  .describe('A benchmark report written by cache-manager bench.');

/** The JSON Schema (draft 2020-12) of the JSON report, emitted from the zod schema. */
export const benchReportJsonSchema: Record<string, unknown> = z.toJSONSchema(benchReportSchema, {
  target: 'draft-2020-12',
}) as Record<string, unknown>;

/**
 * Validates untrusted JSON as a report; the error names the first bad field. A report written before
 * `overall_score` existed is read with it taken from its grade.
 */
export function parseBenchReport(json: unknown): { ok: true; report: BenchReport } | { ok: false; problem: string } {
  let input = json;
  if (input !== null && typeof input === 'object' && !Array.isArray(input) && !('overall_score' in input)) {
    const grade = (input as { grade?: { score?: unknown } }).grade;
    input = { ...input, overall_score: typeof grade?.score === 'number' ? grade.score : null };
  }
  const r = benchReportSchema.safeParse(input);
  if (r.success) return { ok: true, report: r.data };
  const issue = r.error.issues[0];
  return { ok: false, problem: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}` };
}

// Compile-time: the schema and the BenchReport type describe the same thing.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _sameShape: Same<z.infer<typeof benchReportSchema>, BenchReport> = true;
void _sameShape;
