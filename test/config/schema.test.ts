import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, configJsonSchemaText } from '../../src/config/jsonSchema.js';
import { loadConfig } from '../../src/config/load.js';
import { useTempDir } from '../support/useTempDir.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const schemaFile = path.join(repoRoot, 'cache-config.schema.json');
const exampleFile = path.join(repoRoot, 'cache-config.json');

const tmp = useTempDir();

describe('cache-config.schema.json', () => {
  it('equals what the zod schema emits (regenerate: UPDATE_CONFIG_SCHEMA=1 npx vitest run test/config/schema.test.ts)', () => {
    const generated = configJsonSchemaText();
    if (process.env.UPDATE_CONFIG_SCHEMA === '1') fs.writeFileSync(schemaFile, generated);
    expect(fs.readFileSync(schemaFile, 'utf8')).toBe(generated);
  });

  it('describes the file shape: strict objects, every documented top-level field, size/duration patterns', () => {
    const s = configJsonSchema() as {
      additionalProperties: boolean;
      properties: Record<string, { anyOf?: { pattern?: string }[]; additionalProperties?: boolean }>;
    };
    expect(s.additionalProperties).toBe(false);
    expect(Object.keys(s.properties).sort()).toEqual(
      [
        '$schema', 'cacheDir', 'socketPath', 'maxSize', 'lowWatermark', 'origins', 'models', 'download', 'leaseTtl',
        'revalidateAfter', 'offline', 'accounting', 'log', 'metrics', 'hubMirror', 'benchmark', 'frameLimit',
      ].sort(),
    );
    expect(s.properties.download?.additionalProperties).toBe(false);
    const sizePattern = new RegExp(s.properties.maxSize?.anyOf?.find((a) => a.pattern)?.pattern ?? '(?!)', 'u');
    expect(['5GB', '750MB', '4GiB', '1048576'].every((v) => sizePattern.test(v))).toBe(true);
    expect(sizePattern.test('lots')).toBe(false);
    const durationPattern = new RegExp(s.properties.leaseTtl?.anyOf?.find((a) => a.pattern)?.pattern ?? '(?!)', 'u');
    expect(['7d', '30s', '30m', '24h', '500ms'].every((v) => durationPattern.test(v))).toBe(true);
    expect(durationPattern.test('soon')).toBe(false);
  });
});

describe("the repository's cache-config.json", () => {
  it('validates, points editors at the schema, and resolves ~ paths to the home dir', () => {
    const raw = JSON.parse(fs.readFileSync(exampleFile, 'utf8')) as Record<string, unknown>;
    expect(raw.$schema).toBe('./cache-config.schema.json');
    const home = tmp.path;
    const c = loadConfig({ configPath: exampleFile, env: {}, home, platform: 'linux', cwd: home });
    expect(c.source).toEqual({ kind: 'flag', path: exampleFile });
    expect(c.cacheDir).toBe(path.join(home, '.cache', 'vocorize', 'models'));
    expect(c.socketPath.startsWith(home)).toBe(true);
    expect(c.maxSize).toBe(5e9);
    expect(Object.keys(c.models)).toEqual(['whisper-tiny', 'whisper-base', 'mlx-tiny']);
    expect(Object.keys(c.benchmark.suites).length).toBeGreaterThan(0);
    for (const suite of Object.values(c.benchmark.suites)) {
      expect(suite.command.length).toBeGreaterThan(0);
      expect(path.isAbsolute(suite.cwd)).toBe(true);
    }
  });
});
