import type cliProgressTypes from 'cli-progress';

// cli-progress (CommonJS) loads on the first progress event of a TTY session, never in scripts or CI;
// node:module too, so a CLI start loads neither.
const loadCliProgress = (): typeof cliProgressTypes => process.getBuiltinModule('node:module').createRequire(import.meta.url)('cli-progress') as typeof cliProgressTypes;

/**
 * A byte-based progress bar on stderr, only when stderr is a TTY (never in pipes, logs or CI).
 * Returns the onProgress callback to pass to a call, and a stop().
 */
export function progressBar(label: string, enabled = process.stderr.isTTY === true) {
  if (!enabled) return { onProgress: undefined, stop: () => undefined };
  let bar: cliProgressTypes.SingleBar | null = null;
  return {
    onProgress: (d: Record<string, unknown>) => {
      const total = Number(d.totalBytes ?? 0);
      const done = Number(d.doneBytes ?? 0);
      if (!bar) {
        const cliProgress = loadCliProgress();
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `${label} [{bar}] {percentage}% | {doneMB}/{totalMB} MB | {file}`,
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done, { doneMB: '0.0', totalMB: (total / 1e6).toFixed(1), file: '' });
      }
      bar.setTotal(total);
      bar.update(done, { doneMB: (done / 1e6).toFixed(1), totalMB: (total / 1e6).toFixed(1), file: String(d.file ?? '') });
    },
    stop: () => {
      bar?.stop();
    },
  };
}
