#!/usr/bin/env node
import { endQuietlyOnClosedStdout } from './closedStdout.js';
import { parseFastArgs } from './fast/fastArgs.js';
import { runFast } from './fast/runFast.js';

/**
 * The `cache-manager` entry. The commands scripts call in loops (get, release, status, daemon status)
 * and the daemon's own start (daemon run) take the fast path (fast/), which loads only what they need;
 * every other command line, and any of those the fast path hands over, runs through the full CLI
 * (program.ts), loaded here on demand.
 */
endQuietlyOnClosedStdout();
const argv = process.argv.slice(2);
const fast = parseFastArgs(argv);
if (fast === null || (await runFast(fast)) === 'hand-over') {
  const { runProgram } = await import('./program.js');
  await runProgram(argv);
}
