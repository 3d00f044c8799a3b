/**
 * A circuit breaker over one remote dependency. Pure: no timers, no I/O; time comes from the injected clock.
 *
 * States:
 *  - closed: every call is allowed; `failureThreshold` consecutive failures open the breaker;
 *  - open: no call is allowed until `coolDownMs` has passed since it opened;
 *  - half-open: after the cool-down, exactly ONE trial call is allowed at a time; its success closes the
 *    breaker, its failure opens it again for another cool-down (a trial that never reports lets another
 *    through after a cool-down).
 * A success in any state resets the count of consecutive failures.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker (at least 1). */
  failureThreshold: number;
  /** How long an open breaker refuses calls before it lets one trial through. */
  coolDownMs: number;
  clock: () => number;
}

export interface CircuitBreaker {
  /** Whether a call may go out now. In half-open, true for the one trial; the caller must then report its outcome. */
  allow(): boolean;
  success(): void;
  failure(): void;
  state(): BreakerState;
  /** Times the breaker went from closed (or half-open) to open. */
  opened(): number;
}

export function createCircuitBreaker(o: CircuitBreakerOptions): CircuitBreaker {
  const threshold = Math.max(1, Math.floor(o.failureThreshold));
  let failures = 0;
  let openedAt: number | null = null;
  /** When the half-open trial went out (null: none out). A trial that never reports expires after a cool-down. */
  let trialAt: number | null = null;
  let openings = 0;

  const current = (): BreakerState => {
    if (openedAt === null) return 'closed';
    return o.clock() - openedAt >= o.coolDownMs ? 'half-open' : 'open';
  };

  const open = () => {
    openedAt = o.clock();
    trialAt = null;
    openings++;
  };

  return {
    allow() {
      const s = current();
      if (s === 'closed') return true;
      if (s === 'open') return false;
      const now = o.clock();
      if (trialAt !== null && now - trialAt < o.coolDownMs) return false;
      trialAt = now;
      return true;
    },
    success() {
      failures = 0;
      openedAt = null;
      trialAt = null;
    },
    failure() {
      failures++;
      const s = current();
      if (s === 'half-open' || (s === 'closed' && failures >= threshold)) open();
    },
    state: current,
    opened: () => openings,
  };
}
