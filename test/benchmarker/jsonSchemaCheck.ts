/**
 * A tiny JSON Schema (draft 2020-12) checker for the keywords the report schema uses. An unknown
 * keyword throws, so the checker can never pass a document by ignoring part of the schema.
 */
type Schema = Record<string, unknown>;

const IGNORED = new Set(['$schema', 'description', 'title']);
const KNOWN = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'const', 'pattern', 'enum', 'minimum', 'maximum',
  'exclusiveMinimum', 'minLength', 'items', 'anyOf', 'maxItems', 'minItems', 'propertyNames',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function checkJsonSchema(schema: Schema, value: unknown, at = '$'): string[] {
  for (const k of Object.keys(schema)) {
    if (!KNOWN.has(k) && !IGNORED.has(k)) throw new Error(`schema keyword ${k} at ${at} is not supported by the test checker`);
  }
  const errs: string[] = [];
  const t = typeOf(value);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    const ok = types.some((x) => x === t || (x === 'number' && t === 'integer'));
    if (!ok) return [`${at}: expected ${types.join('|')}, got ${t}`];
  }
  if (schema.anyOf !== undefined) {
    const branches = schema.anyOf as Schema[];
    if (!branches.some((b) => checkJsonSchema(b, value, at).length === 0)) errs.push(`${at}: matches no anyOf branch`);
  }
  if ('const' in schema && value !== schema.const) errs.push(`${at}: expected ${JSON.stringify(schema.const)}`);
  if (schema.enum !== undefined && !(schema.enum as unknown[]).includes(value)) errs.push(`${at}: ${JSON.stringify(value)} not in enum`);
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errs.push(`${at}: below minimum`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errs.push(`${at}: above maximum`);
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) errs.push(`${at}: not above exclusiveMinimum`);
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) errs.push(`${at}: shorter than minLength`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) errs.push(`${at}: does not match ${schema.pattern}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) errs.push(`${at}: fewer than minItems`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) errs.push(`${at}: more than maxItems`);
    if (schema.items) value.forEach((v, i) => errs.push(...checkJsonSchema(schema.items as Schema, v, `${at}[${i}]`)));
  }
  if (t === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) errs.push(`${at}: missing ${r}`);
    for (const [k, v] of Object.entries(obj)) {
      if (schema.propertyNames) errs.push(...checkJsonSchema(schema.propertyNames as Schema, k, `${at}{${k}}`));
      const p = props[k];
      if (p) errs.push(...checkJsonSchema(p, v, `${at}.${k}`));
      else if (schema.additionalProperties === false) errs.push(`${at}: unexpected property ${k}`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        errs.push(...checkJsonSchema(schema.additionalProperties as Schema, v, `${at}.${k}`));
      }
    }
  }
  return errs;
}
