import { UserEvents } from "../../domain/users/user.js";
import type { Queryable } from "../sql.js";

/** What bootstrap reads: the events table, since it runs before (and decides whether) there is an instance to project. */

const FIRST_INSTANCE = "SELECT aggregate_id AS id FROM events WHERE aggregate_type = 'instance' ORDER BY position LIMIT 1";
const PAT_HASHES = "SELECT payload->>'tokenHash' AS h FROM events WHERE instance_id = $1 AND event_type = $2";

export function instanceReads(db: Queryable) {
  return {
    /** The id of the database's first instance, if there is one. */
    async firstInstanceId(): Promise<string | undefined> {
      const rows = await db.query<{ id: string }>(FIRST_INSTANCE);
      return rows[0]?.id;
    },

    /** The keyed hashes of every PAT ever added in the instance (removed ones too). */
    async patHashes(instanceId: string): Promise<string[]> {
      const rows = await db.query<{ h: string | null }>(PAT_HASHES, [instanceId, UserEvents.patAdded]);
      return rows.flatMap((r) => (r.h ? [r.h] : []));
    },
  };
}

export type InstanceReads = ReturnType<typeof instanceReads>;
