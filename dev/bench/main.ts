import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cli } from './benchmarks/cli.js';
import { bigModel } from './benchmarks/bigModel.js';
import { evictPlan } from './benchmarks/evictPlan.js';
import { hash } from './benchmarks/hash.js';
import { firstHit } from './benchmarks/firstHit.js';
import { hitLatency } from './benchmarks/hitLatency.js';
import { hitThroughput } from './benchmarks/hitThroughput.js';
import { hubMirror } from './benchmarks/hubMirror.js';
import { miss } from './benchmarks/miss.js';
import { restore } from './benchmarks/restore.js';
import { soak } from './benchmarks/soak.js';
import { startup } from './benchmarks/startup.js';
import { tier } from './benchmarks/tier.js';
import { performanceSection, replaceBetweenMarkers } from './readmeTable.js';
import { machine, readResults, table, type ResultsFile } from './report.js';
import type { Benchmark, BenchContext, Figure } from './types.js';

/**
 * `npm run bench [-- <name>...] [--reps N] [--out FILE]`: runs the named benchmarks (default all), prints a
 * table and merges their figures into bench/results.json (other registered benchmarks' last figures are
 * kept; entries of benchmarks no longer registered are dropped).
 * `node build/dev/bench/main.js --readme [--results FILE] [--readme-file FILE]`: runs nothing; rewrites the
 * performance section of README.md (between its markers) from bench/results.json.
 */
const BENCHMARKS: Benchmark[] = [hitLatency, hitThroughput, hash, miss, bigModel, restore, evictPlan, startup, firstHit, soak, cli, tier, hubMirror];

/** Compiled to build/dev/bench/main.js; the product it measures is the shipped build in <repo>/dist. */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const distDir = path.join(repoRoot, 'dist');


interface Args {
  names: string[];
  reps: number;
  out: string;
  /** Regenerate the README's performance section instead of running benchmarks. */
  readme: boolean;
  readmeFile: string;
}

function parseArgs(argv: string[]): Args {
  const names: string[] = [];
  let reps = 5;
  let out = path.join(repoRoot, 'bench', 'results.json');
  let readme = false;
  let readmeFile = path.join(repoRoot, 'README.md');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--reps') reps = Number(argv[++i]);
    else if (a === '--out' || a === '--results') out = path.resolve(argv[++i]!);
    else if (a === '--readme') readme = true;
    else if (a === '--readme-file') readmeFile = path.resolve(argv[++i]!);
    else if (a === '--list') {
      for (const b of BENCHMARKS) process.stdout.write(`${b.name.padEnd(15)} ${b.describe}\n`);
      process.exit(0);
    } else names.push(a);
  }
  if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps must be a positive integer');
  return { names, reps, out, readme, readmeFile };
}

/** Rewrites the performance section of `readmeFile` from the results file `from`; exit code. */
function writeReadme(from: string, readmeFile: string): number {
  const results = readResults(from);
  if (!results) {
    process.stderr.write(`no results in ${from}: run \`npm run bench\` first\n`);
    return 2;
  }
  let text: string;
  try {
    text = replaceBetweenMarkers(fs.readFileSync(readmeFile, 'utf8'), performanceSection(results, BENCHMARKS.map((b) => b.name)));
  } catch (err) {
    process.stderr.write(`${readmeFile}: ${(err as Error).message}\n`);
    return 2;
  }
  fs.writeFileSync(readmeFile, text);
  process.stdout.write(`${readmeFile}: performance section regenerated from ${from}\n`);
  return 0;
}

async function main(): Promise<void> {
  const { names, reps, out, readme, readmeFile } = parseArgs(process.argv.slice(2));
  if (readme) {
    process.exitCode = writeReadme(out, readmeFile);
    return;
  }
  const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  const selected = names.length ? BENCHMARKS.filter((b) => names.includes(b.name)) : BENCHMARKS;
  const ctx: BenchContext = { reps, distDir, log: (m) => process.stderr.write(`  ${m}\n`) };
  const prev = readResults(out);
  const kept = Object.entries(prev?.benchmarks ?? {}).filter(([name]) => BENCHMARKS.some((b) => b.name === name));
  const results: ResultsFile = { generatedAt: new Date().toISOString(), machine: machine(), benchmarks: Object.fromEntries(kept) };
  const figs: Figure[] = [];
  const t0 = performance.now();
  let failed = false;
  for (const b of selected) {
    process.stderr.write(`[${b.name}] ${b.describe}\n`);
    const s = performance.now();
    const loadavgStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
    try {
      const f = await b.run(ctx);
      figs.push(...f);
      results.benchmarks[b.name] = { ranAt: new Date().toISOString(), durationMs: Math.round(performance.now() - s), figures: f, loadavgStart };
    } catch (err) {
      failed = true;
      process.stderr.write(`[${b.name}] failed: ${(err as Error).stack ?? String(err)}\n`);
      results.benchmarks[b.name] = { ranAt: new Date().toISOString(), durationMs: Math.round(performance.now() - s), figures: [], error: String(err), loadavgStart };
    }
    process.stderr.write(`[${b.name}] ${((performance.now() - s) / 1000).toFixed(1)} s\n`);
  }
  results.machine.loadavgEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  results.durationMs = Math.round(performance.now() - t0);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${table(figs)}\n\n${selected.length} benchmark(s) in ${((performance.now() - t0) / 1000).toFixed(1)} s; results: ${out}; load average start ${results.machine.loadavgStart.join(' ')}, end ${results.machine.loadavgEnd.join(' ')}\n`);
  process.exitCode = failed ? 1 : 0;
}

await main();
