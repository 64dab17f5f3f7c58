import type { Queryable, Row } from "../sql.js";

/** Which slice of a list (limit 0 = all). */
export interface PageRequest {
  offset: number;
  limit: number;
}

/** One slice and the number of rows matching regardless of offset and limit. */
export interface Page<T> {
  items: T[];
  total: number;
}

/** A paged read: `where` and `order` are SQL over `from`, `params` the values they refer to ($1…). */
export interface PageQuery {
  columns: string;
  from: string;
  where: string;
  order: string;
  params: unknown[];
}

/** " LIMIT n OFFSET m", clamped to what the database takes. */
export const pagingSql = (page: PageRequest) =>
  `${page.limit > 0 ? ` LIMIT ${Math.min(page.limit, 1_000_000)}` : ""} OFFSET ${Math.max(0, Math.min(page.offset, Number.MAX_SAFE_INTEGER))}`;

/**
 * One page and the total in one round trip (a window count); only a page past the end, which has
 * no row to carry the count, costs a second query.
 */
export async function selectPage<T>(db: Queryable, q: PageQuery, page: PageRequest, toItem: (r: Row) => T): Promise<Page<T>> {
  const rows = await db.query(`SELECT ${q.columns}, count(*) OVER () AS total FROM ${q.from} WHERE ${q.where} ORDER BY ${q.order}${pagingSql(page)}`, q.params);
  let total = rows[0] ? Number(rows[0].total) : 0;
  if (rows.length === 0 && page.offset > 0) {
    const c = await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${q.from} WHERE ${q.where}`, q.params);
    total = Number(c[0]?.n ?? 0);
  }
  return { items: rows.map(toItem), total };
}

export const asDate = (v: unknown) => (v instanceof Date ? v : new Date(v as string));

/** A nullable timestamp column: undefined for NULL. */
export const asOptionalDate = (v: unknown) => (v === null || v === undefined ? undefined : asDate(v));

/** A jsonb column: PGlite and pg parse it, a driver that does not hands over the text. */
export const asJson = <T>(v: unknown): T => (typeof v === "string" ? JSON.parse(v) : v) as T;
