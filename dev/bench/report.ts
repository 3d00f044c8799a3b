import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { fmt } from './stats.js';
import type { Figure } from './types.js';

export interface Machine {
  date: string;
  nproc: number;
  cpu: string;
  memTotal: string;
  freeH: string;
  node: string;
  platform: string;
  /** 1/5/15-min load averages at the start of the run (other work on the machine skews every figure). */
  loadavgStart: number[];
  loadavgEnd?: number[];
}

export interface BenchmarkEntry {
  ranAt: string;
  durationMs: number;
  figures: Figure[];
  error?: string;
  loadavgStart?: number[];
}

export interface ResultsFile {
  generatedAt: string;
  machine: Machine;
  /** Wall time of the run that wrote the file (all its benchmarks, not the build). */
  durationMs?: number;
  /** Benchmark name → its latest figures, when they were taken and the load average when it started. */
  benchmarks: Record<string, BenchmarkEntry>;
}

export function machine(): Machine {
  let freeH = '';
  try {
    freeH = execFileSync('free', ['-h'], { encoding: 'utf8' }).trim();
  } catch {
    freeH = 'n/a';
  }
  return {
    date: new Date().toISOString(),
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memTotal: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    freeH,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadavgStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** Reads an existing results file (to merge a partial run into), or null. */
export function readResults(file: string): ResultsFile | null {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    if (typeof v === 'object' && v !== null && 'benchmarks' in v) return v as ResultsFile;
  } catch {
    // absent or unreadable: start afresh
  }
  return null;
}

/** A fixed-width text table of figures: value [min–max], reference, ratio, target, pass/fail. */
export function table(figs: readonly Figure[]): string {
  const rows = [['benchmark', 'figure', 'value [min–max]', 'reference', 'ratio', 'target', 'ok']];
  for (const f of figs) {
    const range = f.min !== undefined ? ` [${fmt(f.min)}–${fmt(f.max)}]` : '';
    rows.push([
      f.benchmark,
      f.name,
      `${fmt(f.value)} ${f.unit}${range}`,
      f.reference ? `${fmt(f.reference.value)} (${f.reference.name})` : '',
      f.ratio !== undefined ? `${fmt(f.ratio)}×` : '',
      f.target ?? '',
      f.pass === undefined ? '' : f.pass ? 'PASS' : 'MISS',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
