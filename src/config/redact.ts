import type { ResolvedConfig } from './types.js';

const SECRET_ENV_NAME = /token|secret|passw|api_?key|credential/i;

/**
 * The config safe to print: origin tokens become "***" (null stays null), and so do benchmark suite env
 * values whose names look secret (TOKEN, SECRET, PASSWORD, API_KEY, CREDENTIAL).
 */
export function redactConfig(c: ResolvedConfig): ResolvedConfig {
  const suites: ResolvedConfig['benchmark']['suites'] = {};
  for (const [name, s] of Object.entries(c.benchmark.suites)) {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.env)) env[k] = SECRET_ENV_NAME.test(k) ? '***' : v;
    suites[name] = { ...s, env };
  }
  return {
    ...c,
    source: { ...c.source },
    origins: c.origins.map((o) => {
      if (o.type === 'huggingface') return { ...o, token: o.token === null ? null : '***' };
      if (o.type === 's3') return { ...o, uploadQueue: { ...o.uploadQueue }, secretAccessKey: o.secretAccessKey === null ? null : '***' };
      return { ...o };
    }),
    models: { ...c.models },
    download: { ...c.download },
    accounting: { ...c.accounting },
    log: { ...c.log },
    metrics: { ...c.metrics },
    hubMirror: c.hubMirror ? { ...c.hubMirror } : null,
    benchmark: { suites },
  };
}
