import { describe, expect, it } from 'vitest';
import { prettyLogLine } from '../../src/cli/prettyLogLine.js';

describe('prettyLogLine', () => {
  it('turns a pino line into time, level, pid, message and key=value fields', () => {
    const l = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), pid: 7, hostname: 'h', name: 'vocorize-cache', msg: 'socket file removed', socket: '/s', n: 3, err: { code: 'E_X' } });
    expect(prettyLogLine(l)).toBe('2026-01-02T03:04:05.006Z WARN  [7] socket file removed socket=/s n=3 err={"code":"E_X"}');
  });

  it('returns anything else as is', () => {
    for (const l of ['cache-manager daemon: x [E_LOCKED]', '{not json', '{"a":1}', '', '    at foo (bar.js:1:1)']) expect(prettyLogLine(l)).toBe(l);
  });
});
