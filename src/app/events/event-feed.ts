import type { StoredEvent } from "../../domain/events.js";
import { publicPayload } from "../../domain/events-feed/public-events.js";
import { invalidArgument } from "../../domain/errors.js";
import type { EventFilter } from "../../store/read-models/index.js";
import type { Deps } from "../core/context.js";
import { eventSignal } from "./signal.js";

export type { EventFilter } from "../../store/read-models/index.js";

/** ZITADEL's ListEvents caps a page at 1000 (internal/api/grpc/admin/event.go maxLimit). */
export const MAX_EVENTS_PAGE = 1000;
/** How often a waiting follower reads again without a wake-up (commits of other processes it was not told of). */
const POLL_MS = 1000;

const pageLimit = (limit: number) => (limit <= 0 || limit > MAX_EVENTS_PAGE ? MAX_EVENTS_PAGE : limit);

/** An event as integrations see it: the payload without credential verifiers (domain/events-feed). */
export const publicEvent = (e: StoredEvent): StoredEvent => ({ ...e, payload: publicPayload(e.type, e.payload) });

export interface ListEventsInput {
  /** Position: only events above it. */
  after: number;
  limit: number;
  asc: boolean;
  filter: EventFilter;
}

/**
 * ListEvents (admin): the instance's events matching the filter. Ascending, it reads only up to a
 * safe position (EventStore.safePosition, ZITADEL's AwaitOpenTransactions), so a client paging with
 * "after the last position I saw" never skips an event; descending, newest first.
 */
export async function listEvents(deps: Deps, q: ListEventsInput): Promise<StoredEvent[]> {
  if (!Number.isSafeInteger(q.after) || q.after < 0) throw invalidArgument("EVENT-pos", "position out of range");
  const limit = pageLimit(q.limit);
  if (!q.asc) return (await deps.reads.events.search(deps.instanceId, q.filter, { after: q.after, asc: false, limit })).map(publicEvent);
  const upTo = await deps.store.safePosition(q.after);
  if (upTo <= q.after) return [];
  return (await deps.reads.events.search(deps.instanceId, q.filter, { after: q.after, upTo, asc: true, limit })).map(publicEvent);
}

export interface FollowInput {
  after: number;
  limit: number;
  /** How long to wait for a matching event when there is none yet (0: answer at once). */
  waitMs: number;
  filter: EventFilter;
  abort?: AbortSignal;
}

export interface FollowPage {
  events: StoredEvent[];
  /**
   * Where to continue: the last event's position when the page is full, else the safe position
   * read (past events the filter skipped), so the next call neither repeats nor skips one.
   */
  position: number;
}

/** Events after a position, waiting up to `waitMs` for the first matching one (long poll). */
export async function followEvents(deps: Deps, q: FollowInput): Promise<FollowPage> {
  if (!Number.isSafeInteger(q.after) || q.after < 0) throw invalidArgument("EVENT-pos", "position out of range");
  const limit = pageLimit(q.limit);
  const signal = eventSignal(deps.store);
  const deadline = Date.now() + Math.max(0, q.waitMs);
  let after = q.after;
  for (;;) {
    const upTo = await deps.store.safePosition(after);
    if (upTo > after) {
      const events = await deps.reads.events.search(deps.instanceId, q.filter, { after, upTo, asc: true, limit });
      if (events.length > 0) return { events: events.map(publicEvent), position: events.length === limit ? events[events.length - 1]!.position : upTo };
      after = upTo;
    }
    const left = deadline - Date.now();
    if (left <= 0 || q.abort?.aborted) return { events: [], position: after };
    await signal.wait(Math.min(left, POLL_MS), q.abort);
  }
}

/** ListEventTypes / ListAggregateTypes: the types the server writes and those stored. */
export async function eventTypes(deps: Deps, known: readonly string[], which: "eventTypes" | "aggregateTypes"): Promise<string[]> {
  const stored = await deps.reads.events.typesStored(deps.instanceId);
  return [...new Set([...known, ...stored[which]])].sort();
}
