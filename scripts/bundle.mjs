#!/usr/bin/env node
// Build step after tsc (and bundle-vendor.mjs): bundles what ships into a few files with rolldown.
//
//   dist/<folder>/main.js   every process entry (globbed: each dist/*/main.js; today dist/cli/main.js),
//                           rewritten as its bundle: the fast path and what it imports, in one file;
//   dist/chunks/*.js        everything an entry imports on demand (the full CLI, the daemon, maintenance,
//                           reports, ...), split by rolldown at each dynamic import().
//
// The input is tsc's per-module output in dist/ (kept: tests load single modules from it). New modules
// need no entry here: rolldown follows every static and dynamic import from the entries. Packages
// with native code (a binding.gyp, or gypfile in their package.json) stay external, loaded from
// node_modules at run time, as do packages listed in NOT_BUNDLED. No source maps (nothing maps the hot
// path at run time). The version is inlined, so a chunk need not find package.json from where it lies.
//
// Chunks live one folder below dist/, like the modules they hold, so paths a module resolves against
// its own location (`new URL('../cli/main.js', import.meta.url)`, the package root two levels up for
// the launchd templates, createRequire for cli-progress) mean the same in the bundle.
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'rolldown';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const chunksDir = path.join(dist, 'chunks');
const MARK = '// vocorize-cache bundle: built by scripts/bundle.mjs from the tsc output\n';
/** Pure-JS packages that still must not be bundled (none today). */
const NOT_BUNDLED = [];

const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

const entries = {};
for (const d of fs.readdirSync(dist, { withFileTypes: true })) {
  const main = path.join(dist, d.name, 'main.js');
  if (!d.isDirectory() || d.name === 'chunks' || !fs.existsSync(main)) continue;
  if (fs.readFileSync(main, 'utf8').includes(MARK.trim())) {
    throw new Error(`${main} is already a bundle: run tsc first (npm run build does both)`);
  }
  entries[`${d.name}/main`] = main;
}
if (!entries['cli/main']) throw new Error('dist/cli/main.js is missing: run tsc -p tsconfig.build.json first');

function isNative(name) {
  const dir = path.join(root, 'node_modules', name);
  if (fs.existsSync(path.join(dir, 'binding.gyp'))) return true;
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).gypfile === true;
  } catch {
    return false;
  }
}
const external = [...Object.keys(pkg.dependencies ?? {}).filter(isNative), ...NOT_BUNDLED];
const isExternal = (id) => external.some((name) => id === name || id.startsWith(`${name}/`));

const versionModule = path.join(dist, 'version.js');
const inlineVersion = {
  name: 'inline-version',
  load(id) {
    if (path.resolve(id) === versionModule) return `export const VERSION = ${JSON.stringify(pkg.version)};\n`;
    return null;
  },
};

/**
 * Each entry's static import closure (what runs before its first dynamic import) goes into one chunk of
 * its own, `chunks/<folder>-fast-<hash>.js`, even where the lazily loaded code shares those modules: the
 * fast path then reads two files, not one per shared piece.
 */
const closures = new Map();
const staticClosure = {
  name: 'static-closure',
  buildEnd() {
    for (const [name, file] of Object.entries(entries)) {
      const seen = new Set();
      const stack = [path.resolve(file)];
      while (stack.length > 0) {
        const id = stack.pop();
        const info = this.getModuleInfo(id);
        if (!info || info.isExternal || seen.has(id)) continue;
        seen.add(id);
        stack.push(...info.importedIds);
      }
      seen.delete(path.resolve(file));
      closures.set(name, seen);
    }
  },
};

fs.rmSync(chunksDir, { recursive: true, force: true });
await build({
  input: entries,
  cwd: root,
  platform: 'node',
  external: isExternal,
  plugins: [inlineVersion, staticClosure],
  logLevel: 'warn',
  output: {
    dir: dist,
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: 'chunks/[name]-[hash].js',
    sourcemap: false,
    minify: false,
    banner: (chunk) => (chunk.isEntry ? MARK : ''),
    codeSplitting: {
      groups: Object.keys(entries).map((name) => ({
        name: `${name.split('/')[0]}-fast`,
        test: (id) => closures.get(name)?.has(path.resolve(id)) === true,
        priority: 1,
      })),
    },
  },
});

// tsc's maps of the entries no longer describe them.
for (const file of Object.values(entries)) fs.rmSync(`${file}.map`, { force: true });

const shipped = [...Object.keys(entries).map((e) => `dist/${e}.js`), ...fs.readdirSync(chunksDir).map((f) => `dist/chunks/${f}`)];
process.stdout.write(`bundled ${Object.keys(entries).join(', ')}: ${shipped.length} files; external: ${external.join(', ') || 'none'}\n`);
