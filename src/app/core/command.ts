import type { AggregateType, NewEvent, StoredEvent, UniqueClaim } from "../../domain/events.js";
import { DomainError } from "../../domain/errors.js";
import { ConcurrencyConflict, aggregateKey } from "../../store/event-store.js";
import type { StateOf } from "./aggregate-cache.js";
import type { Deps } from "./context.js";
import type { Span } from "../../telemetry/tracing.js";

export interface Decision<R> {
  events: NewEvent[];
  uniques?: UniqueClaim[];
  /** Builds the answer from the stored events (sequence, timestamps); [] when nothing was written. */
  result: (stored: StoredEvent[]) => R;
}

export type Loader = <T extends AggregateType>(type: T, id: string) => Promise<StateOf<T>>;

const MAX_ATTEMPTS = 30;

/** Jittered backoff between attempts, so a crowd of writers on one aggregate drains instead of colliding again. */
const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** attempt)));

/**
 * load → decide → append, with optimistic concurrency: the append expects every loaded aggregate
 * to still be at the sequence the decision saw; if another writer got there first, the command
 * evicts what it loaded and decides again on fresh state.
 */
export function runCommand<R>(deps: Deps, editor: string, decide: (load: Loader) => Promise<Decision<R>> | Decision<R>): Promise<R> {
  // The span is named after the first event the command writes, once it has decided.
  return deps.tracing.inSpan("command", { "portcullis.editor": editor }, (span) => attempts(deps, editor, decide, span));
}

async function attempts<R>(deps: Deps, editor: string, decide: (load: Loader) => Promise<Decision<R>> | Decision<R>, span: Span): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    const expected = new Map<string, number>();
    const load: Loader = async (type, id) => {
      const state = await deps.cache.get(deps.instanceId, type, id);
      expected.set(aggregateKey(type, id), state.sequence);
      return state;
    };
    const decision = await decide(load);
    span.setAttribute("portcullis.attempts", attempt);
    if (decision.events.length === 0) return decision.result([]);
    span.updateName(`command ${decision.events[0]!.type}`);
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
      if (!(e instanceof ConcurrencyConflict)) {
        // The outcome may be unknown (the connection broke, or a timeout fired, after PostgreSQL
        // committed): this process's cache must not keep the state from before a write that other
        // instances may already have applied (they evict on its commit notice; this one skips its own).
        // Forgetting is always safe: the next read loads what the store holds.
        for (const key of [...expected.keys(), ...decision.events.map((ev) => aggregateKey(ev.aggregateType, ev.aggregateId))]) evictKey(deps, key);
        throw e;
      }
      if (attempt >= MAX_ATTEMPTS) throw new DomainError("Aborted", "COMMAND-conflict", "the object was changed concurrently too often; retry");
      for (const key of expected.keys()) evictKey(deps, key);
      await backoff(attempt);
    }
  }
}

/** Drops one aggregate ("type:id") from this process's cache. */
function evictKey(deps: Deps, key: string): void {
  const i = key.indexOf(":");
  deps.cache.evict(deps.instanceId, key.slice(0, i) as AggregateType, key.slice(i + 1));
}
