import type { Queryable, Row } from "../sql.js";
import { asDate, selectPage, type Page, type PageRequest } from "./page.js";
import { MachineKeyColumns as K, MachineSecretColumns as S, PatColumns as P, Tables, UserColumns as U } from "./tables.js";

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
  /** To the minute; undefined: never used (or not since last use tracking started). */
  lastUsed: Date | undefined;
}

const COLUMNS = [S.id, S.userId, S.orgId, S.description, S.expiration, S.createdAt, S.changedAt, S.sequence].map((c) => `s.${c}`).join(", ") + ", l.last_used";
const FROM = `${Tables.machineSecrets} s LEFT JOIN credential_last_used l ON l.instance_id = s.${S.instanceId} AND l.kind = 'secret' AND l.user_id = s.${S.userId} AND l.cred_id = s.${S.id}`;
const optionalDate = (v: unknown) => (v === null || v === undefined ? undefined : asDate(v));

const toRow = (r: Row): MachineSecretRow => ({
  id: r[S.id] as string,
  userId: r[S.userId] as string,
  orgId: r[S.orgId] as string,
  description: r[S.description] as string,
  expiration: r[S.expiration] === null || r[S.expiration] === undefined ? undefined : asDate(r[S.expiration]),
  createdAt: asDate(r[S.createdAt]),
  changedAt: asDate(r[S.changedAt]),
  sequence: Number(r[S.sequence]),
  lastUsed: optionalDate(r.last_used),
});

const BY_ID = `SELECT ${COLUMNS} FROM ${FROM} WHERE s.${S.instanceId} = $1 AND s.${S.orgId} = $2 AND s.${S.userId} = $3 AND s.${S.id} = $4`;
const OF_USER = `s.${S.instanceId} = $1 AND s.${S.orgId} = $2 AND s.${S.userId} = $3`;
const CREATION_ORDER = `s.${S.createdAt} ASC, s.${S.id} ASC`;

/** A secret, machine key or PAT of an org with its expiration (the expiring-soon query). */
export interface ExpiringCredentialRow {
  kind: "secret" | "key" | "pat";
  id: string;
  userId: string;
  userName: string;
  /** Undefined: never expires. */
  expiration: Date | undefined;
  createdAt: Date;
  lastUsed: Date | undefined;
}

const CREDENTIALS = `(
  SELECT 'secret' AS kind, s.${S.id} AS id, s.${S.userId} AS user_id, s.${S.expiration} AS expiration, s.${S.createdAt} AS created_at
    FROM ${Tables.machineSecrets} s WHERE s.${S.instanceId} = $1 AND s.${S.orgId} = $2
  UNION ALL
  SELECT 'key', k.${K.id}, k.${K.userId}, k.${K.expiration}, k.${K.createdAt}
    FROM ${Tables.machineKeys} k WHERE k.${K.instanceId} = $1 AND k.${K.orgId} = $2
  UNION ALL
  SELECT 'pat', p.${P.id}, p.${P.userId}, p.${P.expiration}, p.${P.createdAt}
    FROM ${Tables.pats} p WHERE p.${P.instanceId} = $1 AND p.${P.orgId} = $2
) c JOIN ${Tables.users} u ON u.${U.instanceId} = $1 AND u.${U.id} = c.user_id
  LEFT JOIN credential_last_used l ON l.instance_id = $1 AND l.kind = c.kind AND l.user_id = c.user_id AND l.cred_id = c.id`;

/** Live (unexpired) secrets, machine keys and PATs of the instance that expire by $3, per kind. */
const EXPIRING_COUNTS = `SELECT kind, count(*) AS n FROM (
  SELECT 'secret' AS kind, ${S.expiration} AS expiration FROM ${Tables.machineSecrets} WHERE ${S.instanceId} = $1
  UNION ALL SELECT 'key', ${K.expiration} FROM ${Tables.machineKeys} WHERE ${K.instanceId} = $1
  UNION ALL SELECT 'pat', ${P.expiration} FROM ${Tables.pats} WHERE ${P.instanceId} = $1
) c WHERE c.expiration > $2 AND c.expiration <= $3 GROUP BY kind`;

export function machineSecretReads(db: Queryable) {
  return {
    /** How many live credentials of each kind (secret, key, pat) expire between `now` and `by`. */
    async expiringCounts(instanceId: string, now: Date, by: Date): Promise<Record<"secret" | "key" | "pat", number>> {
      const out = { secret: 0, key: 0, pat: 0 };
      for (const r of await db.query<{ kind: "secret" | "key" | "pat"; n: number | string }>(EXPIRING_COUNTS, [instanceId, now, by])) out[r.kind] = Number(r.n);
      return out;
    },
    async byId(instanceId: string, orgId: string, userId: string, secretId: string): Promise<MachineSecretRow | undefined> {
      const rows = await db.query(BY_ID, [instanceId, orgId, userId, secretId]);
      return rows[0] && toRow(rows[0]);
    },
    /** The machine's secrets in that org, oldest first; expired ones too. */
    listOfUser(instanceId: string, orgId: string, userId: string, page: PageRequest): Promise<Page<MachineSecretRow>> {
      return selectPage(db, { columns: COLUMNS, from: FROM, where: OF_USER, order: CREATION_ORDER, params: [instanceId, orgId, userId] }, page, toRow);
    },

    /**
     * The org's live secrets, machine keys and PATs (not expired at `now`) that expire by `expiringBy`
     * or were last used (never used: created) before `unusedSince`; either bound may be absent. Soonest
     * expiry first, then the ones that never expire.
     */
    expiringInOrg(instanceId: string, orgId: string, now: Date, expiringBy: Date | undefined, unusedSince: Date | undefined, page: PageRequest): Promise<Page<ExpiringCredentialRow>> {
      return selectPage(
        db,
        {
          columns: `c.kind, c.id, c.user_id, u.${U.userName} AS username, c.expiration, c.created_at, l.last_used`,
          from: CREDENTIALS,
          where: `(c.expiration IS NULL OR c.expiration > $3) AND ((c.expiration <= $4::timestamptz) OR (COALESCE(l.last_used, c.created_at) < $5::timestamptz))`,
          order: "c.expiration ASC NULLS LAST, c.kind ASC, c.id ASC",
          params: [instanceId, orgId, now, expiringBy ?? null, unusedSince ?? null],
        },
        page,
        (r) => ({
          kind: r.kind as ExpiringCredentialRow["kind"],
          id: r.id as string,
          userId: r.user_id as string,
          userName: r.username as string,
          expiration: optionalDate(r.expiration),
          createdAt: asDate(r.created_at),
          lastUsed: optionalDate(r.last_used),
        }),
      );
    },
  };
}

export type MachineSecretReads = ReturnType<typeof machineSecretReads>;
