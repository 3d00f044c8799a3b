/**
 * zod, for the whole code base, through this one module. `npm run build` replaces its output
 * (dist/vendor/zod.js) with a single-file bundle of the same pinned zod (scripts/bundle-vendor.mjs):
 * Node's ESM loader would otherwise read, link and compile ~95 files of zod (its 60 locales included)
 * in every CLI process and at every daemon start, ~30 ms each time. Under vitest this is plain zod.
 */
export { z } from 'zod';
