/** Command-line forms shared by the full CLI (program.ts) and the fast path (fast/). */

/** The old flag form (`cache-manager.sh --clean`) maps to the subcommand. */
export function normalizeArgv(args: string[]): string[] {
  const legacy = new Set(['--clean', '--verify', '--status', '--optimize', '--warm', '--help']);
  const i = args.findIndex((a) => !a.startsWith('-') || legacy.has(a));
  if (i >= 0 && legacy.has(args[i]!)) return [...args.slice(0, i), args[i]!.slice(2), ...args.slice(i + 1)];
  return args;
}

/** Whether --json was given as an option (not after `--`), even when the rest of the line did not parse. */
export function wantsJson(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).includes('--json');
}
