import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBench } from '../../src/benchmarker/benchCommand.js';
import { detectVocorizeSuites, vocorizeScriptCandidates } from '../../src/benchmarker/vocorizeSuites.js';
import { useTempDir } from '../support/useTempDir.js';
import { stepClock, suite } from './helpers.js';

const tmp = useTempDir();

function script(rel: string, body: string, executable: boolean): void {
  const file = path.join(tmp.path, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `#!/usr/bin/env bash\n${body}\n`);
  fs.chmodSync(file, executable ? 0o755 : 0o644);
}

describe('the Vocorize default suites', () => {
  it('finds the scripts at the top level or under scripts/ (top level wins), with the old targets', () => {
    script('test-unit.sh', 'true', true);
    script('scripts/test-unit.sh', 'exit 3', true);
    script('scripts/test-integration.sh', 'true', false);
    const found = detectVocorizeSuites(tmp.path);
    expect(Object.keys(found)).toEqual(['unit', 'integration']);
    expect(found.unit).toEqual({ command: './test-unit.sh', runs: 3, targetMs: 10_000, cwd: tmp.path, env: {} });
    // Not executable: run with bash rather than fail with "permission denied".
    expect(found.integration).toMatchObject({ command: 'bash ./scripts/test-integration.sh', targetMs: 30_000 });

    script('test.sh', 'true', true);
    expect(detectVocorizeSuites(tmp.path).all).toMatchObject({ command: './test.sh', targetMs: null });
    expect(vocorizeScriptCandidates()).toEqual([
      'test-unit.sh',
      'scripts/test-unit.sh',
      'test-integration.sh',
      'scripts/test-integration.sh',
      'test.sh',
      'scripts/test.sh',
    ]);
  });

  it('with no benchmark.suites, bench runs the scripts it finds in cwd, judged against their targets', async () => {
    script('test-unit.sh', 'sleep 0.1', true);
    script('scripts/test-integration.sh', 'echo integration > ran-integration', false);
    script('test.sh', 'true', true);
    const lines: string[] = [];
    const res = await runBench({ suites: {}, cwd: tmp.path, port: null, clock: stepClock(), quick: true, log: (l) => lines.push(l) });
    expect(res.exitCode).toBe(0);
    expect(res.report.suites.map((s) => [s.name, s.command, s.targetMs, s.ok])).toEqual([
      ['unit', './test-unit.sh', 10_000, true],
      ['integration', 'bash ./scripts/test-integration.sh', 30_000, true],
      ['all', './test.sh', null, true],
    ]);
    expect(fs.readFileSync(path.join(tmp.path, 'ran-integration'), 'utf8')).toBe('integration\n');
    expect(lines.join('\n')).toMatch(/no benchmark\.suites configured; using Vocorize's test scripts/);
    // Targets were judged, so the run has a grade.
    expect(res.report.grade.letter).not.toBeNull();
    expect(res.report.overall_score).toBe(res.report.grade.score);
    expect(path.dirname(res.paths.json)).toBe(path.join(tmp.path, 'performance-reports'));
  });

  it('configured suites win over the scripts, and --suite replaces both', async () => {
    script('test-unit.sh', 'exit 9', true);
    const configured = await runBench({ suites: { mine: suite('true', { cwd: tmp.path }) }, cwd: tmp.path, port: null, clock: stepClock() });
    expect(configured.report.suites.map((s) => s.name)).toEqual(['mine']);
    const cli = await runBench({ suites: {}, cliSuites: ['x=true'], cwd: tmp.path, port: null, clock: stepClock() });
    expect(cli.report.suites.map((s) => s.name)).toEqual(['x']);
  });

  it('nothing configured and no script found: E_USAGE naming what was looked for and how to configure suites', async () => {
    const err = await runBench({ suites: {}, cwd: tmp.path, port: null }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_USAGE' });
    const msg = (err as Error).message;
    for (const p of vocorizeScriptCandidates()) expect(msg).toContain(p);
    expect(msg).toContain(tmp.path);
    expect(msg).toMatch(/benchmark\.suites/);
    expect(msg).toMatch(/--suite name="command"/);
    expect(fs.existsSync(path.join(tmp.path, 'performance-reports'))).toBe(false);
  });
});
