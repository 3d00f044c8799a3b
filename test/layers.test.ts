import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The import rule of src/: every folder is one layer and imports only from layers below it (or from
 * itself); nothing in src/ imports dev/ or test/; no file takes part in an import cycle (type-only
 * imports included). The order is the one docs/design.md draws.
 */
const LAYERS: string[][] = [
  ['errors.ts', 'version.ts', 'logger.ts', 'faults.ts', 'vendor'],
  ['config', 'lru', 'ipc'],
  ['db', 'store'],
  ['origin', 'accounting'],
  ['cache'],
  ['maintenance'],
  ['service'],
  ['hubMirror'],
  ['daemon', 'benchmarker'],
  ['cli'],
];
/** The one door of daemon/ the CLI may use: how a daemon is launched, in this process or another. */
const CLI_MAY_IMPORT_FROM_DAEMON = new Set(['daemon/launch.ts']);

const SRC = path.resolve(import.meta.dirname, '../src');

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (/\.ts$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Relative imports of a file, resolved to absolute .ts paths. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    if (!spec || !spec.startsWith('.')) continue;
    const abs = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
    out.push(abs);
  }
  return out;
}

/** 'cache' for src/cache/x.ts, 'errors.ts' for src/errors.ts. */
function unitOf(abs: string): string {
  const rel = path.relative(SRC, abs);
  return rel.split(path.sep)[0]!;
}

function rankOf(unit: string): number {
  const r = LAYERS.findIndex((l) => l.includes(unit));
  if (r < 0) throw new Error(`src/${unit} is in no layer: add it to LAYERS in test/layers.test.ts and to docs/design.md`);
  return r;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe('the layers of src/', () => {
  it('every import resolves to a file of src/ and points down (or within its own folder)', () => {
    const bad: string[] = [];
    for (const [file, imports] of graph) {
      const from = unitOf(file);
      for (const target of imports) {
        const rel = path.relative(SRC, target);
        if (rel.startsWith('..')) {
          bad.push(`src/${path.relative(SRC, file)} imports ${rel}: src/ must not import dev/, test/ or anything outside it`);
          continue;
        }
        if (!fs.existsSync(target)) {
          bad.push(`src/${path.relative(SRC, file)} imports src/${rel}, which does not exist`);
          continue;
        }
        const to = unitOf(target);
        if (from === to) continue;
        if (from === 'cli' && to === 'daemon') {
          if (!CLI_MAY_IMPORT_FROM_DAEMON.has(rel)) bad.push(`src/${path.relative(SRC, file)} imports src/${rel}: the CLI reaches daemon/ only through daemon/launch.ts`);
          continue;
        }
        if (rankOf(to) >= rankOf(from)) {
          bad.push(`src/${path.relative(SRC, file)} (layer ${from}) imports src/${rel} (layer ${to}): not below it`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('has no import cycles between files', () => {
    // Tarjan's strongly connected components over the file graph.
    let index = 0;
    const idx = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    const visit = (v: string): void => {
      idx.set(v, index);
      low.set(v, index);
      index++;
      stack.push(v);
      onStack.add(v);
      for (const w of graph.get(v) ?? []) {
        if (!graph.has(w)) continue;
        if (!idx.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
      if (low.get(v) === idx.get(v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(path.relative(SRC, w));
        } while (w !== v);
        if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(comp.sort());
      }
    };
    for (const f of graph.keys()) if (!idx.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it('the rule itself sees imports (a check that cannot fail is no check)', () => {
    const cli = [...graph.keys()].find((f) => f.endsWith(`${path.sep}cli${path.sep}main.ts`));
    expect(cli).toBeDefined();
    expect(graph.get(cli!)!.length).toBeGreaterThan(0);
    expect(rankOf('cli')).toBeGreaterThan(rankOf('cache'));
  });
});
