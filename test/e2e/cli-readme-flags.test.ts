import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeSandbox } from './harness.js';

/**
 * The README's Commands table is a contract: every flag it documents for a command is one that
 * `cache-manager <command> [<subcommand>] --help` lists (or a global option of `cache-manager --help`).
 */
const README = fs.readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');

interface Row {
  commands: string[];
  flags: string[];
}

/** The rows of the table under `## Commands`: the commands of the first cell, and the flags the row names. */
function commandRows(): Row[] {
  const section = README.slice(README.indexOf('## Commands'), README.indexOf('\n## ', README.indexOf('## Commands') + 1));
  const rows: Row[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    // Cells are split on pipes that are not escaped (`\|` is part of a cell).
    const [first = '', ...rest] = line.slice(1).split(/(?<!\\)\|/);
    const spans = (s: string) => [...s.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/\\\|/g, '|'));
    const flagsIn = (s: string) => [...s.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]);
    const commands = spans(first).map((s) => s.split(' ')[0]!);
    // The first cell's flags, and code spans of the description that are a flag themselves (`--hold`).
    const flags = [...flagsIn(spans(first).join(' ')), ...spans(rest.join('|')).filter((s) => s.startsWith('--')).flatMap(flagsIn)];
    rows.push({ commands: [...new Set(commands)], flags: [...new Set(flags)] });
  }
  return rows;
}

const sb = makeSandbox();
afterAll(() => sb.cleanup());

async function help(args: string[]): Promise<string> {
  const r = await sb.cli([...args, '--help']);
  expect(r.code, `${args.join(' ')} --help: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** The subcommands a help page lists under "Commands:" (without commander's own `help`). */
function subcommands(page: string): string[] {
  const at = page.indexOf('\nCommands:\n');
  if (at < 0) return [];
  return page
    .slice(at + '\nCommands:\n'.length)
    .split('\n')
    .map((l) => /^ {2}([a-z][a-z-]*)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined && n !== 'help');
}

describe('README Commands table', () => {
  const rows = commandRows();

  it('is found and names the commands', () => {
    expect(rows.length).toBeGreaterThan(15);
    expect(rows.flatMap((r) => r.commands)).toEqual(expect.arrayContaining(['get', 'leases', 'restore', 'stats', 'report', 'config', 'daemon', 'help']));
  });

  it('documents only flags that `<command> --help` lists', async () => {
    const globalPage = await help([]);
    const missing: string[] = [];
    for (const row of rows) {
      let pages = globalPage;
      for (const cmd of row.commands) {
        const page = await help([cmd]);
        pages += page;
        for (const sub of subcommands(page)) pages += await help([cmd, sub]);
      }
      for (const flag of row.flags) {
        if (!new RegExp(`(^|[\\s,])${flag}(?![a-z-])`, 'm').test(pages)) missing.push(`${row.commands.join('/')} ${flag}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
