import type { AggregateType, NewEvent, StoredEvent, UniqueClaim } from "../domain/events.js";
import { ConcurrencyConflict, aggregateKey } from "../store/event-store.js";
import type { StateOf } from "./aggregate-cache.js";
import type { Deps } from "./context.js";

export interface Decision<R> {
  events: NewEvent[];
  uniques?: UniqueClaim[];
  /** Builds the answer from the stored events (sequence, timestamps); [] when nothing was written. */
  result: (stored: StoredEvent[]) => R;
}

export type Loader = <T extends AggregateType>(type: T, id: string) => Promise<StateOf<T>>;

const MAX_ATTEMPTS = 8;

/**
 * load → decide → append, with optimistic concurrency: the append expects every loaded aggregate
 * to still be at the sequence the decision saw; if another writer got there first, the command
 * evicts what it loaded and decides again on fresh state.
 */
export async function runCommand<R>(deps: Deps, editor: string, decide: (load: Loader) => Promise<Decision<R>> | Decision<R>): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    const expected = new Map<string, number>();
    const load: Loader = async (type, id) => {
      const state = await deps.cache.get(deps.instanceId, type, id);
      expected.set(aggregateKey(type, id), state.sequence);
      return state;
    };
    const decision = await decide(load);
    if (decision.events.length === 0) return decision.result([]);
    try {
      const stored = await deps.store.push({
        instanceId: deps.instanceId,
        editor,
        events: decision.events,
        uniques: decision.uniques,
        expected,
        now: deps.clock(),
      });
      return decision.result(stored);
    } catch (e) {
      if (!(e instanceof ConcurrencyConflict) || attempt >= MAX_ATTEMPTS) throw e;
      for (const key of expected.keys()) {
        const i = key.indexOf(":");
        deps.cache.evict(deps.instanceId, key.slice(0, i) as AggregateType, key.slice(i + 1));
      }
    }
  }
}
