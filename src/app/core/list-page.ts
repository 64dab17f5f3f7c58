import type { Row } from "../../store/sql.js";
import type { Deps } from "./context.js";

export interface ListInput {
  offset: number;
  limit: number;
  asc: boolean;
}

/** zitadel.v1.ListDetails: processedSequence is the store's last position, viewTimestamp "now" (read-your-writes). */
export interface ListMeta {
  totalResult: number;
  processedSequence: number;
  viewTimestamp: Date;
}

export async function listMeta(deps: Deps, total: number): Promise<ListMeta> {
  return { totalResult: total, processedSequence: await deps.store.lastPosition(), viewTimestamp: deps.clock() };
}

/**
 * One page of a projection query with ZITADEL's ListDetails: `totalResult` counts every match
 * regardless of offset/limit (limit 0 = all).
 */
export async function listPage(
  deps: Deps,
  q: { columns: string; from: string; where: string; order: string; params: unknown[] },
  list: ListInput,
): Promise<{ rows: Row[]; meta: ListMeta }> {
  const paging = `${list.limit > 0 ? ` LIMIT ${Math.min(list.limit, 1_000_000)}` : ""} OFFSET ${Math.max(0, Math.min(list.offset, Number.MAX_SAFE_INTEGER))}`;
  const rows = await deps.store.sql.query(`SELECT ${q.columns}, count(*) OVER () AS total FROM ${q.from} WHERE ${q.where} ORDER BY ${q.order}${paging}`, q.params);
  let total = rows[0] ? Number(rows[0].total) : 0;
  if (rows.length === 0 && list.offset > 0) {
    const c = await deps.store.sql.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${q.from} WHERE ${q.where}`, q.params);
    total = Number(c[0]?.n ?? 0);
  }
  return { rows, meta: await listMeta(deps, total) };
}

export const asDate = (v: unknown) => (v instanceof Date ? v : new Date(v as string));
