import type { JsonObject } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { ListEventsRequest } from "@zitadel/proto/zitadel/admin_pb.js";
import type { Deps } from "../../app/core/context.js";
import * as feed from "../../app/events/event-feed.js";
import type { StoredEvent } from "../../domain/events.js";
import { KNOWN_AGGREGATE_TYPES, KNOWN_EVENT_TYPES } from "../../domain/events-feed/public-events.js";
import type { ServiceHandlers } from "../pipeline.js";
import { eventTexts, ts } from "../users/mappers.js";

const aggregateTexts: Record<string, string> = { instance: "Instance", org: "Organization", user: "User", project: "Project" };
const eventType = (t: string) => ({ type: t, localized: { key: `EventTypes.${t}`, localizedMessage: eventTexts[t] ?? t } });
const aggregateType = (t: string) => ({ type: t, localized: { key: `AggregateTypes.${t}`, localizedMessage: aggregateTexts[t] ?? t } });

/**
 * zitadel.event.v1.Event. `sequence` is the event's global position — the cursor to continue from
 * (ZITADEL ≤ v1 numbered events globally; v2 returns the per-aggregate sequence, which cannot be
 * followed). The payload has credential verifiers withheld (domain/events-feed/public-events.ts).
 */
export async function eventMessages(deps: Deps, events: StoredEvent[]) {
  const names = new Map<string, string>();
  for (const id of new Set(events.map((e) => e.editor))) {
    const u = await deps.cache.get(deps.instanceId, "user", id).catch(() => undefined);
    if (u?.userName) names.set(id, u.userName);
  }
  return events.map((e) => ({
    editor: { userId: e.editor, displayName: names.get(e.editor) ?? "" },
    aggregate: { id: e.aggregateId, type: aggregateType(e.aggregateType), resourceOwner: e.resourceOwner },
    sequence: BigInt(e.position),
    creationDate: ts(e.createdAt),
    payload: e.payload as JsonObject,
    type: eventType(e.type),
  }));
}

/** ListEventsRequest → filter (internal/api/grpc/admin/event.go eventRequestToFilter). */
export function listEventsInput(req: ListEventsRequest): feed.ListEventsInput {
  let since: Date | undefined;
  let until: Date | undefined;
  let from = req.creationDate ? timestampDate(req.creationDate) : undefined;
  const f = req.creationDateFilter;
  if (f.case === "from") from = timestampDate(f.value);
  if (f.case === "range") {
    // A range overrides from and the deprecated creation_date.
    from = undefined;
    since = f.value.since ? timestampDate(f.value.since) : undefined;
    until = f.value.until ? timestampDate(f.value.until) : undefined;
  }
  // from: created after it when ascending, before it when descending (ZITADEL's CreationDateAfter / Before).
  if (from && req.asc) since = from;
  if (from && !req.asc) until = from;
  return {
    after: req.sequence > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(req.sequence),
    limit: req.limit,
    asc: req.asc,
    filter: {
      aggregateTypes: req.aggregateTypes,
      eventTypes: req.eventTypes,
      ...(req.aggregateId ? { aggregateId: req.aggregateId } : {}),
      ...(req.resourceOwner ? { resourceOwner: req.resourceOwner } : {}),
      ...(req.editorUserId ? { editor: req.editorUserId } : {}),
      ...(since ? { createdSince: since } : {}),
      ...(until ? { createdUntil: until } : {}),
    },
  };
}

/** zitadel.admin.v1.AdminService ListEvents, ListEventTypes, ListAggregateTypes (permission events.read). */
export const adminEventHandlers: ServiceHandlers = {
  async listEvents(ctx, req: ListEventsRequest) {
    return { events: await eventMessages(ctx.deps, await feed.listEvents(ctx.deps, listEventsInput(req))) };
  },
  async listEventTypes(ctx) {
    return { eventTypes: (await feed.eventTypes(ctx.deps, KNOWN_EVENT_TYPES, "eventTypes")).map(eventType) };
  },
  async listAggregateTypes(ctx) {
    return { aggregateTypes: (await feed.eventTypes(ctx.deps, KNOWN_AGGREGATE_TYPES, "aggregateTypes")).map(aggregateType) };
  },
};
