import path from 'node:path';
import type { Writable } from 'node:stream';
import { measureCommand } from './measure.js';
import { spreadOf } from './spread.js';
import type { BenchSuiteConfig, CacheRunPort, RunMeasurement, SuiteCache, SuiteResult } from './types.js';

export interface RunSuitesOptions {
  /** In the order they run. */
  suites: Array<{ name: string; suite: BenchSuiteConfig }>;
  /** null: the cache is not consulted and the cache sections say so. */
  port: CacheRunPort | null;
  /** Logs go to `<logDir>/<suite>-<n>.log`. */
  logDir: string;
  /** Added to each run label: `bench <suite> <labelSuffix>`. */
  labelSuffix?: string;
  /** The environment the suites inherit; default process.env. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Per run; default none. */
  timeoutMs?: number | null;
  /** Copy the suites' output here (verbose). */
  echo?: Writable | null;
  log?: (line: string) => void;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function failureOf(m: RunMeasurement, index: number): string | null {
  if (m.interrupted) return `run ${index + 1} was interrupted (${m.signal ?? 'signal'} to the benchmarker)`;
  if (m.timedOut) return `run ${index + 1} timed out after ${Math.round(m.wallMs)} ms`;
  if (m.signal !== null) return `run ${index + 1} was killed by ${m.signal}`;
  if (m.exitCode !== 0) return `run ${index + 1} exited with code ${m.exitCode}`;
  return null;
}

function mergedEnv(base: NodeJS.ProcessEnv, extra: Record<string, string>, runId: string | null): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  Object.assign(env, extra);
  if (runId !== null) env.VOCORIZE_CACHE_RUN = runId;
  return env;
}

/**
 * Runs each suite `runs` times, one after the other, each suite inside its own cache run scope
 * (started before its first run, ended after its last; the suite sees the id as VOCORIZE_CACHE_RUN),
 * then reads that scope's numbers. A port that is missing or throws never stops a suite: its cache
 * section says why there are no numbers. A run that fails (exit code, signal, timeout) ends that
 * suite's runs; the figures are over the runs that were measured. A run interrupted by a signal to the
 * benchmarker ends all suites: the ones not started are left out.
 */
export async function runSuites(o: RunSuitesOptions): Promise<SuiteResult[]> {
  const log = o.log ?? (() => undefined);
  const results: SuiteResult[] = [];
  let interrupted = false;
  for (const { name, suite } of o.suites) {
    if (interrupted) break;
    const cache: SuiteCache = { runId: null, reachable: false, note: null, stats: null };
    if (o.port === null) {
      cache.note = 'daemon not reachable (no cache connection)';
    } else {
      try {
        cache.runId = await o.port.startRun(`bench ${name}${o.labelSuffix ? ` ${o.labelSuffix}` : ''}`);
        cache.reachable = true;
      } catch (err) {
        cache.note = `daemon not reachable: ${messageOf(err)}`;
      }
    }

    const measurements: RunMeasurement[] = [];
    let failure: string | null = null;
    for (let i = 0; i < suite.runs; i++) {
      log(`bench: ${name} run ${i + 1}/${suite.runs}`);
      const m = await measureCommand({
        command: suite.command,
        cwd: suite.cwd,
        env: mergedEnv(o.baseEnv ?? process.env, suite.env, cache.runId),
        logPath: path.join(o.logDir, `${name}-${i + 1}.log`),
        timeoutMs: o.timeoutMs ?? null,
        echo: o.echo ?? null,
      });
      measurements.push(m);
      failure = failureOf(m, i);
      interrupted = m.interrupted;
      if (failure !== null) {
        log(`bench: ${name} ${failure} (log: ${m.logPath})`);
        break;
      }
    }

    if (o.port !== null && cache.runId !== null) {
      try {
        await o.port.endRun(cache.runId);
        cache.stats = await o.port.runStats(cache.runId);
        if (cache.stats === null) cache.note = `the cache has no numbers for run ${cache.runId}`;
      } catch (err) {
        cache.reachable = false;
        cache.note = `daemon not reachable: ${messageOf(err)}`;
      }
    }

    const cpu = measurements.flatMap((m) => (m.userMs !== null && m.sysMs !== null ? [m.userMs + m.sysMs] : []));
    const rss = measurements.flatMap((m) => (m.peakRssBytes !== null ? [m.peakRssBytes] : []));
    results.push({
      name,
      command: suite.command,
      cwd: suite.cwd,
      runsRequested: suite.runs,
      targetMs: suite.targetMs,
      measurements,
      ok: failure === null,
      failure,
      time: spreadOf(measurements.map((m) => m.wallMs)),
      cpuMedianMs: spreadOf(cpu)?.median ?? null,
      peakRss: spreadOf(rss),
      cache,
    });
  }
  return results;
}
