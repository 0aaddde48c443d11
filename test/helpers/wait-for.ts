/**
 * Polls `predicate` until it holds or `timeoutMs` passes. For integration
 * tests over real sockets, where events arrive when they arrive; unit tests
 * drive time explicitly instead.
 */
export async function waitFor(predicate: () => boolean, timeoutMs = 10_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${predicate.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * The negative counterpart of {@link waitFor}: polls `predicate` for `forMs`
 * and throws naming `what` the moment it holds. A bounded poll of the state,
 * not a sleep followed by one look: it fails as soon as the thing happens,
 * and catches a state that comes and goes within the bound.
 */
export async function never(predicate: () => boolean, forMs: number, what: string, everyMs = 5): Promise<void> {
  const deadline = Date.now() + forMs;
  for (;;) {
    if (predicate()) throw new Error(`${what}, within ${forMs} ms: ${predicate.toString()}`);
    if (Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(everyMs, Math.max(0, deadline - Date.now()))));
  }
}
