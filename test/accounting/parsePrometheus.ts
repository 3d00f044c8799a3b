/** A label set of one sample: name to unescaped value. */
type Labels = Record<string, string>;

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
 * A strict parser of the Prometheus text format 0.0.4, for tests that read `metrics`. Rejects:
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
