/**
 * Virtual time for the simulated network: one event queue ordered by
 * (time, insertion sequence), and per-node schedulers on top of it.
 *
 * Ordering ties by insertion sequence is what makes a run a pure function of
 * its seed: two events due at the same virtual millisecond always run in the
 * order they were scheduled.
 *
 * @module
 */
import type { Scheduler } from '../scheduler.js';

interface SimEvent {
  readonly at: number;
  readonly seq: number;
  fn: (() => void) | null; // null once cancelled
}

const before = (a: SimEvent, b: SimEvent): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/**
 * A discrete-event clock: a binary min-heap of callbacks on integer virtual
 * milliseconds.
 *
 * @example
 * ```ts
 * const clock = new SimClock(Date.UTC(2026, 0, 1));
 * clock.schedule(5, () => console.log(clock.now()));
 * clock.advance(10);
 * ```
 */
export class SimClock {
  #now: number;
  #seq = 0;
  #heap: SimEvent[] = [];
  #running = false;

  constructor(startMs: number) {
    this.#now = startMs;
  }

  /** Virtual time in ms since the Unix epoch. */
  now(): number {
    return this.#now;
  }

  /** Events not yet run (cancelled ones included until they surface). */
  get pending(): number {
    return this.#heap.length;
  }

  /** Run `fn` after `delayMs` (rounded up to a whole ms, at least 0). Returns a cancel function. */
  schedule(delayMs: number, fn: () => void): () => void {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? Math.ceil(delayMs) : 0;
    const event: SimEvent = { at: this.#now + delay, seq: this.#seq++, fn };
    this.#push(event);
    return () => {
      event.fn = null;
    };
  }

  /** Run every event due within `ms`, then set the clock to now + ms. */
  advance(ms: number): void {
    this.#run(this.#now + Math.max(0, ms), null);
  }

  /**
   * Run events until `predicate` holds (checked before starting and after
   * each event) or `maxMs` of virtual time passed. Returns whether it held.
   */
  runUntil(predicate: () => boolean, maxMs: number): boolean {
    if (predicate()) return true;
    return this.#run(this.#now + Math.max(0, maxMs), predicate);
  }

  #run(until: number, predicate: (() => boolean) | null): boolean {
    if (this.#running) throw new Error('SimClock: advance/runUntil called from inside a simulated event');
    this.#running = true;
    try {
      while (this.#heap.length > 0 && this.#heap[0].at <= until) {
        const event = this.#pop();
        if (event.fn === null) continue;
        this.#now = event.at;
        const fn = event.fn;
        event.fn = null;
        fn();
        if (predicate?.()) return true;
      }
      this.#now = until;
      return false;
    } finally {
      this.#running = false;
    }
  }

  #push(event: SimEvent): void {
    const heap = this.#heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(event, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = event;
  }

  #pop(): SimEvent {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop() as SimEvent;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && before(heap[right], heap[left]) ? right : left;
        if (!before(heap[child], last)) break;
        heap[i] = heap[child];
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}

/** A node's view of a {@link SimClock}: its own clock offset, and timers it can lose all at once. */
export interface NodeClock {
  readonly scheduler: Scheduler;
  /** Cancel every timer and ignore new ones (the node crashed). */
  halt(): void;
}

/**
 * A scheduler for one simulated node. `now()` is virtual time plus the
 * node's current offset (which may change: a clock step); timers run on
 * virtual durations, as real timers run on monotonic time.
 *
 * @example
 * ```ts
 * const { scheduler, halt } = createNodeClock(clock, () => offsets.get('a') ?? 0);
 * scheduler.every(20, flush);
 * halt(); // crash: the flush never runs again
 * ```
 */
export function createNodeClock(clock: SimClock, offsetMs: () => number): NodeClock {
  const timers = new Set<() => void>();
  let halted = false;
  const track = (cancel: () => void): (() => void) => {
    timers.add(cancel);
    return () => {
      cancel();
      timers.delete(cancel);
    };
  };
  const scheduler: Scheduler = {
    now: () => clock.now() + offsetMs(),
    after(ms, fn) {
      if (halted) return () => {};
      let cancel: () => void = () => {};
      const untrack = track(() => cancel());
      cancel = clock.schedule(ms, () => {
        untrack();
        fn();
      });
      return untrack;
    },
    every(ms, fn) {
      if (!(ms > 0)) throw new RangeError(`Scheduler.every: interval must be positive, got ${ms}`);
      if (halted) return () => {};
      let cancel: () => void = () => {};
      const tick = (): void => {
        cancel = clock.schedule(ms, tick);
        fn();
      };
      cancel = clock.schedule(ms, tick);
      return track(() => cancel());
    },
  };
  return {
    scheduler,
    halt() {
      halted = true;
      for (const cancel of timers) cancel();
      timers.clear();
    },
  };
}
