import type { Queryable, Row } from "../sql.js";
import { asDate, selectPage, type Page, type PageRequest } from "./page.js";
import { Tables, UserMetadataColumns as MD } from "./tables.js";
import { textCondition } from "./text-query.js";

/** Reads of proj_user_metadata. */

export interface MetadataRow {
  key: string;
  value: Uint8Array;
  orgId: string;
  createdAt: Date;
  changedAt: Date;
  sequence: number;
}

const MD_COLUMNS = [MD.key, MD.value, MD.orgId, MD.createdAt, MD.changedAt, MD.sequence].join(", ");

const toMetadataRow = (r: Row): MetadataRow => ({
  key: r[MD.key] as string,
  value: new Uint8Array(r[MD.value] as Uint8Array),
  orgId: r[MD.orgId] as string,
  createdAt: asDate(r[MD.createdAt]),
  changedAt: asDate(r[MD.changedAt]),
  sequence: Number(r[MD.sequence]),
});

/** zitadel.metadata.v1.MetadataKeyQuery: the key compared with a TextQueryMethod. */
export interface MetadataKeyQuery {
  key: string;
  method: number;
}

const BY_KEY = `SELECT ${MD_COLUMNS} FROM ${Tables.userMetadata} WHERE ${MD.instanceId} = $1 AND ${MD.userId} = $2 AND ${MD.key} = $3 AND ${MD.orgId} = $4`;
/** By key bytes: the same order on every database collation. */
const KEY_ORDER = `${MD.key} COLLATE "C" ASC`;

export function metadataReads(db: Queryable) {
  return {
    /** The entry of that user in that org. */
    async byKey(instanceId: string, orgId: string, userId: string, key: string): Promise<MetadataRow | undefined> {
      const rows = await db.query(BY_KEY, [instanceId, userId, key, orgId]);
      return rows[0] && toMetadataRow(rows[0]);
    },

    /** The user's entries in that org, queries AND-ed, ordered by key. */
    listOfUser(instanceId: string, orgId: string, userId: string, queries: MetadataKeyQuery[], page: PageRequest): Promise<Page<MetadataRow>> {
      const params: unknown[] = [instanceId, orgId, userId];
      const where = [`${MD.instanceId} = $1`, `${MD.orgId} = $2`, `${MD.userId} = $3`];
      for (const q of queries) where.push(textCondition(MD.key, q.method, q.key, params));
      return selectPage(db, { columns: MD_COLUMNS, from: Tables.userMetadata, where: where.join(" AND "), order: KEY_ORDER, params }, page, toMetadataRow);
    },
  };
}

export type MetadataReads = ReturnType<typeof metadataReads>;
