import { execFile } from 'node:child_process';
import os from 'node:os';
import type { GitFacts, MachineFacts } from './types.js';

function git(dir: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd: dir, timeout: 5000 }, (err, stdout) => {
      const v = stdout?.toString().trim();
      resolve(err || !v ? null : v);
    });
  });
}

/** Commit and branch of the repository containing `dir`; nulls outside a repository or without git. */
export async function gitFacts(dir: string): Promise<GitFacts> {
  const commit = await git(dir, ['rev-parse', 'HEAD']);
  if (commit === null) return { commit: null, branch: null };
  const branch = await git(dir, ['rev-parse', '--abbrev-ref', 'HEAD']);
  return { commit, branch: branch === 'HEAD' ? null : branch };
}

export function machineFacts(): MachineFacts {
  const cpus = os.cpus();
  return {
    os: os.type(),
    release: os.release(),
    arch: os.arch(),
    cpus: os.availableParallelism?.() ?? cpus.length,
    cpuModel: cpus[0]?.model.trim() || null,
    nodeVersion: process.version,
    totalMemoryBytes: os.totalmem(),
  };
}
