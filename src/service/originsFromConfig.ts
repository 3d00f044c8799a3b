import type { ResolvedConfig } from '../config/types.js';
import { createDirectoryOrigin } from '../origin/directory.js';
import { createHuggingFaceOrigin } from '../origin/huggingFace.js';
import type { Origin } from '../origin/types.js';
import type { Logger } from '../logger.js';

/** The configured origins, in the order they are tried. */
export function originsFromConfig(config: ResolvedConfig, logger?: Logger): Origin[] {
  return config.origins.map((o) =>
    o.type === 'huggingface'
      ? createHuggingFaceOrigin({ endpoint: o.endpoint, token: o.token, logger })
      : createDirectoryOrigin({ root: o.path }),
  );
}
