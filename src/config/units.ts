/**
 * Human sizes and durations, as written in cache-config.json and on the command line.
 *
 * Sizes: a whole byte count (number or digit string), or a number with a unit. Decimal units
 * (kB, MB, GB, TB: powers of 1000) and binary units (KiB, MiB, GiB, TiB: powers of 1024), case-insensitive,
 * an optional space between number and unit: "5GB", "750 MB", "4GiB", "1.5gb", "1048576".
 * Durations: whole milliseconds (number or digit string), or a number with a unit
 * ms, s, m (minutes), h, d, w (lower case): "500ms", "30s", "30m", "24h", "7d", "1.5h".
 * Results are whole numbers (rounded), never negative, at most Number.MAX_SAFE_INTEGER.
 *
 * The patterns below are the single source for both the parsers and the JSON Schema of the config file.
 */

/** Accepted size strings; groups: 1 = number, 2 = unit (may be empty). */
export const SIZE_PATTERN = /^(\d+(?:\.\d+)?) ?((?:[kKmMgGtT][iI]?)?[bB])?$/;
/** Accepted duration strings; groups: 1 = number, 2 = unit (may be empty). */
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?) ?(ms|s|m|h|d|w)?$/;

export const SIZE_HINT = 'a size like "5GB"';
export const DURATION_HINT = 'a duration like "30s"';

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

const DURATION_UNITS: Record<string, number> = {
  '': 1,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Shows a user-supplied value in a message: JSON for strings and literals, shortened. */
export function showValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = typeof v === 'number' && !Number.isFinite(v) ? String(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function parseUnits(
  v: string | number,
  pattern: RegExp,
  units: Record<string, number>,
  hint: string,
  normalizeUnit: (u: string) => string,
): number {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new Error(`expected ${hint} or a whole non-negative number, got ${showValue(v)}`);
    }
    return v;
  }
  if (typeof v !== 'string') throw new Error(`expected ${hint}, got ${showValue(v)}`);
  const m = pattern.exec(v);
  const mult = m ? units[normalizeUnit(m[2] ?? '')] : undefined;
  if (!m || mult === undefined) throw new Error(`expected ${hint}, got ${showValue(v)}`);
  const n = Math.round(Number(m[1]) * mult);
  if (!Number.isSafeInteger(n)) throw new Error(`${showValue(v)} is too large`);
  return n;
}

/** Bytes of a size ("5GB" -> 5e9, "4GiB" -> 4294967296, 1024 -> 1024). Throws Error naming the bad value. */
export function parseSize(v: string | number): number {
  return parseUnits(v, SIZE_PATTERN, SIZE_UNITS, SIZE_HINT, (u) => u.toLowerCase());
}

/** Milliseconds of a duration ("7d" -> 604800000, "500ms" -> 500, 250 -> 250). Throws Error naming the bad value. */
export function parseDuration(v: string | number): number {
  return parseUnits(v, DURATION_PATTERN, DURATION_UNITS, DURATION_HINT, (u) => u);
}

/**
 * Decimal megabytes as a whole number, without the unit: 1234567 -> "1", 12_345_678 -> "12",
 * 5e9 -> "5000". Always an integer because scripts read the status page's `<N>MB` with shell integer
 * tests (`[ "$N" -gt 5120 ]`), which reject "1.2".
 */
export function formatMB(bytes: number): string {
  return String(Math.round(bytes / 1e6));
}

const BYTE_UNITS: { unit: string; size: number; digits: number }[] = [
  { unit: 'kB', size: 1e3, digits: 1 },
  { unit: 'MB', size: 1e6, digits: 1 },
  { unit: 'GB', size: 1e9, digits: 2 },
  { unit: 'TB', size: 1e12, digits: 2 },
];

/** Human decimal size: "512 B", "1.5 kB", "1.5 MB", "2.30 GB", "1.20 TB" (never "1000.0 kB"). */
export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  const abs = Math.abs(bytes);
  if (abs < 1000) return `${sign}${Math.round(abs)} B`;
  let i = BYTE_UNITS.length - 1;
  while (i > 0 && abs < BYTE_UNITS[i]!.size) i--;
  let u = BYTE_UNITS[i]!;
  let text = (abs / u.size).toFixed(u.digits);
  if (Number(text) >= 1000 && i < BYTE_UNITS.length - 1) {
    u = BYTE_UNITS[i + 1]!;
    text = (abs / u.size).toFixed(u.digits);
  }
  return `${sign}${text} ${u.unit}`;
}
