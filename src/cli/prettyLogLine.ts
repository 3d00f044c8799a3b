const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** pino's own fields: shown in the line's head, not repeated as key=value. */
const HEAD = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

/**
 * One log line for a human: a pino JSON line becomes `<ISO time> <LEVEL> [<pid>] <msg> key=value ...`
 * (values that are not strings or numbers as JSON). Any other line (what a process printed before its
 * logger existed, a crash's stack) is returned as is.
 */
export function prettyLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let o: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return line;
    o = parsed as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof o.level !== 'number' || typeof o.time !== 'number') return line;
  const head = [
    new Date(o.time).toISOString(),
    (LEVELS[o.level] ?? String(o.level)).padEnd(5),
    ...(typeof o.pid === 'number' ? [`[${o.pid}]`] : []),
    ...(typeof o.msg === 'string' ? [o.msg] : []),
  ];
  const fields = Object.entries(o)
    .filter(([k]) => !HEAD.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v)}`);
  return [...head, ...fields].join(' ');
}
