import { MANAGERS, type ManagedBy } from '../../daemon/launch.js';
import { normalizeArgv } from '../argv.js';
import type { GetOptions } from '../commands/getRequest.js';
import type { Globals } from '../session.js';

/**
 * The command lines the fast path runs, parsed without commander. Pure.
 *
 * Contract: `parseFastArgs(argv)` is either null ("not mine": the full CLI parses it) or exactly what
 * commander (program.ts) makes of the same line. It knows only `get`, `release`, `status`,
 * `daemon status` and `daemon run`, their options and the global ones, as `--opt value` or
 * `--opt=value`; anything else (help, an unknown or misplaced option, a value that starts with "-",
 * `--`, a missing or extra argument) is null, so every usage error keeps commander's wording.
 */
export type FastCommand =
  | { kind: 'get'; globals: Globals; model: string; options: GetOptions }
  | { kind: 'release'; globals: Globals; lease: string }
  | { kind: 'status'; globals: Globals }
  | { kind: 'daemon status'; globals: Globals }
  | { kind: 'daemon run'; globals: Globals; managedBy: ManagedBy | null };

type Spec = { value: boolean };

const GLOBAL: Record<string, Spec> = {
  '--config': { value: true },
  '--socket': { value: true },
  '--json': { value: false },
  '--no-autostart': { value: false },
};

const COMMAND: Record<string, Record<string, Spec>> = {
  get: { '--include': { value: true }, '--exclude': { value: true }, '--client': { value: true }, '--run': { value: true }, '--hold': { value: false } },
  release: {},
  status: {},
  'daemon status': {},
  'daemon run': { '--managed-by': { value: true } },
};

/** Positional arguments each command takes (exactly). */
const ARITY: Record<string, number> = { get: 1, release: 1, status: 0, 'daemon status': 0, 'daemon run': 0 };

export function parseFastArgs(argv: readonly string[]): FastCommand | null {
  const args = normalizeArgv([...argv]);
  const globals: Globals = { json: false, autostart: true };
  const opts = new Map<string, string[]>();
  const words: string[] = [];
  let command: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('-')) {
      if (command === null) {
        if (a === 'daemon') {
          if (words.length > 0) return null;
          words.push(a);
          continue;
        }
        const name = words.length > 0 ? `${words[0]} ${a}` : a;
        if (!(name in ARITY)) return null;
        command = name;
        words.length = 0;
      } else words.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const spec = command !== null && Object.hasOwn(COMMAND[command]!, name) ? COMMAND[command]![name]! : Object.hasOwn(GLOBAL, name) ? GLOBAL[name]! : null;
    if (!spec) return null;
    let value: string | null = null;
    if (spec.value) {
      value = eq > 0 ? a.slice(eq + 1) : (args[++i] ?? null);
      if (value === null || value.startsWith('-')) return null;
    } else if (eq > 0) return null;
    if (Object.hasOwn(GLOBAL, name) && !(command !== null && Object.hasOwn(COMMAND[command]!, name))) {
      if (name === '--config') globals.config = value!;
      else if (name === '--socket') globals.socket = value!;
      else if (name === '--json') globals.json = true;
      else globals.autostart = false;
    } else {
      opts.set(name, [...(opts.get(name) ?? []), value ?? '']);
    }
  }
  if (command === null || words.length !== ARITY[command]) return null;
  const last = (name: string): string | undefined => opts.get(name)?.at(-1);
  switch (command) {
    case 'get':
      return {
        kind: 'get',
        globals,
        model: words[0]!,
        options: {
          include: (opts.get('--include') ?? []).flatMap((v) => v.split(',')),
          exclude: (opts.get('--exclude') ?? []).flatMap((v) => v.split(',')),
          ...(opts.has('--client') ? { client: last('--client') } : {}),
          ...(opts.has('--run') ? { run: last('--run') } : {}),
          ...(opts.has('--hold') ? { hold: true } : {}),
        },
      };
    case 'release':
      return { kind: 'release', globals, lease: words[0]! };
    case 'status':
      return { kind: 'status', globals };
    case 'daemon status':
      return { kind: 'daemon status', globals };
    default: {
      const managedBy = last('--managed-by') ?? null;
      if (managedBy !== null && !(MANAGERS as readonly string[]).includes(managedBy)) return null;
      return { kind: 'daemon run', globals, managedBy: managedBy as ManagedBy | null };
    }
  }
}
