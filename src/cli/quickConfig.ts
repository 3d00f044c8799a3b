import path from 'node:path';
import { quickLoadConfig } from '../config/quickLoad.js';
import type { ResolvedConfig } from '../config/types.js';

/** The global flags that choose the config: `--config` and `--socket`. */
export interface ConfigFlags {
  config?: string | undefined;
  socket?: string | undefined;
}

/** The config with `--socket` applied: the flag overrides the file and the environment. */
export function withSocketFlag(config: ResolvedConfig, g: Pick<ConfigFlags, 'socket'>): ResolvedConfig {
  return g.socket ? { ...config, socketPath: path.resolve(g.socket) } : config;
}

/**
 * session.ts `resolveConfig` without the schema library (config/quickLoad.ts): the same config, or null
 * when the quick reading is not sure. Throws what `resolveConfig` would throw for the same inputs.
 */
export function quickResolveConfig(g: ConfigFlags): ResolvedConfig | null {
  const config = quickLoadConfig(g.config ? { configPath: g.config } : {});
  return config ? withSocketFlag(config, g) : null;
}
