import { z } from '../vendor/zod.js';
import { configFileSchema } from './schema.js';

/**
 * The JSON Schema of cache-config.json for editors, emitted from the zod schema's input side (what is
 * written in the file). The committed `cache-config.schema.json` must equal `configJsonSchemaText()`;
 * test/config/schema.test.ts checks it, and rewrites it when run with UPDATE_CONFIG_SCHEMA=1.
 */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configFileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
}

export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
