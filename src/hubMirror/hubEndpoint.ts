import path from 'node:path';
import type { Log } from '../logger.js';
import type { DaemonState } from '../service/serviceState.js';
import { startHubMirror, type HubMirror } from './hubMirrorServer.js';
import { loadOrCreateSecret } from './localSecret.js';

/** Where the endpoint's local secret lives: next to the socket, in the cache's private run/ folder. */
export const hubSecretFileOf = (cacheDir: string): string => path.join(cacheDir, 'run', 'hub-secret');

/**
 * Starts the Hub-compatible endpoint for a daemon: loads (or writes) the local secret, listens on
 * 127.0.0.1:`port`, and publishes its URL and secret file in the state (status reports them) until
 * closed.
 */
export async function startHubEndpoint(state: DaemonState, port: number, logger: Pick<Log, 'warn' | 'info' | 'debug'>): Promise<HubMirror> {
  const secretFile = hubSecretFileOf(state.config().cacheDir);
  const secret = loadOrCreateSecret(secretFile);
  const mirror = await startHubMirror({ hub: state.hub, port, secret, logger });
  state.hubEndpoint = { url: mirror.url, secretFile };
  return {
    url: mirror.url,
    port: mirror.port,
    close: async () => {
      state.hubEndpoint = null;
      await mirror.close();
    },
  };
}
