import type { ResolvedConfig } from '../config/types.js';
import { createDirectoryOrigin } from '../origin/directory.js';
import { createHuggingFaceOrigin } from '../origin/huggingFace.js';
import type { Origin } from '../origin/types.js';
import type { Logger } from '../logger.js';

/**
 * The configured origins that list and serve models, in the order they are tried. An s3 entry is the
 * fleet tier, a blob store in front of them (src/origin/s3/tierStore.ts), not an origin of this kind.
 */
export function originsFromConfig(config: ResolvedConfig, logger?: Logger): Origin[] {
  const out: Origin[] = [];
  for (const o of config.origins) {
    if (o.type === 'huggingface') out.push(createHuggingFaceOrigin({ endpoint: o.endpoint, token: o.token, logger }));
    else if (o.type === 'directory') out.push(createDirectoryOrigin({ root: o.path }));
  }
  return out;
}
