import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The AWS SDK is loaded only when the fleet tier is used: no module reachable by static imports from
 * the CLI's entry point or from the daemon imports it at load time (type-only imports are erased).
 * Dynamic import() edges are where loading on first use happens, so they are not followed.
 */
const SRC = path.resolve(import.meta.dirname, '../../../src');
const STATIC_IMPORT = /(?:^|\n)\s*(import|export)\s+(?!type\s)([^'";]*?)\s*from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

function staticImports(file: string): { relative: string[]; packages: string[] } {
  const text = fs.readFileSync(file, 'utf8');
  const relative: string[] = [];
  const packages: string[] = [];
  for (const m of text.matchAll(STATIC_IMPORT)) {
    const clause = m[2] ?? '';
    // `import { type A, type B } from` is type-only too.
    if (clause.startsWith('{') && clause.replace(/[{}\s]/g, '').split(',').every((p) => p === '' || p.startsWith('type'))) continue;
    const spec = m[3] ?? m[4]!;
    if (spec.startsWith('.')) relative.push(path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'));
    else packages.push(spec);
  }
  return { relative, packages };
}

function closure(entries: string[]): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const todo = [...entries];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f) || !fs.existsSync(f)) continue;
    const { relative, packages } = staticImports(f);
    seen.set(f, packages);
    todo.push(...relative);
  }
  return seen;
}

describe('the AWS SDK loads on first use only', () => {
  it('no static import of @aws-sdk from the CLI entry point or the daemon', () => {
    const daemonDir = path.join(SRC, 'daemon');
    const entries = [path.join(SRC, 'cli', 'main.ts'), ...fs.readdirSync(daemonDir).filter((f) => f.endsWith('.ts')).map((f) => path.join(daemonDir, f))];
    const graph = closure(entries);
    expect(graph.size).toBeGreaterThan(50);
    const loaders = [...graph].filter(([, pkgs]) => pkgs.some((p) => p.startsWith('@aws-sdk/'))).map(([f]) => path.relative(SRC, f));
    expect(loaders).toEqual([]);
  });

  it('the tier modules do reach the SDK, through a dynamic import', () => {
    const text = fs.readFileSync(path.join(SRC, 'origin', 's3', 's3Client.ts'), 'utf8');
    expect(text).toContain("import('@aws-sdk/client-s3')");
    expect(staticImports(path.join(SRC, 'origin', 's3', 's3Client.ts')).packages.filter((p) => p.startsWith('@aws-sdk/'))).toEqual([]);
  });
});
