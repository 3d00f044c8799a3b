/**
 * How config problems are written, without the schema library: `<where>: <field path>: <what is wrong>`,
 * e.g. `/home/me/cache-config.json: maxSize: expected a size like "5GB", got "lots"`. Kept apart from
 * issues.ts (which maps zod's issues) so that reading a config needs no zod until a file is wrong.
 */

export interface ConfigIssue {
  /** Field path as written in messages: `download.stallTimeout`, `origins[0].type`, `(top level)`. */
  field: string;
  message: string;
}

const IDENT = /^[A-Za-z_$][\w$-]*$/;

export function formatFieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      out += IDENT.test(s) ? (out === '' ? s : `.${s}`) : `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}

/** `<where>: <field>: <message>`, one line per issue. */
export function formatIssues(where: string, issues: readonly ConfigIssue[]): string {
  return issues.map((i) => `${where}: ${i.field}: ${i.message}`).join('\n');
}
