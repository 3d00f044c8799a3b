import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBar, passes, shortfall } from '../../dev/bench/bars.js';
import { figure } from '../../dev/bench/figures.js';
import { performanceSection, README_END, README_START, replaceBetweenMarkers } from '../../dev/bench/readmeTable.js';
import type { ResultsFile } from '../../dev/bench/report.js';
import { useTempDir } from '../support/useTempDir.js';

const MAIN = path.resolve(import.meta.dirname, '../../build/dev/bench/main.js');

const spread = (median: number, min = median, max = median, n = 3) => ({ median, min, max, n });

function results(): ResultsFile {
  return {
    generatedAt: '2026-12-01T20:00:00.000Z',
    durationMs: 420_000,
    machine: { date: '', nproc: 2, cpu: 'AMD EPYC', memTotal: '23.5 GiB', freeH: '', node: 'v20.20.2', platform: 'linux 6', loadavgStart: [0.5, 0.6, 0.7], loadavgEnd: [1, 1, 1] },
    benchmarks: {
      zeta: { ranAt: '2026-11-30T10:00:00.000Z', durationMs: 1, figures: [figure('zeta', 'other', 'ms', spread(1))] },
      startup: {
        ranAt: '2026-12-01T20:01:00.000Z',
        durationMs: 1,
        figures: [figure('startup', 'ready with 10000 models', 'ms', spread(345, 300, 400), { refSpread: spread(287), refName: 'empty index', target: '<= 300 ms' })],
      },
      miss: {
        ranAt: '2026-12-01T20:02:00.000Z',
        durationMs: 1,
        figures: [
          figure('miss', 'cold get', 'MB/s', spread(340), { refSpread: spread(400), refName: 'plain download', target: '>= 0.85× plain download', ifMissed: 'Hash on arrival.' }),
          figure('miss', 'cold get vs a|b', 'MB/s', spread(340), { refSpread: spread(340), refName: 'plain + sha256', target: '>= 0.95× (same pass)' }),
        ],
      },
      broken: { ranAt: '2026-12-01T20:03:00.000Z', durationMs: 1, figures: [], error: 'Error: daemon did not start' },
    },
  };
}

describe('bars', () => {
  it('reads value and ratio bars from targets', () => {
    expect(parseBar('<= 0.3 ms')).toEqual({ op: '<=', limit: 0.3, on: 'value' });
    expect(parseBar('>= 10000 gets/s')).toEqual({ op: '>=', limit: 10000, on: 'value' });
    expect(parseBar('>= 0.85× plain download')).toEqual({ op: '>=', limit: 0.85, on: 'ratio' });
    expect(parseBar('> 1.6× one openssl (2 cores)')).toEqual({ op: '>', limit: 1.6, on: 'ratio' });
    expect(parseBar('≤ 150 MB')).toEqual({ op: '<=', limit: 150, on: 'value' });
    expect(parseBar('about fast')).toBeNull();
    expect(parseBar(undefined)).toBeNull();
  });

  it('says by how much a figure misses, on the side the bar names', () => {
    expect(shortfall({ value: 345, target: '<= 300 ms' })).toBeCloseTo(0.15);
    expect(shortfall({ value: 340, ratio: 0.7, target: '>= 0.85× plain' })).toBeCloseTo(1 - 0.7 / 0.85);
    expect(shortfall({ value: 0.2, target: '<= 0.3 ms' })).toBe(0);
    expect(shortfall({ value: 1, target: '>= 0.8× plain' })).toBeNull(); // no ratio to compare
    expect(passes({ value: 100, ratio: 0.9, target: '>= 0.85× x' })).toBe(true);
    expect(passes({ value: 100, ratio: 0.8, target: '>= 0.85× x' })).toBe(false);
  });

  it('figure() sets pass from the target unless it is given', () => {
    expect(figure('b', 'f', 'ms', spread(2), { target: '<= 1 ms' }).pass).toBe(false);
    expect(figure('b', 'f', 'ms', spread(2), { target: '<= 1 ms', pass: true }).pass).toBe(true);
    expect(figure('b', 'f', 'MB/s', spread(90), { refSpread: spread(100), refName: 'r', target: '>= 0.85× r' })).toMatchObject({ ratio: 0.9, pass: true });
  });
});

describe('README performance section', () => {
  const tmp = useTempDir('vc-readme-');
  it('has one row per figure in registry order, then the rest; misses say by how much and what closes them', () => {
    const text = performanceSection(results(), ['miss', 'startup']);
    const rows = text.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| benchmark'));
    expect(rows.map((r) => r.split(' | ')[1])).toEqual(['cold get', 'cold get vs a\\|b', 'ready with 10000 models', 'other']);
    expect(rows[0]).toContain('340.0 MB/s');
    expect(rows[0]).toContain('400.0 (plain download)');
    expect(rows[0]).toContain('0.850×');
    expect(rows[0]).toContain('met');
    expect(rows[2]).toContain('345.0 ms [300.0–400.0]');
    expect(rows[2]).toContain('**missed** by 15 %');
    expect(text).toContain('- **startup / ready with 10000 models**: 345.0 ms against <= 300 ms, missed by 15 %. See bench/README.md.');
    expect(text).toContain('- **broken** failed in this run: Error: daemon did not start');
    expect(text).toContain('Run 2026-12-01 20:00 UTC (7.0 min): 2 cores (AMD EPYC)');
    expect(text).toContain('load average 0.5 0.6 0.7 at the start');
    expect(text).toContain('Kept from earlier runs: zeta (2026-11-30 10:00 UTC).');
    // Pure: the same results give the same text.
    expect(performanceSection(results(), ['miss', 'startup'])).toBe(text);
  });

  it('a run that meets every bar says so', () => {
    const r = results();
    r.benchmarks = { miss: r.benchmarks.miss! };
    expect(performanceSection(r)).toContain('Every bar is met in this run.');
  });

  it('replaces only what is between the markers, and refuses a file without them', () => {
    const doc = `# T\n\nbefore\n${README_START}\nold table\n${README_END}\nafter\n`;
    const out = replaceBetweenMarkers(doc, 'NEW');
    expect(out).toBe(`# T\n\nbefore\n${README_START}\nNEW\n${README_END}\nafter\n`);
    expect(replaceBetweenMarkers(out, 'NEW')).toBe(out);
    expect(() => replaceBetweenMarkers('# no markers', 'x')).toThrow(/markers not found/);
    expect(() => replaceBetweenMarkers(`${README_END}\n${README_START}`, 'x')).toThrow(/before the start/);
    expect(() => replaceBetweenMarkers(`${README_START}${README_START}${README_END}`, 'x')).toThrow(/more than once/);
  });

  it('`main.js --readme` rewrites a README from a results file and leaves a README without markers untouched', () => {
    const dir = tmp.path;
    const resultsFile = path.join(dir, 'results.json');
    const readme = path.join(dir, 'README.md');
    fs.writeFileSync(resultsFile, JSON.stringify(results()));
    fs.writeFileSync(readme, `# Perf\n${README_START}\nstale\n${README_END}\nend\n`);
    const r = spawnSync(process.execPath, [MAIN, '--readme', '--results', resultsFile, '--readme-file', readme], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const text = fs.readFileSync(readme, 'utf8');
    expect(text).not.toContain('stale');
    expect(text).toContain('| miss | cold get | 340.0 MB/s');
    expect(text.endsWith(`${README_END}\nend\n`)).toBe(true);

    fs.writeFileSync(readme, '# no markers\n');
    const bad = spawnSync(process.execPath, [MAIN, '--readme', '--results', resultsFile, '--readme-file', readme], { encoding: 'utf8', timeout: 60_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/markers not found/);
    expect(fs.readFileSync(readme, 'utf8')).toBe('# no markers\n');

    const none = spawnSync(process.execPath, [MAIN, '--readme', '--results', path.join(dir, 'absent.json'), '--readme-file', readme], { encoding: 'utf8', timeout: 60_000 });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/no results in .*absent\.json/);
  });
});
