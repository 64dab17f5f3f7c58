import type { StoredEvent } from "../../domain/events.js";
import { EVENT_COLUMNS } from "../event-store.js";
import type { Queryable } from "../sql.js";

/** The change history of an aggregate (ListUserChanges, ListOrgChanges): its events, without their payloads. */

export interface ChangesRequest {
  /** Only events after this sequence. */
  afterSequence: number;
  /** 0 = all. */
  limit: number;
  asc: boolean;
}

export function changeReads(db: Queryable) {
  return {
    /** The events of one aggregate owned by `resourceOwner`, by sequence (newest first unless asc). */
    async ofAggregate(instanceId: string, aggregateType: "user" | "org" | "project", aggregateId: string, resourceOwner: string, q: ChangesRequest): Promise<StoredEvent[]> {
      const limit = q.limit > 0 ? ` LIMIT ${Math.min(q.limit, 1_000_000)}` : "";
      const rows = await db.query(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE instance_id = $1 AND aggregate_type = '${aggregateType}' AND aggregate_id = $2 AND resource_owner = $3 AND sequence > $4
     ORDER BY sequence ${q.asc ? "ASC" : "DESC"}${limit}`,
        [instanceId, aggregateId, resourceOwner, q.afterSequence],
      );
      return rows.map((r) => ({
        instanceId: r.instance_id as string,
        aggregateType,
        aggregateId: r.aggregate_id as string,
        sequence: Number(r.sequence),
        position: Number(r.position),
        type: r.event_type as string,
        payload: {},
        editor: r.editor_user as string,
        resourceOwner: r.resource_owner as string,
        createdAt: new Date(r.created_at as string | Date),
      }));
    },
  };
}

export type ChangeReads = ReturnType<typeof changeReads>;
