import { readAllEvents } from "./event-store.js";
import { PROJECTION_TABLES } from "./migrations.js";
import { project } from "./projections.js";
import type { SqlPort } from "./sql.js";

/** Replays every event into empty projection tables, in one transaction. */
export async function rebuildProjections(sql: SqlPort): Promise<number> {
  return sql.transaction(async (tx) => {
    for (const t of PROJECTION_TABLES) await tx.query(`DELETE FROM ${t}`);
    let n = 0;
    for await (const e of readAllEvents(tx)) {
      await project(tx, e);
      n++;
    }
    return n;
  });
}
