/** One measured figure of a benchmark, compared with a reference measured in the same run. */
export interface Figure {
  benchmark: string;
  /** What is measured, e.g. "get p50". */
  name: string;
  unit: string;
  /** Median over repetitions (or the percentile itself for latency distributions). */
  value: number;
  /** min–max over repetitions, when there were several. */
  min?: number;
  max?: number;
  reps?: number;
  reference?: { name: string; value: number; min?: number; max?: number };
  /**
   * value / reference.value, or reference.value / value for "lower is better" figures whose target is a
   * fraction of the reference (see `ratioMeaning`).
   */
  ratio?: number;
  ratioMeaning?: string;
  /**
   * The design bar, human-readable, e.g. "<= 0.3 ms" (on `value`) or ">= 0.85× plain download" (a `×`
   * bar is on `ratio`). bars.ts reads the leading comparison and number.
   */
  target?: string;
  pass?: boolean;
  note?: string;
  /** For a figure that can miss its bar: what the profile says would close the gap (shown when it misses). */
  ifMissed?: string;
}

export interface BenchContext {
  /** Repetitions for repeated measurements (default 5; `--quick` 3). */
  reps: number;
  /** Absolute path of dist/ (the compiled package), so children and the CLI can be spawned. */
  distDir: string;
  log(msg: string): void;
}

export interface Benchmark {
  name: string;
  describe: string;
  run(ctx: BenchContext): Promise<Figure[]>;
}
