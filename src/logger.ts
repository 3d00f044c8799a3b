import fs from 'node:fs';
import path from 'node:path';
import { pino, type Logger } from 'pino';

/**
 * JSON-lines logs (pino). Tokens and Authorization headers are redacted wherever they appear,
 * so a Hub token can never reach a log file.
 */
export function createLogger(opts: { level: string; file: string | null; name?: string }): Logger {
  const redact = {
    paths: ['token', '*.token', '*.*.token', 'headers.authorization', '*.headers.authorization', 'authorization'],
    censor: '***',
  };
  if (opts.file) {
    fs.mkdirSync(path.dirname(opts.file), { recursive: true });
    const dest = pino.destination({ dest: opts.file, sync: false, mkdir: true });
    return pino({ level: opts.level, name: opts.name ?? 'vocorize-cache', redact }, dest);
  }
  return pino({ level: opts.level, name: opts.name ?? 'vocorize-cache', redact }, pino.destination(2));
}

export type { Logger };

/**
 * The one logging interface of src/, in pino's argument order: the fields first, then the message.
 * A pino Logger is one. A module asks for the methods it uses (`Pick<Log, 'warn' | 'debug'>`), so a
 * test can pass a small fake; importing it is type-only and never loads pino.
 */
export interface Log {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
