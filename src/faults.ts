import fs from 'node:fs';

/**
 * Env-gated fault hooks for the crash-safety tests (test/reliability). Inert unless
 * `VOCORIZE_FAULT_PAUSE` names a point: when the process reaches that point it appends the line
 * `<point> <detail>\n` to the file `VOCORIZE_FAULT_MARKER` (or writes it to stderr) and then blocks its
 * thread — synchronously, so nothing after the point runs — until it is killed (the test sends SIGKILL).
 *
 * `VOCORIZE_FAULT_PAUSE` is a comma-separated list of points; a point may carry `@N` to pause at its
 * N-th arrival (1-based, default 1), e.g. `evict-indexed@2`.
 */
export type FaultPoint =
  /** admit built the snapshot tree under tmp/, not yet renamed (cache onStage 'linked'). */
  | 'linked'
  /** admit renamed the tree into snapshots/, index transaction not yet run (cache onStage 'published'). */
  | 'published'
  /** evict committed its index transaction, files not yet removed (cache onStage 'evict-indexed'). */
  | 'evict-indexed'
  /** every blob of a model committed to the store, admission not yet started. */
  | 'before-admit'
  /** clean removed one model and has more to do. */
  | 'clean-step'
  /** an accounting flush wrote its rows inside the transaction, not yet committed. */
  | 'accounting-flush';

const arrivals = new Map<string, number>();

function parseSpec(spec: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of (spec ?? '').split(',')) {
    const t = part.trim();
    if (!t) continue;
    const [name, nth] = t.split('@');
    const n = Number(nth ?? '1');
    out.set(name!, Number.isInteger(n) && n >= 1 ? n : 1);
  }
  return out;
}

/** True when some fault point is armed in this process's environment. */
export function faultsArmed(env: NodeJS.ProcessEnv = process.env): boolean {
  return parseSpec(env.VOCORIZE_FAULT_PAUSE).size > 0;
}

/** Pauses forever at `point` when the environment arms it (see the module comment); otherwise returns at once. */
export function faultPoint(point: FaultPoint, detail = '', env: NodeJS.ProcessEnv = process.env): void {
  const spec = env.VOCORIZE_FAULT_PAUSE;
  if (!spec) return;
  const wanted = parseSpec(spec).get(point);
  if (wanted === undefined) return;
  const n = (arrivals.get(point) ?? 0) + 1;
  arrivals.set(point, n);
  if (n !== wanted) return;
  const line = `${point} ${detail}\n`;
  const marker = env.VOCORIZE_FAULT_MARKER;
  if (marker) fs.appendFileSync(marker, line);
  else process.stderr.write(`fault point reached: ${line}`);
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(cell, 0, 0, 60_000);
}
