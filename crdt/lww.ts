/**
 * Last-writer-wins register ordered by hybrid logical clock timestamp, ties
 * broken by replica id (string order), so every replica picks the same winner.
 *
 * @module
 */

/** One write: the value, when (HLC timestamp) and by whom (replica id). */
export interface LwwRegister<T> {
  ts: number;
  replica: string;
  value: T;
}

/** True when write `a` wins over write `b` (strictly later, or same time and larger replica id). */
export function lwwWins<T>(a: LwwRegister<T>, b: LwwRegister<T> | null | undefined): boolean {
  if (b == null) return true;
  if (a.ts !== b.ts) return a.ts > b.ts;
  return a.replica > b.replica;
}

/**
 * Joins two registers: the winning write. Commutative, associative, idempotent.
 * @example mergeLww({ ts: 2, replica: 'a', value: 10 }, { ts: 1, replica: 'b', value: 5 }).value // 10
 */
export function mergeLww<T>(a: LwwRegister<T> | null, b: LwwRegister<T> | null): LwwRegister<T> | null {
  if (a == null) return b;
  return b != null && lwwWins(b, a) ? b : a;
}
