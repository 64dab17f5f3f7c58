import { OrgStateNum } from "../../domain/orgs/org.js";
import type { Queryable, Row } from "../sql.js";
import { selectPage, type Page, type PageRequest } from "./page.js";
import { OrgColumns as O, Tables } from "./tables.js";
import { textCondition } from "./text-query.js";

/**
 * Reads of proj_orgs. A removed org keeps its row (state REMOVED) but is gone for every read, as
 * ZITADEL's org projection deletes it.
 */

export interface OrgRow {
  id: string;
  name: string;
  state: number;
  primaryDomain: string;
  createdAt: Date;
  changedAt: Date;
  sequence: number;
}

const ORG_COLUMNS = [O.id, O.name, O.state, O.primaryDomain, O.createdAt, O.changedAt, O.sequence].join(", ");

const toOrgRow = (r: Row): OrgRow => ({
  id: r[O.id] as string,
  name: r[O.name] as string,
  state: Number(r[O.state]),
  primaryDomain: r[O.primaryDomain] as string,
  createdAt: new Date(r[O.createdAt] as string | Date),
  changedAt: new Date(r[O.changedAt] as string | Date),
  sequence: Number(r[O.sequence]),
});

/** zitadel.org.v1.OrgQuery reduced to what the store answers. */
export type OrgQuery =
  | { kind: "name"; name: string; method: number }
  | { kind: "domain"; domain: string; method: number }
  | { kind: "state"; state: number }
  | { kind: "id"; id: string }
  | { kind: "ids"; ids: readonly string[] };

const BY_ID = `SELECT ${ORG_COLUMNS} FROM ${Tables.orgs} WHERE ${O.instanceId} = $1 AND ${O.id} = $2 AND ${O.state} <> $3`;
const NAME_OR_DOMAIN_TAKEN = `SELECT 1 FROM ${Tables.orgs} WHERE ${O.instanceId} = $1 AND ${O.state} <> $2
       AND (($3 <> '' AND lower(${O.name}) = lower($3)) OR ($4 <> '' AND lower(${O.primaryDomain}) = lower($4))) LIMIT 1`;
const NAME_TAKEN = `SELECT 1 FROM ${Tables.orgs} WHERE ${O.instanceId} = $1 AND lower(${O.name}) = lower($2) AND ${O.state} <> $3 AND ${O.id} <> $4 LIMIT 1`;
const DOMAIN_TAKEN = `SELECT 1 FROM ${Tables.orgs} WHERE ${O.instanceId} = $1 AND lower(${O.primaryDomain}) = lower($2) AND ${O.state} <> $3 LIMIT 1`;

export function orgReads(db: Queryable) {
  return {
    async byId(instanceId: string, id: string): Promise<OrgRow | undefined> {
      const rows = await db.query(BY_ID, [instanceId, id, OrgStateNum.removed]);
      return rows[0] && toOrgRow(rows[0]);
    },

    /** The orgs of the instance, queries AND-ed; sorted by name (case-insensitive) when asked, else in creation order. */
    list(instanceId: string, queries: OrgQuery[], sort: { byName: boolean; asc: boolean }, page: PageRequest): Promise<Page<OrgRow>> {
      const params: unknown[] = [instanceId, OrgStateNum.removed];
      const where = [`${O.instanceId} = $1`, `${O.state} <> $2`];
      for (const q of queries) {
        switch (q.kind) {
          case "name":
            where.push(textCondition(O.name, q.method, q.name, params));
            break;
          case "domain":
            where.push(textCondition(O.primaryDomain, q.method, q.domain, params));
            break;
          case "state":
            where.push(`${O.state} = $${params.push(q.state)}`);
            break;
          case "id":
            where.push(`${O.id} = $${params.push(q.id)}`);
            break;
          case "ids":
            where.push(`${O.id} = ANY($${params.push(q.ids)}::text[])`);
            break;
        }
      }
      const dir = sort.asc ? "ASC" : "DESC";
      const order = sort.byName ? `lower(${O.name}) ${dir}, ${O.id} ${dir}` : `${O.createdAt} ASC, ${O.id} ASC`;
      return selectPage(db, { columns: ORG_COLUMNS, from: Tables.orgs, where: where.join(" AND "), order, params }, page, toOrgRow);
    },

    /** Whether an org has that name or that domain (case-insensitive; an empty one matches nothing). */
    async nameOrDomainTaken(instanceId: string, name: string, domain: string): Promise<boolean> {
      const rows = await db.query(NAME_OR_DOMAIN_TAKEN, [instanceId, OrgStateNum.removed, name, domain]);
      return rows.length > 0;
    },

    /** Whether an org other than `exceptOrgId` has that name (case-insensitive). */
    async nameTaken(instanceId: string, name: string, exceptOrgId = ""): Promise<boolean> {
      const rows = await db.query(NAME_TAKEN, [instanceId, name, OrgStateNum.removed, exceptOrgId]);
      return rows.length > 0;
    },

    /** Whether an org has that primary domain (case-insensitive). */
    async domainTaken(instanceId: string, domain: string): Promise<boolean> {
      const rows = await db.query(DOMAIN_TAKEN, [instanceId, domain, OrgStateNum.removed]);
      return rows.length > 0;
    },
  };
}

export type OrgReads = ReturnType<typeof orgReads>;
