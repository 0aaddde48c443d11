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
