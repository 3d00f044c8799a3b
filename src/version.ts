import fs from 'node:fs';

/** The package version, read from package.json: the one place it is written. Cheap (no heavy imports). */
export const VERSION = (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
