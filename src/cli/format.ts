import { formatBytes, formatMs } from '../accounting/reportFormat.js';

/** Human formatting shared by the renderers. Sizes are decimal (1 MB = 10^6 bytes), as macOS and the Hub show them. */
export function mb(bytes: number): string {
  return `${Math.round(bytes / 1e6)}MB`;
}

/** A byte count for people: "512 B", "1.5 kB", "12.3 MB", "2.30 GB" (the reports' formatter: one style everywhere). */
export function size(bytes: number): string {
  return formatBytes(bytes);
}

export function pct(rate: number | null): string {
  return rate === null ? '0%' : `${Math.round(rate * 1000) / 10}%`;
}

export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

/**
 * A duration for people, the one style of every command and report: "0.12 ms", "8.7 ms", "250 ms",
 * "1.6 s", "2 min 5 s", "1 h 3 min". Sub-millisecond times keep two decimals (never "0ms").
 */
export function duration(ms: number): string {
  return formatMs(ms);
}

/**
 * Characters a terminal would act on rather than show: C0 controls, DEL, C1 controls (CSI and friends),
 * the Unicode line and paragraph separators and the bidirectional overrides and isolates.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_BUT_LAYOUT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const escapeChar = (c: string): string => JSON.stringify(c).slice(1, -1).replace(/^[\u007f-\uffff]$/, (x) => `\\u${x.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * A user-supplied string (client label, run id, model name, lease id, message) made safe to print as one
 * field of human output: every character in UNSAFE, newlines and tabs included, is shown as its JSON
 * escape (`\n`, `\u001b`), so it can neither break a line or a table nor reach the terminal as a control.
 * Printable text passes through unchanged. Never applied to --json output, which stays exact.
 */
export function printable(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}

/** A whole human page made safe to print: like printable, but its own newlines and tabs (layout) are kept. */
export function printableText(text: string): string {
  return text.replace(UNSAFE_BUT_LAYOUT, escapeChar);
}

/** Fixed-width table; the first row is the header. Cells are printable()d. */
export function table(input: string[][]): string {
  if (input.length === 0) return '';
  const rows = input.map((r) => r.map(printable));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** The message of a thrown value: an Error's message, anything else as text. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
