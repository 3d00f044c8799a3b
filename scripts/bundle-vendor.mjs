#!/usr/bin/env node
// Build step after tsc: bundles zod into one ESM file at dist/vendor/zod.js (see src/vendor/zod.ts).
// The output exports exactly what src/vendor/zod.ts exports; if this step is skipped the tsc output
// (a re-export of 'zod') still works, only slower to load.
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'rolldown';

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, 'dist', 'vendor', 'zod.js');
const entry = path.join(root, 'dist', 'vendor', 'zod.entry.js');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(entry, "export { z } from 'zod';\n");
try {
  await build({
    input: entry,
    cwd: root,
    platform: 'node',
    logLevel: 'warn',
    output: { file: out, format: 'esm', minify: false, sourcemap: false },
  });
} finally {
  fs.rmSync(entry, { force: true });
  fs.rmSync(`${out}.map`, { force: true }); // tsc's map of the re-export no longer applies
}
const { z } = await import(out);
if (typeof z?.object !== 'function') throw new Error(`${out}: the bundle does not export z`);
