import type { StoredEvent } from "../../domain/events.js";
import { EVENT_COLUMNS, rowToEvent } from "../event-store.js";
import type { Queryable } from "../sql.js";

/** Which events (ListEvents, the follow endpoint, webhooks); every given condition must hold, lists are any-of. */
export interface EventFilter {
  aggregateTypes?: readonly string[];
  eventTypes?: readonly string[];
  aggregateId?: string;
  resourceOwner?: string;
  editor?: string;
  /** Created at or after. */
  createdSince?: Date;
  /** Created before. */
  createdUntil?: Date;
}

export interface EventRange {
  /** Only positions above this one (asc) or, with asc false, also above it (ZITADEL's SequenceGreater). */
  after: number;
  /** Only positions up to this one (a safe position: EventStore.safePosition). */
  upTo?: number;
  asc: boolean;
  limit: number;
}

export function eventReads(db: Queryable) {
  return {
    /** The instance's events in the range that match the filter, by position. */
    async search(instanceId: string, f: EventFilter, r: EventRange): Promise<StoredEvent[]> {
      const params: unknown[] = [instanceId, r.after];
      const where = ["instance_id = $1", "position > $2"];
      const add = (cond: (n: string) => string, v: unknown) => {
        params.push(v);
        where.push(cond(`$${params.length}`));
      };
      if (r.upTo !== undefined) add((n) => `position <= ${n}`, r.upTo);
      if (f.aggregateTypes?.length) add((n) => `aggregate_type = ANY(${n}::text[])`, [...f.aggregateTypes]);
      if (f.eventTypes?.length) add((n) => `event_type = ANY(${n}::text[])`, [...f.eventTypes]);
      if (f.aggregateId) add((n) => `aggregate_id = ${n}`, f.aggregateId);
      if (f.resourceOwner) add((n) => `resource_owner = ${n}`, f.resourceOwner);
      if (f.editor) add((n) => `editor_user = ${n}`, f.editor);
      if (f.createdSince) add((n) => `created_at >= ${n}`, f.createdSince);
      if (f.createdUntil) add((n) => `created_at < ${n}`, f.createdUntil);
      params.push(Math.max(1, Math.min(r.limit, 10_000)));
      const rows = await db.query(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE ${where.join(" AND ")} ORDER BY position ${r.asc ? "ASC" : "DESC"} LIMIT $${params.length}`,
        params,
      );
      return rows.map(rowToEvent);
    },
    /** The event and aggregate types the instance has stored. */
    async typesStored(instanceId: string): Promise<{ eventTypes: string[]; aggregateTypes: string[] }> {
      const ev = await db.query<{ t: string }>("SELECT DISTINCT event_type AS t FROM events WHERE instance_id = $1", [instanceId]);
      const ag = await db.query<{ t: string }>("SELECT DISTINCT aggregate_type AS t FROM events WHERE instance_id = $1", [instanceId]);
      return { eventTypes: ev.map((r) => r.t), aggregateTypes: ag.map((r) => r.t) };
    },
  };
}

export type EventReads = ReturnType<typeof eventReads>;
