import { startFakeHub, type FakeHub } from '../fixtures/fakeHub.js';
import { whisperKitRepo, type RepoSpec } from '../fixtures/generate.js';
import { connect } from '../../src/ipc/client.js';
import { startDaemonProc, tempRoot, writeConfig, type DaemonProc } from './harness.js';

/** The 17-file WhisperKit variant folder used by the hit benchmarks. */
export const TINY_REF = 'argmaxinc/whisperkit-coreml@main:openai_whisper-tiny';
export const BASE_REF = 'argmaxinc/whisperkit-coreml@main:openai_whisper-base';

export interface Sandbox {
  root: string;
  hub: FakeHub;
  daemon: DaemonProc;
  configPath: string;
  socketPath: string;
  cacheDir: string;
  dispose(): Promise<void>;
}

/**
 * A fake Hub on loopback serving `repo` (default: WhisperKit with tiny weights), a daemon (the built CLI,
 * separate process) on a fresh cache, and optionally `warm` models fetched once so they are hits.
 */
export async function openSandbox(distDir: string, opts: { repo?: RepoSpec; warm?: string[]; prefix?: string } = {}): Promise<Sandbox> {
  const tmp = tempRoot(opts.prefix ?? 'sb');
  const hub = await startFakeHub({ repos: [opts.repo ?? whisperKitRepo({ weightScale: 0.01 })], treePageSize: 1000 });
  const { configPath, socketPath, cacheDir } = writeConfig({ root: tmp.dir, endpoint: hub.endpoint });
  let daemon: DaemonProc;
  try {
    daemon = await startDaemonProc(distDir, configPath, socketPath);
  } catch (err) {
    await hub.close();
    tmp.dispose();
    throw err;
  }
  const sb: Sandbox = {
    root: tmp.dir,
    hub,
    daemon,
    configPath,
    socketPath,
    cacheDir,
    async dispose() {
      await daemon.stop();
      await hub.close();
      tmp.dispose();
    },
  };
  try {
    if (opts.warm?.length) {
      const c = await connect({ socketPath });
      for (const m of opts.warm) await c.call('get', { model: m, lease: false, client: 'bench-warm' });
      await c.close();
    }
  } catch (err) {
    await sb.dispose();
    throw err;
  }
  return sb;
}
