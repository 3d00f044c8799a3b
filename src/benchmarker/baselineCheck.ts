import fs from 'node:fs';
import { baselineSchema } from './baseline.js';
import { fmtMs } from './reportMarkdown.js';

/** The fields the old benchmarker always wrote into its baseline (durations in seconds). */
const LEGACY_FIELDS = [
  ['timestamp', 'string'],
  ['commit', 'string'],
  ['branch', 'string'],
  ['unit_tests', 'seconds'],
  ['integration_tests', 'seconds'],
] as const;

export interface BaselineCheck {
  ok: boolean;
  file: string;
  /** 'current': written by `bench --update-baseline`; 'legacy': the old script's seconds format; null when unreadable. */
  format: 'current' | 'legacy' | null;
  /** What is wrong, one line each; empty exactly when ok. */
  problems: string[];
  updatedAt: string | null;
  commit: string | null;
  branch: string | null;
  /** Median per suite in ms (for the legacy format: its seconds x 1000). */
  suites: Record<string, number>;
}

function legacyProblems(o: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [field, kind] of LEGACY_FIELDS) {
    const v = o[field];
    if (v === undefined) problems.push(`missing field "${field}"`);
    else if (kind === 'string' && typeof v !== 'string') problems.push(`"${field}" must be a string, got ${JSON.stringify(v)}`);
    else if (kind === 'seconds' && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      problems.push(`"${field}" must be a number of seconds (>= 0), got ${JSON.stringify(v)}`);
    }
  }
  return problems;
}

/**
 * Validates the baseline file (pure but for reading it): it exists, parses as JSON, and has the fields
 * of either format. A file with `schemaVersion` is judged as the current format, any other object as the
 * old script's `{timestamp, commit, unit_tests, integration_tests, branch}`.
 */
export function checkBaseline(file: string): BaselineCheck {
  const res: BaselineCheck = { ok: false, file, format: null, problems: [], updatedAt: null, commit: null, branch: null, suites: {} };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    res.problems.push(
      code === 'ENOENT' ? `${file} does not exist; write it with cache-manager bench --update-baseline` : `cannot read ${file}: ${(err as Error).message}`,
    );
    return res;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    res.problems.push(`${file} is not valid JSON: ${(err as Error).message}`);
    return res;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    res.problems.push(`${file} must hold a JSON object, got ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`);
    return res;
  }
  const o = json as Record<string, unknown>;
  if ('schemaVersion' in o) {
    res.format = 'current';
    const parsed = baselineSchema.safeParse(o);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) res.problems.push(`${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`);
    } else {
      res.updatedAt = parsed.data.updatedAt;
      res.commit = parsed.data.commit;
      res.branch = parsed.data.branch;
      for (const [name, s] of Object.entries(parsed.data.suites)) res.suites[name] = s.medianMs;
      if (Object.keys(res.suites).length === 0) res.problems.push('it has no suites; write it with cache-manager bench --update-baseline');
    }
  } else {
    res.format = 'legacy';
    res.problems.push(...legacyProblems(o));
    if (typeof o.timestamp === 'string') res.updatedAt = o.timestamp;
    if (typeof o.commit === 'string') res.commit = o.commit;
    if (typeof o.branch === 'string') res.branch = o.branch;
    for (const [field, name] of [['unit_tests', 'unit'], ['integration_tests', 'integration']] as const) {
      const v = o[field];
      if (typeof v === 'number' && Number.isFinite(v) && v >= 0) res.suites[name] = v * 1000;
    }
  }
  res.ok = res.problems.length === 0;
  return res;
}

/** Terminal text of a check. */
export function renderBaselineCheck(c: BaselineCheck): string {
  const lines: string[] = [];
  const format = c.format === 'legacy' ? ' (old script format, seconds)' : '';
  if (c.ok) {
    lines.push(`Baseline OK: ${c.file}${format}`);
    lines.push(`  updated ${c.updatedAt ?? '?'}${c.commit ? `, commit ${c.commit.slice(0, 12)}` : ''}${c.branch ? ` on ${c.branch}` : ''}`);
    for (const [name, ms] of Object.entries(c.suites)) lines.push(`  ${name}: ${fmtMs(ms)}`);
  } else {
    lines.push(`Baseline NOT usable: ${c.file}${format}`);
    lines.push(...c.problems.map((p) => `  - ${p}`));
  }
  return lines.join('\n') + '\n';
}
