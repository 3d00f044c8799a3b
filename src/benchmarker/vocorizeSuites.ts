import fs from 'node:fs';
import path from 'node:path';
import { CacheError, ErrorCodes } from '../errors.js';
import { DEFAULT_RUNS } from './selectSuites.js';
import type { BenchSuiteConfig } from './types.js';

/**
 * The built-in suites for a Vocorize checkout, used when the config has no `benchmark.suites`: each
 * suite runs one of Vocorize's test scripts, found in the working directory or its `scripts/` folder
 * (the top-level one wins), with the old benchmarker's target.
 */
export const VOCORIZE_SUITES: ReadonlyArray<{ name: string; script: string; targetMs: number | null }> = [
  { name: 'unit', script: 'test-unit.sh', targetMs: 10_000 },
  { name: 'integration', script: 'test-integration.sh', targetMs: 30_000 },
  // The whole test run had no target of its own; it is measured and compared with its baseline.
  { name: 'all', script: 'test.sh', targetMs: null },
];

const SCRIPT_DIRS = ['.', 'scripts'] as const;

/** Every path (relative to the working directory) looked at, in order. */
export function vocorizeScriptCandidates(): string[] {
  return VOCORIZE_SUITES.flatMap((s) => SCRIPT_DIRS.map((d) => (d === '.' ? s.script : `${d}/${s.script}`)));
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Vocorize suites whose script exists under `cwd`, in the order unit, integration, all. A script
 * that is executable runs as `./path` (its own interpreter line); one that is not runs with `bash`.
 */
export function detectVocorizeSuites(cwd: string, runs: number = DEFAULT_RUNS): Record<string, BenchSuiteConfig> {
  const suites: Record<string, BenchSuiteConfig> = {};
  for (const s of VOCORIZE_SUITES) {
    for (const dir of SCRIPT_DIRS) {
      const rel = dir === '.' ? s.script : `${dir}/${s.script}`;
      const abs = path.join(cwd, rel);
      if (!isFile(abs)) continue;
      suites[s.name] = { command: isExecutable(abs) ? `./${rel}` : `bash ./${rel}`, runs, targetMs: s.targetMs, cwd, env: {} };
      break;
    }
  }
  return suites;
}

/** E_USAGE for "nothing configured and nothing found": names what was looked for and how to configure suites. */
export function noSuitesError(cwd: string): CacheError {
  return new CacheError(
    ErrorCodes.USAGE,
    `no benchmark suites: the config has no benchmark.suites, and none of Vocorize's test scripts is in ${cwd} ` +
      `(looked for ${vocorizeScriptCandidates().join(', ')}). Run bench from a Vocorize checkout, add suites to ` +
      `cache-config.json ("benchmark": {"suites": {"unit": {"command": "./test-unit.sh", "target": "10s"}}}), ` +
      `or pass --suite name="command"`,
  );
}
