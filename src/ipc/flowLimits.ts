/**
 * The bounds one daemon socket server keeps so that no client, hostile or unlucky, can make it stop
 * answering the others. All counts are per server; every bound has a default that a normal client
 * (the CLI, a test runner with a few connections, pipelining a few hundred calls) never reaches.
 */
export interface FlowLimits {
  /** Most simultaneous connections; one more replaces an idle connection or is refused with E_BUSY. */
  maxConnections: number;
  /** Requests of one connection handed to the handler and not yet answered; at the bound its socket is not read. */
  inflightPerConnection: number;
  /** The same over all connections; at the bound, only connections with nothing in flight are read. */
  inflightTotal: number;
  /** Frames taken from one connection before other connections get a turn of the event loop. */
  framesPerTurn: number;
  /** Unsent reply bytes queued for one connection at which it is no longer read. */
  replyPauseBytes: number;
  /** Unsent reply bytes queued for one connection beyond which it is closed (a single reply may exceed it). */
  replyLimitBytes: number;
  /** Unsent reply bytes over all connections beyond which the connection holding the most is closed. */
  replyLimitTotalBytes: number;
  /** While more than `idleCloseAbove` connections are open, one holding nothing for this long is closed. */
  idleTimeoutMs: number;
  idleCloseAbove: number;
  /** At `maxConnections`, the longest-idle connection holding nothing is closed for a newcomer once idle this long. */
  idleEvictMs: number;
}

export const DEFAULT_FLOW_LIMITS: Readonly<FlowLimits> = {
  maxConnections: 1024,
  inflightPerConnection: 16,
  inflightTotal: 256,
  framesPerTurn: 8,
  replyPauseBytes: 1024 * 1024,
  replyLimitBytes: 64 * 1024 * 1024,
  replyLimitTotalBytes: 256 * 1024 * 1024,
  idleTimeoutMs: 30_000,
  idleCloseAbove: 512,
  idleEvictMs: 1_000,
};

/** Defaults for what `partial` leaves out; `idleCloseAbove` defaults to half of `maxConnections`. */
export function resolveFlowLimits(partial: Partial<FlowLimits> = {}): FlowLimits {
  const maxConnections = Math.max(1, Math.floor(partial.maxConnections ?? DEFAULT_FLOW_LIMITS.maxConnections));
  return {
    ...DEFAULT_FLOW_LIMITS,
    idleCloseAbove: Math.floor(maxConnections / 2),
    ...stripUndefined(partial),
    maxConnections,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
