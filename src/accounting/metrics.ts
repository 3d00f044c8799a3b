import type Database from 'better-sqlite3';
import { readBuckets, readDurationsMs } from './buckets.js';
import { cumulativeHistogram, groupBuckets, sumBuckets } from './statsMath.js';

/** Gauges only the daemon knows (the index does not). */
export interface MetricGauges {
  cacheBytes: number;
  limitBytes: number;
  models: number;
  leases: number;
  lastVerify?: { ts: number; ok: boolean } | null;
}

/** Upper bounds (seconds) of the download-duration histogram. */
export const DOWNLOAD_SECONDS_BOUNDS: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/**
 * What `metrics --format json` prints and the benchmarker reads. Request counters cover the whole
 * history (raw events plus rolled-up days; a `stats --zero` does not lower them: counters never go down),
 * or one run's requests when collected for a run.
 */
export interface Metrics {
  run: string | null;
  requests: { hit: number; miss: number; error: number };
  hitRate: number | null;
  bytesServed: number;
  bytesDownloaded: number;
  bytesAvoided: number;
  timeSavedMs: number;
  perModel: Array<{ model: string; hit: number; miss: number; error: number }>;
  cache: { bytes: number; limitBytes: number; models: number };
  evictions: { total: number; bytes: number };
  /** Durations of misses in seconds: cumulative counts per upper bound; +Inf = count. */
  downloadSeconds: { bounds: number[]; buckets: number[]; count: number; sum: number };
  leases: number;
  lastVerify: { ts: number; ok: boolean } | null;
}

export function collectMetrics(db: Database.Database, gauges: MetricGauges, opts: { run?: string | undefined } = {}): Metrics {
  const scope = { sinceMs: null, run: opts.run ?? null };
  const buckets = readBuckets(db, scope);
  const t = sumBuckets(buckets);
  // Raw misses at their own time; each rolled-up miss at its row's mean miss time (only totals survive).
  const observations: Array<{ value: number; count: number }> = readDurationsMs(db, scope, 'miss').map((ms) => ({
    value: ms / 1000,
    count: 1,
  }));
  for (const b of buckets) {
    if (b.rolledUp && b.misses > 0) observations.push({ value: b.missMsTotal / b.misses / 1000, count: b.misses });
  }
  const h = cumulativeHistogram(observations, DOWNLOAD_SECONDS_BOUNDS);
  const ev = db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes FROM evictions').get() as { n: number; bytes: number };
  return {
    run: scope.run,
    requests: { hit: t.hits, miss: t.misses, error: t.errors },
    hitRate: t.hitRate,
    bytesServed: t.bytesServed,
    bytesDownloaded: t.bytesDownloaded,
    bytesAvoided: t.bytesAvoided,
    timeSavedMs: t.timeSavedMs,
    perModel: groupBuckets(buckets, (b) => b.model).map(({ key, totals }) => ({
      model: key,
      hit: totals.hits,
      miss: totals.misses,
      error: totals.errors,
    })),
    cache: { bytes: gauges.cacheBytes, limitBytes: gauges.limitBytes, models: gauges.models },
    evictions: { total: ev.n, bytes: ev.bytes },
    downloadSeconds: { bounds: [...DOWNLOAD_SECONDS_BOUNDS], buckets: h.buckets, count: h.count, sum: h.sum },
    leases: gauges.leases,
    lastVerify: gauges.lastVerify ?? null,
  };
}

type Labels = Record<string, string>;

/** A label value in the text format: backslash, double quote and line feed escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function sample(name: string, labels: Labels, value: number): string {
  const keys = Object.keys(labels);
  const l = keys.length ? `{${keys.map((k) => `${k}="${escapeLabelValue(labels[k]!)}"`).join(',')}}` : '';
  return `${name}${l} ${formatValue(value)}`;
}

/**
 * Prometheus text exposition format 0.0.4: per family one `# HELP`, one `# TYPE`, then its samples
 * contiguously; counters end in `_total`; the histogram has cumulative `_bucket{le}` with `+Inf`,
 * `_sum` and `_count`; the text ends with a line feed.
 */
export function renderPrometheus(m: Metrics): string {
  const out: string[] = [];
  const runLabel: Labels = m.run === null ? {} : { run: m.run };
  const family = (name: string, type: 'counter' | 'gauge' | 'histogram', help: string, samples: string[]) => {
    out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`, ...samples);
  };
  const P = 'vocorize_cache_';

  family(`${P}requests_total`, 'counter', 'get requests by outcome (hit: no origin transfer; miss: >= 1 file from an origin; error: no path).', [
    sample(`${P}requests_total`, { ...runLabel, outcome: 'hit' }, m.requests.hit),
    sample(`${P}requests_total`, { ...runLabel, outcome: 'miss' }, m.requests.miss),
    sample(`${P}requests_total`, { ...runLabel, outcome: 'error' }, m.requests.error),
  ]);
  family(
    `${P}model_requests_total`,
    'counter',
    'get requests by model (snapshot key, or the requested reference for errors) and outcome.',
    m.perModel.flatMap((r) => [
      sample(`${P}model_requests_total`, { ...runLabel, model: r.model, outcome: 'hit' }, r.hit),
      sample(`${P}model_requests_total`, { ...runLabel, model: r.model, outcome: 'miss' }, r.miss),
      sample(`${P}model_requests_total`, { ...runLabel, model: r.model, outcome: 'error' }, r.error),
    ]),
  );
  family(`${P}bytes_served_total`, 'counter', 'Bytes of the models handed to clients.', [sample(`${P}bytes_served_total`, runLabel, m.bytesServed)]);
  family(`${P}bytes_downloaded_total`, 'counter', 'Bytes transferred from origins.', [
    sample(`${P}bytes_downloaded_total`, runLabel, m.bytesDownloaded),
  ]);
  family(`${P}bytes_avoided_total`, 'counter', 'Bytes of the models served on hits (not downloaded again).', [
    sample(`${P}bytes_avoided_total`, runLabel, m.bytesAvoided),
  ]);
  family(`${P}time_saved_seconds_total`, 'counter', 'For each hit, the last measured fetch time of its model.', [
    sample(`${P}time_saved_seconds_total`, runLabel, m.timeSavedMs / 1000),
  ]);
  const hname = `${P}download_duration_seconds`;
  family(hname, 'histogram', 'Duration of get requests that were misses (download and admission).', [
    ...m.downloadSeconds.bounds.map((le, i) =>
      sample(`${hname}_bucket`, { ...runLabel, le: formatValue(le) }, m.downloadSeconds.buckets[i] ?? 0),
    ),
    sample(`${hname}_bucket`, { ...runLabel, le: '+Inf' }, m.downloadSeconds.count),
    sample(`${hname}_sum`, runLabel, m.downloadSeconds.sum),
    sample(`${hname}_count`, runLabel, m.downloadSeconds.count),
  ]);
  family(`${P}size_bytes`, 'gauge', 'Bytes of the cached models.', [sample(`${P}size_bytes`, {}, m.cache.bytes)]);
  family(`${P}limit_bytes`, 'gauge', 'Configured size limit in bytes.', [sample(`${P}limit_bytes`, {}, m.cache.limitBytes)]);
  family(`${P}models`, 'gauge', 'Models in the cache.', [sample(`${P}models`, {}, m.cache.models)]);
  family(`${P}evictions_total`, 'counter', 'Models removed from the cache (LRU, evict, clean, replaced).', [
    sample(`${P}evictions_total`, {}, m.evictions.total),
  ]);
  family(`${P}evicted_bytes_total`, 'counter', 'Bytes freed by evictions.', [sample(`${P}evicted_bytes_total`, {}, m.evictions.bytes)]);
  family(`${P}leases`, 'gauge', 'Active leases (models in use by clients).', [sample(`${P}leases`, {}, m.leases)]);
  family(`${P}last_verify_timestamp_seconds`, 'gauge', 'When the last verify finished (Unix seconds); absent if never.', [
    ...(m.lastVerify ? [sample(`${P}last_verify_timestamp_seconds`, {}, m.lastVerify.ts / 1000)] : []),
  ]);
  family(`${P}last_verify_ok`, 'gauge', '1 if the last verify found no problem, 0 if it did; absent if never.', [
    ...(m.lastVerify ? [sample(`${P}last_verify_ok`, {}, m.lastVerify.ok ? 1 : 0)] : []),
  ]);
  return `${out.join('\n')}\n`;
}

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface ParsedSample {
  name: string;
  labels: Labels;
  value: number;
  timestampMs?: number;
}

export interface ParsedFamily {
  name: string;
  type: MetricType;
  help: string | null;
  samples: ParsedSample[];
}

export class PrometheusParseError extends Error {
  /** `line` is 1-based; null for a family-level problem (e.g. a histogram's buckets). */
  constructor(
    readonly line: number | null,
    message: string,
  ) {
    super(line === null ? message : `line ${line}: ${message}`);
    this.name = 'PrometheusParseError';
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/**
 * A strict parser of the text format 0.0.4, for tests and for clients that read `metrics`. Rejects:
 * a missing final line feed, bad metric or label names, bad escapes, unquoted or duplicate labels,
 * unparsable values, a TYPE after the family's samples or twice, a family whose samples are not
 * contiguous, a duplicate series, a negative counter, and a histogram whose buckets are not cumulative
 * or lack `+Inf` / `_sum` / `_count`, or whose `+Inf` bucket differs from `_count`.
 */
export function parsePrometheus(text: string): Map<string, ParsedFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new PrometheusParseError(text.split('\n').length, 'text must end with a line feed');
  const families = new Map<string, ParsedFamily>();
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: string | null = null;
  const lines = text.split('\n');
  lines.pop();

  const switchTo = (fam: string, lineNo: number) => {
    if (current === fam) return;
    if (closed.has(fam)) throw new PrometheusParseError(lineNo, `samples of ${fam} are not contiguous`);
    if (current !== null) closed.add(current);
    current = fam;
  };
  /** `x_bucket`/`x_sum`/`x_count` belong to family `x` when `x` is a histogram (summary: `_sum`/`_count`). */
  const familyOf = (sampleName: string): string => {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      if (!sampleName.endsWith(suffix)) continue;
      const base = families.get(sampleName.slice(0, -suffix.length));
      if (base && (base.type === 'histogram' || (base.type === 'summary' && suffix !== '_bucket'))) return base.name;
    }
    return sampleName;
  };

  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.replace(/^[ \t]+/, '');
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
      if (!m) return; // any other comment
      const [, kind, name, rest = ''] = m;
      if (!METRIC_NAME.test(name!)) throw new PrometheusParseError(lineNo, `bad metric name ${JSON.stringify(name)}`);
      let f = families.get(name!);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest.trim())) throw new PrometheusParseError(lineNo, `unknown type ${JSON.stringify(rest)}`);
        if (f && f.samples.length > 0) throw new PrometheusParseError(lineNo, `TYPE of ${name} after its samples`);
        if (f && f.type !== 'untyped') throw new PrometheusParseError(lineNo, `second TYPE for ${name}`);
        if (!f) families.set(name!, (f = { name: name!, type: 'untyped', help: null, samples: [] }));
        f.type = rest.trim() as MetricType;
      } else {
        if (f && f.help !== null) throw new PrometheusParseError(lineNo, `second HELP for ${name}`);
        if (!f) families.set(name!, (f = { name: name!, type: 'untyped', help: null, samples: [] }));
        f.help = unescapeHelp(rest, lineNo);
      }
      switchTo(name!, lineNo);
      return;
    }
    const s = parseSampleLine(line, lineNo);
    const fam = familyOf(s.name);
    let f = families.get(fam);
    if (!f) families.set(fam, (f = { name: fam, type: 'untyped', help: null, samples: [] }));
    switchTo(fam, lineNo);
    const id = `${s.name}{${Object.keys(s.labels)
      .sort()
      .map((k) => `${k}=${JSON.stringify(s.labels[k])}`)
      .join(',')}}`;
    if (series.has(id)) throw new PrometheusParseError(lineNo, `duplicate series ${id}`);
    series.add(id);
    if (f.type === 'counter' && !(s.value >= 0)) throw new PrometheusParseError(lineNo, `counter ${s.name} is negative or NaN`);
    if (f.type === 'histogram' && s.name === `${fam}_bucket` && s.labels.le === undefined) {
      throw new PrometheusParseError(lineNo, `${s.name} without an le label`);
    }
    f.samples.push(s);
  });

  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: ParsedFamily): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { buckets: [] }));
    if (s.name === `${f.name}_bucket`) {
      const bound = parseValue(le!);
      if (bound === null) throw new PrometheusParseError(null, `${f.name}: bad le ${JSON.stringify(le)}`);
      g.buckets.push([bound, s.value]);
    } else if (s.name === `${f.name}_sum`) g.sum = s.value;
    else if (s.name === `${f.name}_count`) g.count = s.value;
    else throw new PrometheusParseError(null, `${f.name}: unexpected sample ${s.name}`);
  }
  for (const g of groups.values()) {
    g.buckets.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < g.buckets.length; i++) {
      if (g.buckets[i]![1] < g.buckets[i - 1]![1]) throw new PrometheusParseError(null, `${f.name}: buckets are not cumulative`);
    }
    const inf = g.buckets.find(([b]) => b === Infinity);
    if (!inf) throw new PrometheusParseError(null, `${f.name}: no +Inf bucket`);
    if (g.sum === undefined || g.count === undefined) throw new PrometheusParseError(null, `${f.name}: missing _sum or _count`);
    if (inf[1] !== g.count) throw new PrometheusParseError(null, `${f.name}: +Inf bucket ${inf[1]} differs from _count ${g.count}`);
  }
}

function parseValue(v: string): number | null {
  if (v === '+Inf' || v === 'Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  if (v === 'NaN') return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) return null;
  return Number(v);
}

function unescapeHelp(s: string, lineNo: number): string {
  return s.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    throw new PrometheusParseError(lineNo, `bad escape \\${c} in HELP`);
  });
}

function parseSampleLine(line: string, lineNo: number): ParsedSample {
  const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nm) throw new PrometheusParseError(lineNo, `bad metric name in ${JSON.stringify(line)}`);
  const name = nm[0];
  let pos = name.length;
  const labels: Labels = {};
  if (line[pos] === '{') {
    pos++;
    for (;;) {
      while (line[pos] === ' ' || line[pos] === '\t') pos++;
      if (line[pos] === '}') {
        pos++;
        break;
      }
      const ln = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(pos));
      if (!ln || !LABEL_NAME.test(ln[0])) throw new PrometheusParseError(lineNo, `bad label name at column ${pos + 1}`);
      const lname = ln[0];
      pos += lname.length;
      while (line[pos] === ' ' || line[pos] === '\t') pos++;
      if (line[pos] !== '=') throw new PrometheusParseError(lineNo, `expected = after label ${lname}`);
      pos++;
      while (line[pos] === ' ' || line[pos] === '\t') pos++;
      if (line[pos] !== '"') throw new PrometheusParseError(lineNo, `label ${lname} value is not quoted`);
      pos++;
      let value = '';
      for (;;) {
        const c = line[pos];
        if (c === undefined) throw new PrometheusParseError(lineNo, `unterminated value of label ${lname}`);
        pos++;
        if (c === '"') break;
        if (c === '\\') {
          const e = line[pos++];
          if (e === '\\') value += '\\';
          else if (e === '"') value += '"';
          else if (e === 'n') value += '\n';
          else throw new PrometheusParseError(lineNo, `bad escape \\${e ?? ''} in label ${lname}`);
        } else value += c;
      }
      if (Object.hasOwn(labels, lname)) throw new PrometheusParseError(lineNo, `duplicate label ${lname}`);
      labels[lname] = value;
      while (line[pos] === ' ' || line[pos] === '\t') pos++;
      if (line[pos] === ',') pos++;
      else if (line[pos] !== '}') throw new PrometheusParseError(lineNo, `expected , or } after label ${lname}`);
    }
  }
  const rest = line.slice(pos);
  const parts = /^[ \t]+(\S+)(?:[ \t]+(\S+))?[ \t]*$/.exec(rest);
  if (!parts) throw new PrometheusParseError(lineNo, `expected a value after ${name}`);
  const value = parseValue(parts[1]!);
  if (value === null) throw new PrometheusParseError(lineNo, `bad value ${JSON.stringify(parts[1])}`);
  const out: ParsedSample = { name, labels, value };
  if (parts[2] !== undefined) {
    if (!/^-?\d+$/.test(parts[2])) throw new PrometheusParseError(lineNo, `bad timestamp ${JSON.stringify(parts[2])}`);
    out.timestampMs = Number(parts[2]);
  }
  return out;
}

/** The value of one series in a parsed exposition, or undefined. */
export function sampleValue(families: Map<string, ParsedFamily>, name: string, labels: Labels = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(s.labels);
      if (keys.length === Object.keys(labels).length && keys.every((k) => s.labels[k] === labels[k])) return s.value;
    }
  }
  return undefined;
}
