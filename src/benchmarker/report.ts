import fs from 'node:fs';
import path from 'node:path';
import { CacheError, ErrorCodes } from '../errors.js';
import { renderBenchMarkdown } from './reportMarkdown.js';
import { parseBenchReport } from './reportSchema.js';
import type { BenchReport } from './types.js';

export { renderBenchMarkdown };

const REPORT_RE = /^performance_report_(\d{8}_\d{6}(?:_\d+)?)\.json$/;

/** `YYYYmmdd_HHMMSS` in local time, as the old script's `date +%Y%m%d_%H%M%S`. */
export function reportStamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export function reportPaths(outDir: string, id: string): { markdown: string; json: string } {
  return { markdown: path.join(outDir, `performance_report_${id}.md`), json: path.join(outDir, `performance_report_${id}.json`) };
}

/** A report id for this moment that no report in outDir uses yet (`_2`, `_3`... within one second). */
export function allocateReportId(outDir: string, ms: number): string {
  const stamp = reportStamp(ms);
  for (let n = 1; ; n++) {
    const id = n === 1 ? stamp : `${stamp}_${n}`;
    const p = reportPaths(outDir, id);
    if (!fs.existsSync(p.json) && !fs.existsSync(p.markdown)) return id;
  }
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** `latest.md` and `latest.json`: copies (not symlinks, so they survive any file system, archive or upload) of the newest report. */
export function latestPaths(outDir: string): { markdown: string; json: string } {
  return { markdown: path.join(outDir, 'latest.md'), json: path.join(outDir, 'latest.json') };
}

/**
 * Writes the Markdown and JSON of a report, then the same bytes as `latest.md`/`latest.json` when this
 * report is the newest in outDir; returns the report's own paths.
 */
export function writeReportFiles(outDir: string, r: BenchReport): { markdown: string; json: string } {
  fs.mkdirSync(outDir, { recursive: true });
  const p = reportPaths(outDir, r.id);
  const json = JSON.stringify(r, null, 2) + '\n';
  const markdown = renderBenchMarkdown(r);
  writeAtomic(p.json, json);
  writeAtomic(p.markdown, markdown);
  const newest = listReportIds(outDir).at(-1);
  if (newest === undefined || compareIds(r.id, newest) >= 0) {
    const latest = latestPaths(outDir);
    writeAtomic(latest.json, json);
    writeAtomic(latest.markdown, markdown);
  }
  return p;
}

/** Ids of the JSON reports in outDir, oldest first. */
function listReportIds(outDir: string): string[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(outDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return names.flatMap((n) => REPORT_RE.exec(n)?.slice(1, 2) ?? []).sort(compareIds);
}

/** Orders ids by time, then by their `_N` suffix (the first of a second has none). */
function compareIds(a: string, b: string): number {
  const key = (id: string): [string, number] => {
    const m = /^(\d{8}_\d{6})(?:_(\d+))?$/.exec(id);
    return [m?.[1] ?? id, Number(m?.[2] ?? 1)];
  };
  const [sa, na] = key(a);
  const [sb, nb] = key(b);
  return sa === sb ? na - nb : sa < sb ? -1 : 1;
}

/**
 * The newest JSON report in outDir (by its id), validated. None: E_USAGE telling to run the benchmark
 * first; the newest one invalid: E_USAGE naming the file and the field.
 */
export function readLatestReport(outDir: string): { report: BenchReport; file: string } {
  const id = listReportIds(outDir).at(-1);
  if (id === undefined) {
    throw new CacheError(ErrorCodes.USAGE, `no benchmark report in ${outDir} to re-render; run cache-manager bench first`);
  }
  const file = reportPaths(outDir, id).json;
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CacheError(ErrorCodes.USAGE, `${file} is not readable JSON (${(err as Error).message}); run cache-manager bench for a new report`);
  }
  const parsed = parseBenchReport(json);
  if (!parsed.ok) throw new CacheError(ErrorCodes.USAGE, `${file} is not a benchmark report (${parsed.problem}); run cache-manager bench for a new report`);
  return { report: parsed.report, file };
}
