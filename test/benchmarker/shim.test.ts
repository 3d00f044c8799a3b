import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const SHIM = path.resolve(import.meta.dirname, '../../scripts/performance-measurement.sh');

let root: string;
beforeEach(() => {
  // A copy of the repository layout: scripts/performance-measurement.sh and dist/cli/main.js.
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-'));
  fs.mkdirSync(path.join(root, 'scripts'));
  fs.copyFileSync(SHIM, path.join(root, 'scripts', 'performance-measurement.sh'));
  fs.chmodSync(path.join(root, 'scripts', 'performance-measurement.sh'), 0o755);
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  // PATH holds node and the system's tools only, so an installed cache-manager elsewhere is not found by accident.
  const bin = path.join(root, 'bin');
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  }
  const base = { PATH: `${bin}:/usr/bin:/bin`, HOME: root };
  return new Promise((resolve) => {
    execFile(path.join(root, 'scripts', 'performance-measurement.sh'), args, { cwd: os.tmpdir(), env: { ...base, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('scripts/performance-measurement.sh', () => {
  it('runs `cache-manager bench` with the old flags, passing them through (help -> --help) and its exit code', async () => {
    fs.mkdirSync(path.join(root, 'dist', 'cli'), { recursive: true });
    // A stand-in CLI that prints its arguments and exits 1 when --ci is among them.
    fs.writeFileSync(
      path.join(root, 'dist', 'cli', 'main.js'),
      "console.log(JSON.stringify(process.argv.slice(2))); process.exit(process.argv.includes('--ci') ? 1 : 0);\n",
    );
    const quick = await run(['--quick', '--memory-focus', '--update-baseline']);
    expect(quick).toMatchObject({ code: 0 });
    expect(JSON.parse(quick.stdout)).toEqual(['bench', '--quick', '--memory-focus', '--update-baseline']);
    const ci = await run(['--ci', '--report-only', '--suite', 'unit=npm run test:unit']);
    expect(ci.code).toBe(1);
    expect(JSON.parse(ci.stdout)).toEqual(['bench', '--ci', '--report-only', '--suite', 'unit=npm run test:unit']);
    const readOnly = await run(['--compare-baseline', '--baseline-check', '--status']);
    expect(JSON.parse(readOnly.stdout)).toEqual(['bench', '--compare-baseline', '--baseline-check', '--status']);
    expect(JSON.parse((await run(['help'])).stdout)).toEqual(['bench', '--help']);
    expect(JSON.parse((await run([])).stdout)).toEqual(['bench']);
  });

  it('with no CLI anywhere it exits 127 and says how to install one', async () => {
    const r = await run(['--quick']);
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/not installed/);
    expect(r.stderr).toMatch(/npm install -g/);
    expect(r.stderr).toMatch(/VOCORIZE_CACHE_MANAGER=/);
  });
});
