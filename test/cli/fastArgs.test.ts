import type { Command } from 'commander';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFastArgs, type FastCommand } from '../../src/cli/fast/fastArgs.js';
import { buildProgram } from '../../src/cli/program.js';
import { normalizeArgv } from '../../src/cli/argv.js';

/**
 * The fast path's parser against commander, the full CLI's: for every line the fast path takes, commander
 * (stopped just before the command's action runs) sees the same command, arguments and options.
 */

const STOP = new Error('stop before the action');

type Seen = { command: string; args: string[]; opts: Record<string, unknown>; globals: Record<string, unknown> } | { error: string };

async function commanderSees(argv: string[]): Promise<Seen> {
  const program = buildProgram();
  const quiet = (cmd: Command) => {
    cmd.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
    cmd.commands.forEach(quiet);
  };
  quiet(program);
  let seen: Seen | null = null;
  program.hook('preAction', (_root, action) => {
    const names: string[] = [];
    for (let c: Command | null = action; c && c !== program; c = c.parent) names.unshift(c.name());
    seen = { command: names.join(' '), args: [...action.args], opts: { ...action.opts() }, globals: { ...program.opts() } };
    throw STOP;
  });
  try {
    await program.parseAsync(normalizeArgv(argv), { from: 'user' });
  } catch (err) {
    if (err !== STOP) return { error: String((err as Error).message ?? err) };
  }
  return seen ?? { error: 'no action' };
}

/** What commander would have to see for the fast path's reading of the line to be right. */
function expected(f: FastCommand): Seen {
  const globals: Record<string, unknown> = { autostart: f.globals.autostart };
  if (f.globals.config !== undefined) globals.config = f.globals.config;
  if (f.globals.socket !== undefined) globals.socket = f.globals.socket;
  if (f.globals.json) globals.json = true;
  switch (f.kind) {
    case 'get': {
      const opts: Record<string, unknown> = { include: f.options.include, exclude: f.options.exclude };
      if (f.options.client !== undefined) opts.client = f.options.client;
      if (f.options.run !== undefined) opts.run = f.options.run;
      if (f.options.hold) opts.hold = true;
      return { command: 'get', args: [f.model], opts, globals };
    }
    case 'release':
      return { command: 'release', args: [f.lease], opts: {}, globals };
    case 'daemon run':
      return { command: 'daemon run', args: [], opts: f.managedBy ? { managedBy: f.managedBy } : {}, globals };
    default:
      return { command: f.kind, args: [], opts: {}, globals };
  }
}

async function agrees(argv: string[]): Promise<FastCommand | null> {
  const fast = parseFastArgs(argv);
  if (fast !== null) expect(await commanderSees(argv), JSON.stringify(argv)).toEqual(expected(fast));
  return fast;
}

describe('parseFastArgs', () => {
  it('takes the lines scripts write, as commander reads them', async () => {
    const lines = [
      ['get', 'whisper-tiny'],
      ['get', 'org/model@main:sub', '--json'],
      ['--json', 'get', 'x'],
      ['get', '--json', 'x'],
      ['get', 'x', '--hold', '--client', 'swift-tests', '--run=r1'],
      ['get', 'x', '--include', 'a,b', '--include=c', '--exclude', '*.bin'],
      ['--config', '/tmp/c.json', 'get', 'x', '--socket=/tmp/s.sock', '--no-autostart'],
      ['get', ''],
      ['release', 'l-0123'],
      ['release', 'l-0123', '--json'],
      ['status'],
      ['--status'],
      ['status', '--json'],
      ['daemon', 'status'],
      ['daemon', '--json', 'status'],
      ['daemon', 'status', '--socket', '/tmp/s'],
      ['daemon', 'run', '--config', '/c.json', '--managed-by', 'autostart'],
      ['daemon', 'run', '--managed-by=systemd', '--socket', '/s'],
      ['get', 'x', '--client', 'a', '--client', 'b'],
    ];
    for (const argv of lines) expect(await agrees(argv), JSON.stringify(argv)).not.toBeNull();
  });

  it('leaves to the full CLI what it does not know, so usage errors keep their wording', async () => {
    const lines = [
      [],
      ['--help'],
      ['help', 'get'],
      ['get'],
      ['get', 'a', 'b'],
      ['get', '-x'],
      ['get', 'x', '--client'],
      ['get', 'x', '--client', '--json'],
      ['get', 'x', '--hold=1'],
      ['get', 'x', '--json=yes'],
      ['--hold', 'get', 'x'],
      ['get', '--', 'x'],
      ['get', 'x', '-h'],
      ['status', 'extra'],
      ['daemon'],
      ['daemon', 'start'],
      ['daemon', 'run', '--managed-by', 'cron'],
      ['list'],
      ['-V'],
      ['release'],
    ];
    for (const argv of lines) expect(parseFastArgs(argv), JSON.stringify(argv)).toBeNull();
  });

  it('agrees with commander on random lines made of its words and options', async () => {
    const token = fc.constantFrom(
      'get', 'release', 'status', 'daemon', 'run', 'start', 'x', 'org/m', 'l-1', '', 'a,b',
      '--json', '--no-autostart', '--config', '--config=/c', '--socket', '--socket=/s', '--hold', '--client', '--client=c',
      '--run', '--include', '--include=i', '--exclude', '--managed-by', 'launchd', '--status', '--', '-h', '--help', '--nope',
    );
    await fc.assert(
      fc.asyncProperty(fc.array(token, { maxLength: 7 }), async (argv) => {
        await agrees(argv);
      }),
      { numRuns: 1500 },
    );
  });
});

