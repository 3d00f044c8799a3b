import fs from 'node:fs';
import type { Command } from 'commander';
import { Exit } from '../exitCodes.js';
import type { Cli } from '../cli.js';
import { prettyLogLine } from '../prettyLogLine.js';
import { resolveConfig } from '../session.js';
import { daemonLogPath } from '../startDaemonProcess.js';

/** How often `logs -f` looks for new lines, ms. */
const FOLLOW_POLL_MS = 250;

/**
 * `cache-manager logs [-f] [-n N]`: the last N lines of the daemon's one log file (daemonLogPath), then,
 * with -f, the lines appended after them until interrupted; a truncated (rotated) file is read again
 * from its start. Human-readable on a TTY, the raw JSON lines otherwise (and with --json).
 */
export function registerLogs(program: Command, cli: Cli): void {
  program
    .command('logs')
    .description("print the daemon's log (human-readable on a terminal, JSON lines otherwise)")
    .option('-f, --follow', 'keep printing lines as they are written')
    .option('-n, --lines <n>', 'how many of the last lines to print', '50')
    .action(async (o: { follow?: boolean; lines: string }, cmd: Command) => {
      const g = cli.globals(cmd);
      const n = Number(o.lines);
      if (!Number.isSafeInteger(n) || n < 0) {
        process.stderr.write(`cache-manager logs: -n takes a whole number, not ${JSON.stringify(o.lines)}\n`);
        process.exitCode = Exit.USAGE;
        return;
      }
      let file: string;
      try {
        file = daemonLogPath(resolveConfig(g));
      } catch (err) {
        process.stderr.write(`cache-manager logs: ${(err as Error).message}\n`);
        process.exitCode = Exit.USAGE;
        return;
      }
      const pretty = process.stdout.isTTY === true && !g.json;
      const print = (lines: string[]) => {
        if (lines.length > 0) process.stdout.write(lines.map((l) => (pretty ? prettyLogLine(l) : l)).join('\n') + '\n');
      };
      let pos = 0;
      try {
        const text = fs.readFileSync(file, 'utf8');
        pos = Buffer.byteLength(text);
        const lines = text.split('\n');
        if (lines[lines.length - 1] === '') lines.pop();
        print(n === 0 ? [] : lines.slice(-n));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        if (!o.follow) {
          process.stderr.write(`cache-manager logs: no log yet at ${file}\n`);
          return;
        }
      }
      if (o.follow) await follow(file, pos, print);
    });
}

/** Prints whole lines appended to `file` after byte `from`, forever (until the process is interrupted). */
async function follow(file: string, from: number, print: (lines: string[]) => void): Promise<never> {
  let pos = from;
  let partial = '';
  for (;;) {
    await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      continue;
    }
    if (size < pos) {
      pos = 0;
      partial = '';
    }
    if (size === pos) continue;
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - pos);
      const got = fs.readSync(fd, buf, 0, buf.length, pos);
      pos += got;
      const lines = (partial + buf.subarray(0, got).toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      print(lines);
    } finally {
      fs.closeSync(fd);
    }
  }
}
