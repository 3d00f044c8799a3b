import type { ErrorShape } from '../errors.js';
import { printable, printableText } from './format.js';

/**
 * The one place that prints. Commands return data; with --json the data is printed as one JSON
 * document on stdout, otherwise the command's human renderer turns it into text. Errors go to stderr
 * (and, with --json, also as {"error": {...}} on stdout so scripts always get a document).
 * Human text and messages pass through printableText/printable (no terminal controls reach the user);
 * JSON documents are printed exactly.
 */
export interface Output {
  json: boolean;
  result<D>(data: D, human: (data: D) => string): void;
  error(err: ErrorShape): void;
  /** Diagnostics and progress: stderr only. */
  note(line: string): void;
}

export function createOutput(opts: { json: boolean; stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream }): Output {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  return {
    json: opts.json,
    result(data, human) {
      if (opts.json) {
        stdout.write(`${JSON.stringify(data, null, 2)}\n`);
        return;
      }
      const text = printableText(human(data));
      if (text.length > 0) stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    error(err) {
      const hint = err.retryable ? ' (retrying may help)' : '';
      stderr.write(`cache-manager: ${printableText(err.message)} [${printable(String(err.code))}]${hint}\n`);
      if (opts.json) stdout.write(`${JSON.stringify({ error: err }, null, 2)}\n`);
    },
    note(line) {
      stderr.write(`${printableText(line)}\n`);
    },
  };
}
