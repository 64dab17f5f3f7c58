import * as feed from "../../app/events/event-feed.js";
import type { StoredEvent } from "../../domain/events.js";
import { invalidArgument } from "../../domain/errors.js";
import type { ExtensionRoute } from "./extension-routes.js";

/** The longest long poll (seconds): below every idle timeout between here and a client. */
export const MAX_WAIT_SECONDS = 60;

/** The JSON shape of an event on Portcullis's own endpoints and in webhook deliveries (64-bit numbers as strings). */
export const eventJson = (e: StoredEvent) => ({
  position: String(e.position),
  aggregate: { type: e.aggregateType, id: e.aggregateId, resourceOwner: e.resourceOwner },
  sequence: String(e.sequence),
  type: e.type,
  editor: e.editor,
  creationDate: e.createdAt.toISOString(),
  payload: e.payload,
});

const list = (q: URLSearchParams, name: string) => q.getAll(name).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);

function int(q: URLSearchParams, name: string, dflt: number, max: number): number {
  const v = q.get(name);
  if (v === null || v === "") return dflt;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw invalidArgument("EVENT-param", `${name} must be a non-negative integer`);
  return Math.min(Number(v), max);
}

/**
 * GET /portcullis/v1/events?after=<position>&limit=&wait=<seconds>&event_type=&aggregate_type=&aggregate_id=&resource_owner=
 * The instance's events after a position, waiting up to `wait` seconds for one (long poll). The
 * answer's `position` is where to continue from, also when no event matched.
 */
export const followEventsRoute: ExtensionRoute = {
  method: "GET",
  path: /^\/portcullis\/v1\/events$/,
  permission: "events.read",
  async run({ ctx, query, abort }) {
    const page = await feed.followEvents(ctx.deps, {
      after: int(query, "after", 0, Number.MAX_SAFE_INTEGER),
      limit: int(query, "limit", 100, feed.MAX_EVENTS_PAGE),
      waitMs: int(query, "wait", 0, MAX_WAIT_SECONDS) * 1000,
      filter: {
        eventTypes: list(query, "event_type"),
        aggregateTypes: list(query, "aggregate_type"),
        ...(query.get("aggregate_id") ? { aggregateId: query.get("aggregate_id")! } : {}),
        ...(query.get("resource_owner") ? { resourceOwner: query.get("resource_owner")! } : {}),
      },
      abort,
    });
    return { json: { events: page.events.map(eventJson), position: String(page.position) } };
  },
};
