import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nextBaseline, readBaseline, writeBaseline } from '../../src/benchmarker/baseline.js';
import { appendHistory, readHistory, type HistoryEntry } from '../../src/benchmarker/history.js';
import { parseSuiteFlag, selectSuites } from '../../src/benchmarker/selectSuites.js';
import { spreadOf } from '../../src/benchmarker/spread.js';
import { suite } from './helpers.js';
import { useTempDir } from '../support/useTempDir.js';

const tmp = useTempDir();

describe('parseSuiteFlag / selectSuites', () => {
  it.each([
    ['unit=npm run test:unit', 'unit', 'npm run test:unit'],
    ['unit="npm run test:unit"', 'unit', 'npm run test:unit'],
    ["int='make it'", 'int', 'make it'],
    ['a.b-c_d=x=y', 'a.b-c_d', 'x=y'],
  ])('%s', (flag, name, command) => {
    expect(parseSuiteFlag(flag)).toEqual({ name, command });
  });

  it.each(['nocommand', '=cmd', 'unit=', 'unit=""', '../x=cmd', 'a b=cmd'])('rejects %j with E_USAGE', (flag) => {
    expect(() => parseSuiteFlag(flag)).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });

  const configured = { unit: suite('npm test', { runs: 5, targetMs: 10_000, cwd: '/repo', env: { A: '1' } }), integ: suite('make integ', { runs: 2 }) };

  it('config suites in order; --only filters; --quick makes one run', () => {
    expect(selectSuites({ suites: configured, cwd: '/here' }).map((s) => [s.name, s.suite.runs])).toEqual([['unit', 5], ['integ', 2]]);
    expect(selectSuites({ suites: configured, only: ['integ'], quick: true, cwd: '/here' }).map((s) => [s.name, s.suite.runs])).toEqual([['integ', 1]]);
  });

  it('command-line suites replace the set, default to 3 runs in cwd, and inherit settings of a configured name', () => {
    const s = selectSuites({ suites: configured, cliSuites: ['unit=vitest run', 'new=echo hi'], cwd: '/here' });
    expect(s).toEqual([
      { name: 'unit', suite: { command: 'vitest run', runs: 5, targetMs: 10_000, cwd: '/repo', env: { A: '1' } } },
      { name: 'new', suite: { command: 'echo hi', runs: 3, targetMs: null, cwd: '/here', env: {} } },
    ]);
    expect(() => selectSuites({ suites: {}, cliSuites: ['a=x', 'a=y'], cwd: '/' })).toThrow(/given twice/);
  });
});

describe('baseline file', () => {
  it('writes and reads back; a run only replaces the suites that ran cleanly', () => {
    const file = path.join(tmp.path, 'sub', 'performance_baseline.json');
    expect(readBaseline(file)).toEqual({ baseline: null, problem: null });
    const machine = { os: 'Linux', release: '6', arch: 'x64', cpus: 2, cpuModel: null, nodeVersion: 'v20', totalMemoryBytes: 1e9 };
    const ok = { name: 'a', ok: true, time: { median: 100, min: 90, max: 120 }, measurements: [{}, {}, {}], peakRss: { median: 5e6, min: 5e6, max: 6e6 } };
    const first = nextBaseline(null, [ok, { ...ok, name: 'b' }] as never, { now: 't1', git: { commit: 'c1', branch: 'main' }, machine });
    writeBaseline(file, first);
    const read = readBaseline(file);
    expect(read.problem).toBeNull();
    expect(read.baseline).toEqual(first);
    expect(read.baseline?.suites.a).toEqual({ medianMs: 100, minMs: 90, maxMs: 120, runs: 3, peakRss: { median: 5e6, min: 5e6, max: 6e6 }, commit: 'c1', recordedAt: 't1' });

    const second = nextBaseline(first, [{ ...ok, time: { median: 200, min: 200, max: 200 } }, { ...ok, name: 'b', ok: false }] as never, { now: 't2', git: { commit: 'c2', branch: 'main' }, machine });
    expect(second.suites.a?.medianMs).toBe(200);
    expect(second.suites.a?.commit).toBe('c2');
    expect(second.suites.b).toEqual(first.suites.b);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['performance_baseline.json']);
  });

  it.each([
    ['[]', /not a baseline/],
    ['{"schemaVersion": 1, "suites": {}}', /not a baseline at updatedAt/],
    ['{"timestamp": "t"}', /not a baseline/],
    ['not json', /not valid JSON/],
  ])('%s is ignored with a named problem', (text, problem) => {
    const file = path.join(tmp.path, 'performance_baseline.json');
    fs.writeFileSync(file, text);
    const r = readBaseline(file);
    expect(r.baseline).toBeNull();
    expect(r.problem).toMatch(problem);
    expect(r.problem).toContain(file);
  });
});

describe('history.jsonl', () => {
  it('appends one line per run and skips lines that do not parse', () => {
    const file = path.join(tmp.path, 'history.jsonl');
    const e = (id: string): HistoryEntry => ({ reportId: id, createdAt: id, commit: null, branch: null, quick: false, grade: 'A', suites: { s: { ok: true, medianMs: 1, minMs: 1, maxMs: 1, peakRssBytes: null } }, cache: null });
    appendHistory(file, e('1'));
    fs.appendFileSync(file, '{"half": \n\n{"reportId": 3}\n');
    appendHistory(file, e('2'));
    const h = readHistory(file);
    expect(h.entries.map((x) => x.reportId)).toEqual(['1', '2']);
    expect(h.skipped).toBe(2);
    expect(readHistory(path.join(tmp.path, 'none.jsonl'))).toEqual({ entries: [], skipped: 0 });
  });
});

describe('spreadOf', () => {
  it.each([
    [[], null],
    [[5], { median: 5, min: 5, max: 5 }],
    [[3, 1, 2], { median: 2, min: 1, max: 3 }],
    [[4, 1, 3, 2], { median: 2.5, min: 1, max: 4 }],
  ])('%j', (values, want) => {
    expect(spreadOf(values)).toEqual(want);
  });
});
