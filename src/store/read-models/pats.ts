import type { Queryable, Row } from "../sql.js";
import { credentialFilterSql, type CredentialFilter } from "./credential-filter.js";
import { asDate, asJson, selectPage, type Page, type PageRequest } from "./page.js";
import { PatColumns as P, Tables } from "./tables.js";

/** Reads of proj_pats (only the token's metadata: the token itself is stored nowhere, its hash only in the event). */

export interface PatRow {
  id: string;
  userId: string;
  orgId: string;
  expiration: Date;
  scopes: string[];
  createdAt: Date;
  sequence: number;
}

const PAT_COLUMNS = [P.id, P.userId, P.orgId, P.expiration, P.scopes, P.createdAt, P.sequence].join(", ");

const toPatRow = (r: Row): PatRow => ({
  id: r[P.id] as string,
  userId: r[P.userId] as string,
  orgId: r[P.orgId] as string,
  expiration: asDate(r[P.expiration]),
  scopes: asJson<string[]>(r[P.scopes]),
  createdAt: asDate(r[P.createdAt]),
  sequence: Number(r[P.sequence]),
});

const BY_ID = `SELECT ${PAT_COLUMNS} FROM ${Tables.pats} WHERE ${P.instanceId} = $1 AND ${P.id} = $2 AND ${P.userId} = $3 AND ${P.orgId} = $4`;
const OF_USER = `${P.instanceId} = $1 AND ${P.orgId} = $2 AND ${P.userId} = $3`;
const CREATION_ORDER = `${P.createdAt} ASC, ${P.id} ASC`;

export function patReads(db: Queryable) {
  return {
    /** The PAT of that user in that org. */
    async byId(instanceId: string, orgId: string, userId: string, tokenId: string): Promise<PatRow | undefined> {
      const rows = await db.query(BY_ID, [instanceId, tokenId, userId, orgId]);
      return rows[0] && toPatRow(rows[0]);
    },

    /** The user's PATs in that org, oldest first; expired ones too. */
    listOfUser(instanceId: string, orgId: string, userId: string, page: PageRequest): Promise<Page<PatRow>> {
      return selectPage(db, { columns: PAT_COLUMNS, from: Tables.pats, where: OF_USER, order: CREATION_ORDER, params: [instanceId, orgId, userId] }, page, toPatRow);
    },

    /**
     * The v2 search (ListKeys / ListPersonalAccessTokens): in some orgs (or every org), filters AND-ed,
     * oldest first unless sorted otherwise.
     */
    search(instanceId: string, orgIds: readonly string[] | "all", filters: CredentialFilter[], sort: { by: "createdAt" | "id" | "userId" | "orgId" | "expiration"; asc: boolean }, page: PageRequest): Promise<Page<PatRow>> {
      const params: unknown[] = [instanceId];
      const where = [`${P.instanceId} = $1`];
      if (orgIds !== "all") where.push(`${P.orgId} = ANY($${params.push(orgIds)}::text[])`);
      for (const f of filters) where.push(credentialFilterSql(f, P, params));
      const dir = sort.asc ? "ASC" : "DESC";
      const order = `${P[sort.by]} ${dir}, ${P.id} ${dir}`;
      return selectPage(db, { columns: PAT_COLUMNS, from: Tables.pats, where: where.join(" AND "), order, params }, page, toPatRow);
    },
  };
}

export type PatReads = ReturnType<typeof patReads>;
