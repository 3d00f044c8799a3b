/**
 * Space held for downloads in progress (pure bookkeeping, no I/O), so two admissions racing for the
 * same free space cannot both count it. Each reservation is released exactly once; releasing twice
 * is a no-op.
 */
export interface Reservations {
  /** Sum of live reservations. */
  readonly total: number;
  readonly count: number;
  reserve(bytes: number): number;
  unreserve(token: number): boolean;
}

export function createReservations(): Reservations {
  const live = new Map<number, number>();
  let next = 1;
  let total = 0;
  return {
    get total() {
      return total;
    },
    get count() {
      return live.size;
    },
    reserve(bytes: number): number {
      if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`cannot reserve ${bytes} bytes`);
      const token = next++;
      live.set(token, bytes);
      total += bytes;
      return token;
    },
    unreserve(token: number): boolean {
      const bytes = live.get(token);
      if (bytes === undefined) return false;
      live.delete(token);
      total -= bytes;
      return true;
    },
  };
}
