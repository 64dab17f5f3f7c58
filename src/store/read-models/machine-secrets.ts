import type { Queryable, Row } from "../sql.js";
import { asDate, selectPage, type Page, type PageRequest } from "./page.js";
import { MachineSecretColumns as S, Tables } from "./tables.js";

/** Reads of proj_machine_secrets (a machine's client secrets: ids, descriptions, dates; no hashes). */

export interface MachineSecretRow {
  id: string;
  userId: string;
  orgId: string;
  description: string;
  expiration: Date | undefined;
  createdAt: Date;
  changedAt: Date;
  sequence: number;
}

const COLUMNS = [S.id, S.userId, S.orgId, S.description, S.expiration, S.createdAt, S.changedAt, S.sequence].join(", ");

const toRow = (r: Row): MachineSecretRow => ({
  id: r[S.id] as string,
  userId: r[S.userId] as string,
  orgId: r[S.orgId] as string,
  description: r[S.description] as string,
  expiration: r[S.expiration] === null || r[S.expiration] === undefined ? undefined : asDate(r[S.expiration]),
  createdAt: asDate(r[S.createdAt]),
  changedAt: asDate(r[S.changedAt]),
  sequence: Number(r[S.sequence]),
});

const BY_ID = `SELECT ${COLUMNS} FROM ${Tables.machineSecrets} WHERE ${S.instanceId} = $1 AND ${S.orgId} = $2 AND ${S.userId} = $3 AND ${S.id} = $4`;
const OF_USER = `${S.instanceId} = $1 AND ${S.orgId} = $2 AND ${S.userId} = $3`;
const CREATION_ORDER = `${S.createdAt} ASC, ${S.id} ASC`;

export function machineSecretReads(db: Queryable) {
  return {
    async byId(instanceId: string, orgId: string, userId: string, secretId: string): Promise<MachineSecretRow | undefined> {
      const rows = await db.query(BY_ID, [instanceId, orgId, userId, secretId]);
      return rows[0] && toRow(rows[0]);
    },
    /** The machine's secrets in that org, oldest first; expired ones too. */
    listOfUser(instanceId: string, orgId: string, userId: string, page: PageRequest): Promise<Page<MachineSecretRow>> {
      return selectPage(db, { columns: COLUMNS, from: Tables.machineSecrets, where: OF_USER, order: CREATION_ORDER, params: [instanceId, orgId, userId] }, page, toRow);
    },
  };
}

export type MachineSecretReads = ReturnType<typeof machineSecretReads>;
