import type { EventStore } from "../../store/event-store.js";

/**
 * Wakes followers waiting for new events: every commit of this process (EventStore.onCommitted), and
 * the server's cluster listener calls `wake` for commits of other processes on the same PostgreSQL.
 * A waiter also wakes after `maxMs`, so a missed notification costs latency, never an event: the
 * follower reads from its position again either way.
 */
export interface EventSignal {
  wake(): void;
  /** Resolves at the next wake-up, after `maxMs`, or when `abort` fires. */
  wait(maxMs: number, abort?: AbortSignal): Promise<void>;
}

const signals = new WeakMap<EventStore, EventSignal>();

export function eventSignal(store: EventStore): EventSignal {
  let s = signals.get(store);
  if (s) return s;
  let waiters = new Set<() => void>();
  const wake = () => {
    const now = waiters;
    waiters = new Set();
    for (const w of now) w();
  };
  store.onCommitted(wake);
  s = {
    wake,
    wait(maxMs, abort) {
      return new Promise<void>((resolve) => {
        if (abort?.aborted) return resolve();
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          abort?.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, maxMs);
        waiters.add(done);
        abort?.addEventListener("abort", done, { once: true });
      });
    },
  };
  signals.set(store, s);
  return s;
}
