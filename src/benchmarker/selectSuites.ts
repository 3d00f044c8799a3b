import { CacheError, ErrorCodes } from '../errors.js';
import type { BenchSuiteConfig } from './types.js';

/** Runs per suite given on the command line (`--suite`) when the config does not say. */
export const DEFAULT_RUNS = 3;

/** Same rule as config suite names; names become log file names. */
const SUITE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Parses `name=cmd` (the shell has already removed quotes; surrounding quotes left in are dropped). */
export function parseSuiteFlag(flag: string): { name: string; command: string } {
  const eq = flag.indexOf('=');
  const name = eq > 0 ? flag.slice(0, eq).trim() : '';
  let command = eq > 0 ? flag.slice(eq + 1).trim() : '';
  if (command.length >= 2 && (command[0] === '"' || command[0] === "'") && command.endsWith(command[0] as string)) {
    command = command.slice(1, -1).trim();
  }
  if (!SUITE_NAME.test(name) || command === '') {
    throw new CacheError(
      ErrorCodes.USAGE,
      `--suite ${JSON.stringify(flag)} must be name="command" with a name of letters, digits, ".", "_" or "-" (e.g. --suite unit="npm run test:unit")`,
    );
  }
  return { name, command };
}

export interface SelectSuitesInput {
  /** From the config (`benchmark.suites`). */
  suites: Readonly<Record<string, BenchSuiteConfig>>;
  /** `--suite name="cmd"`: when given, only these run; a name also in the config keeps its runs, target, cwd and env. */
  cliSuites?: readonly string[];
  /** `--only a,b`: run only these names. */
  only?: readonly string[];
  /** `--quick`: one run per suite. */
  quick?: boolean;
  /** Working directory of command-line suites not in the config. */
  cwd: string;
}

/** The suites to run, in order (pure). Unknown `--only` names and an empty selection are usage errors. */
export function selectSuites(i: SelectSuitesInput): Array<{ name: string; suite: BenchSuiteConfig }> {
  let chosen: Array<{ name: string; suite: BenchSuiteConfig }>;
  if (i.cliSuites && i.cliSuites.length > 0) {
    const byName = new Map<string, BenchSuiteConfig>();
    for (const flag of i.cliSuites) {
      const { name, command } = parseSuiteFlag(flag);
      if (byName.has(name)) throw new CacheError(ErrorCodes.USAGE, `--suite ${name} is given twice`);
      const base = i.suites[name];
      byName.set(name, base ? { ...base, command } : { command, runs: DEFAULT_RUNS, targetMs: null, cwd: i.cwd, env: {} });
    }
    chosen = [...byName].map(([name, suite]) => ({ name, suite }));
  } else {
    chosen = Object.entries(i.suites).map(([name, suite]) => ({ name, suite }));
  }
  if (i.only && i.only.length > 0) {
    const known = new Set(chosen.map((c) => c.name));
    const unknown = i.only.filter((n) => !known.has(n));
    if (unknown.length > 0) {
      throw new CacheError(
        ErrorCodes.USAGE,
        `--only names unknown suite(s) ${unknown.join(', ')}; known: ${[...known].join(', ') || 'none'}`,
      );
    }
    const keep = new Set(i.only);
    chosen = chosen.filter((c) => keep.has(c.name));
  }
  if (chosen.length === 0) {
    throw new CacheError(ErrorCodes.USAGE, 'no benchmark suites: add benchmark.suites to cache-config.json or pass --suite name="command"');
  }
  return chosen.map(({ name, suite }) => ({ name, suite: i.quick ? { ...suite, runs: 1 } : suite }));
}
