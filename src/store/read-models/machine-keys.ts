import type { Queryable, Row } from "../sql.js";
import { credentialFilterSql, type CredentialFilter } from "./credential-filter.js";
import { asDate, selectPage, type Page, type PageRequest } from "./page.js";
import { MachineKeyColumns as K, Tables } from "./tables.js";

/** Reads of proj_machine_keys (the public keys of machine users). */

export interface MachineKeyRow {
  id: string;
  userId: string;
  orgId: string;
  type: number;
  expiration: Date;
  createdAt: Date;
  sequence: number;
}

const KEY_COLUMNS = [K.id, K.userId, K.orgId, K.type, K.expiration, K.createdAt, K.sequence].join(", ");

const toKeyRow = (r: Row): MachineKeyRow => ({
  id: r[K.id] as string,
  userId: r[K.userId] as string,
  orgId: r[K.orgId] as string,
  type: Number(r[K.type]),
  expiration: asDate(r[K.expiration]),
  createdAt: asDate(r[K.createdAt]),
  sequence: Number(r[K.sequence]),
});

const BY_ID = `SELECT ${KEY_COLUMNS} FROM ${Tables.machineKeys} WHERE ${K.instanceId} = $1 AND ${K.id} = $2 AND ${K.userId} = $3 AND ${K.orgId} = $4`;
const OF_USER = `${K.instanceId} = $1 AND ${K.orgId} = $2 AND ${K.userId} = $3`;
const CREATION_ORDER = `${K.createdAt} ASC, ${K.id} ASC`;

export function machineKeyReads(db: Queryable) {
  return {
    /** The key of that user in that org; expired keys too. */
    async byId(instanceId: string, orgId: string, userId: string, keyId: string): Promise<MachineKeyRow | undefined> {
      const rows = await db.query(BY_ID, [instanceId, keyId, userId, orgId]);
      return rows[0] && toKeyRow(rows[0]);
    },

    /** The user's keys in that org, oldest first. */
    listOfUser(instanceId: string, orgId: string, userId: string, page: PageRequest): Promise<Page<MachineKeyRow>> {
      return selectPage(db, { columns: KEY_COLUMNS, from: Tables.machineKeys, where: OF_USER, order: CREATION_ORDER, params: [instanceId, orgId, userId] }, page, toKeyRow);
    },

    /**
     * The v2 search (ListKeys / ListPersonalAccessTokens): in some orgs (or every org), filters AND-ed,
     * oldest first unless sorted otherwise.
     */
    search(instanceId: string, orgIds: readonly string[] | "all", filters: CredentialFilter[], sort: { by: "createdAt" | "id" | "userId" | "orgId" | "expiration"; asc: boolean }, page: PageRequest): Promise<Page<MachineKeyRow>> {
      const params: unknown[] = [instanceId];
      const where = [`${K.instanceId} = $1`];
      if (orgIds !== "all") where.push(`${K.orgId} = ANY($${params.push(orgIds)}::text[])`);
      for (const f of filters) where.push(credentialFilterSql(f, K, params));
      const dir = sort.asc ? "ASC" : "DESC";
      const order = `${K[sort.by]} ${dir}, ${K.id} ${dir}`;
      return selectPage(db, { columns: KEY_COLUMNS, from: Tables.machineKeys, where: where.join(" AND "), order, params }, page, toKeyRow);
    },
  };
}

export type MachineKeyReads = ReturnType<typeof machineKeyReads>;
