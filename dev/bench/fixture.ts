import { generatedSource } from '../fixtures/byteSource.js';
import { startFakeHub, type FakeHub, type HubRepoSpec } from '../fixtures/fakeHub.js';
import { whisperKitRepo } from '../fixtures/generate.js';
import { connect } from '../../src/ipc/client.js';
import { startDaemonProc, tempRoot, writeConfig, type DaemonProc } from './harness.js';

/** The 17-file WhisperKit variant folder used by the hit benchmarks. */
export const TINY_REF = 'argmaxinc/whisperkit-coreml@main:openai_whisper-tiny';
export const BASE_REF = 'argmaxinc/whisperkit-coreml@main:openai_whisper-base';

/** The big model of the big-model benchmark: a repo whose model is the whole repo (`<id>@main`). */
export const BIG_REPO = 'bench/whisperkit-large-fake';
export const BIG_REF = `${BIG_REPO}@main`;

/**
 * A WhisperKit-like model of about `weightBytes` bytes: the two weight files of a variant folder, scaled
 * up (30% encoder, 70% decoder, like the real large variants), and its small json files. The weights are
 * generated as they are served (byteSource.ts): the Hub holds 64 KiB per file, not the model.
 */
export function bigModelRepo(weightBytes: number): HubRepoSpec {
  const enc = Math.round(weightBytes * 0.3);
  const json = (v: unknown) => Buffer.from(JSON.stringify(v, null, 2));
  return {
    id: BIG_REPO,
    files: [
      { path: '.gitattributes', bytes: Buffer.from('*.bin filter=lfs diff=lfs merge=lfs -text\n'), lfs: false },
      { path: 'config.json', bytes: json({ name: 'whisperkit-large-fake' }), lfs: false },
      { path: 'AudioEncoder.mlmodelc/metadata.json', bytes: json({ part: 'encoder' }), lfs: false },
      { path: 'AudioEncoder.mlmodelc/weights/weight.bin', source: generatedSource('big/encoder', enc), lfs: true },
      { path: 'TextDecoder.mlmodelc/metadata.json', bytes: json({ part: 'decoder' }), lfs: false },
      { path: 'TextDecoder.mlmodelc/weights/weight.bin', source: generatedSource('big/decoder', weightBytes - enc), lfs: true },
    ],
  };
}

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
 * A fake Hub on loopback serving `repo` (default: WhisperKit with tiny weights) and `extraRepos`, a daemon (the built CLI,
 * separate process) on a fresh cache, and optionally `warm` models fetched once so they are hits.
 */
export async function openSandbox(
  distDir: string,
  opts: { repo?: HubRepoSpec; extraRepos?: HubRepoSpec[]; warm?: string[]; prefix?: string } = {},
): Promise<Sandbox> {
  const tmp = tempRoot(opts.prefix ?? 'sb');
  const repos = [opts.repo ?? whisperKitRepo({ weightScale: 0.01 }), ...(opts.extraRepos ?? [])];
  const hub = await startFakeHub({ repos, treePageSize: 1000 });
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
