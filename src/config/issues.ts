import { z } from '../vendor/zod.js';
import { showValue } from './units.js';

/**
 * Turns zod issues into one line per problem: `<where>: <field path>: <what is wrong>`, e.g.
 * `/home/me/cache-config.json: maxSize: expected a size like "5GB", got "lots"`.
 */

export { formatFieldPath, formatIssues, type ConfigIssue } from './issueText.js';
import { formatFieldPath, type ConfigIssue } from './issueText.js';

const EXPECTED: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  record: 'an object',
  null: 'null',
};

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The known key closest to a misspelt one, if any is close. */
export function suggestKey(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const d = k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== null && bestD <= Math.max(1, Math.min(3, Math.floor(key.length / 3))) ? best : null;
}

function bound(iss: { inclusive?: boolean }, op: '>' | '<'): string {
  return iss.inclusive === false ? op : `${op}=`;
}

/** The contextual error map for parsing the config: messages say what was expected and what was found. */
export const configErrorMap: z.core.$ZodErrorMap = (iss) => {
  const got = `got ${showValue(iss.input)}`;
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'required';
      return `expected ${EXPECTED[iss.expected] ?? iss.expected}, ${got}`;
    case 'too_small':
      if (iss.origin === 'string') return `must not be empty`;
      if (iss.origin === 'array' || iss.origin === 'set') return `must have at least ${String(iss.minimum)} item(s)`;
      return `must be ${bound(iss, '>')} ${String(iss.minimum)}, ${got}`;
    case 'too_big':
      if (iss.origin === 'string') return `must be at most ${String(iss.maximum)} characters`;
      if (iss.origin === 'array' || iss.origin === 'set') return `must have at most ${String(iss.maximum)} item(s)`;
      return `must be ${bound(iss, '<')} ${String(iss.maximum)}, ${got}`;
    case 'invalid_value':
      return `expected ${iss.values.map((v) => showValue(v)).join(' or ')}, ${got}`;
    case 'unrecognized_keys': {
      const known = iss.inst instanceof z.ZodObject ? Object.keys(iss.inst.shape) : [];
      const hint = (k: string) => {
        const s = suggestKey(k, known);
        return s ? ` (did you mean ${JSON.stringify(s)}?)` : '';
      };
      // A single key is appended to the issue's path by formatIssues, so the message need not repeat it.
      if (iss.keys.length === 1) return `unknown key${hint(iss.keys[0]!)}`;
      return `unknown keys ${iss.keys.map((k) => `${JSON.stringify(k)}${hint(k)}`).join(', ')}`;
    }
    case 'invalid_union': {
      if (iss.note === 'No matching discriminator') {
        const options = (iss as { options?: unknown[] }).options ?? [];
        const key = (iss as { discriminator?: string }).discriminator ?? 'type';
        const input = iss.input as Record<string, unknown> | undefined;
        const value = input && typeof input === 'object' ? input[key] : undefined;
        if (value === undefined) return `required (one of ${options.map((o) => showValue(o)).join(', ')})`;
        return `expected ${options.map((o) => showValue(o)).join(' or ')}, got ${showValue(value)}`;
      }
      return `not valid here, ${got}`;
    }
    case 'invalid_key':
      return iss.issues[0]?.message ?? `invalid key ${showValue(iss.input)}`;
    case 'invalid_element':
      return iss.issues[0]?.message ?? `invalid entry, ${got}`;
    case 'invalid_format':
      return `expected ${iss.format === 'regex' ? `text matching ${String(iss.pattern)}` : `a valid ${iss.format}`}, ${got}`;
    default:
      return undefined;
  }
};

/** One ConfigIssue per problem; an issue naming several unknown keys stays one line. */
export function toConfigIssues(issues: readonly z.core.$ZodIssue[]): ConfigIssue[] {
  return issues.map((iss) => {
    const path =
      iss.code === 'unrecognized_keys' && iss.keys.length === 1 ? [...iss.path, iss.keys[0]!] : iss.path;
    return { field: formatFieldPath(path), message: iss.message };
  });
}
