import type { CredentialKindName } from "../last-used.js";
import type { Queryable, Row } from "../sql.js";
import { asDate, asOptionalDate, selectPage, type Page, type PageRequest } from "./page.js";
import {
  AppColumns as A,
  AppKeyColumns as AK,
  MachineKeyColumns as K,
  MachineSecretColumns as S,
  PatColumns as P,
  Tables,
  UserColumns as U,
} from "./tables.js";

/**
 * Every credential of an org in one shape, with its last use (joined from credential_last_used): a
 * machine's secrets, machine keys and PATs (owner: the user) and an API application's secret and
 * keys (owner: the app's project). ZITADEL's key and PAT messages have no field for the last use;
 * Portcullis's ListUserCredentials, ListAppCredentials and ListExpiringCredentials read it here.
 */

export interface CredentialRow {
  kind: CredentialKindName;
  id: string;
  orgId: string;
  /** The user of a secret, key or PAT; "" for app credentials. */
  userId: string;
  userName: string;
  /** The project and app of an app credential; "" for the others. */
  projectId: string;
  appId: string;
  appName: string;
  /** A secret's description; "" for the others. */
  description: string;
  /** Undefined: never expires. */
  expiration: Date | undefined;
  createdAt: Date;
  /** To the minute; undefined: never used (or not since last-use tracking started). */
  lastUsed: Date | undefined;
}

/** One source table of the union: the SQL expression of each column, over the alias `t`. */
interface Part {
  kind: CredentialKindName;
  from: string;
  id: string;
  userId: string;
  projectId: string;
  appId: string;
  description: string;
  expiration: string;
  createdAt: string;
  /** The owner and credential id under which credential_last_used keeps its use. */
  owner: string;
  credKey: string;
  /** Only rows that are a credential (an app holds a secret only when BASIC and set). */
  extra?: string;
}

const PARTS: Record<CredentialKindName, Part> = {
  secret: {
    kind: "secret",
    from: Tables.machineSecrets,
    id: `t.${S.id}`,
    userId: `t.${S.userId}`,
    projectId: "''",
    appId: "''",
    description: `t.${S.description}`,
    expiration: `t.${S.expiration}`,
    createdAt: `t.${S.createdAt}`,
    owner: `t.${S.userId}`,
    credKey: `t.${S.id}`,
  },
  key: {
    kind: "key",
    from: Tables.machineKeys,
    id: `t.${K.id}`,
    userId: `t.${K.userId}`,
    projectId: "''",
    appId: "''",
    description: "''",
    expiration: `t.${K.expiration}`,
    createdAt: `t.${K.createdAt}`,
    owner: `t.${K.userId}`,
    credKey: `t.${K.id}`,
  },
  pat: {
    kind: "pat",
    from: Tables.pats,
    id: `t.${P.id}`,
    userId: `t.${P.userId}`,
    projectId: "''",
    appId: "''",
    description: "''",
    expiration: `t.${P.expiration}`,
    createdAt: `t.${P.createdAt}`,
    owner: `t.${P.userId}`,
    credKey: `t.${P.id}`,
  },
  app_secret: {
    kind: "app_secret",
    from: Tables.apps,
    id: `t.${A.secretId}`,
    userId: "''",
    projectId: `t.${A.projectId}`,
    appId: `t.${A.id}`,
    description: "''",
    expiration: "NULL::timestamptz",
    createdAt: `t.${A.secretCreatedAt}`,
    owner: `t.${A.projectId}`,
    credKey: `t.${A.id} || ':' || t.${A.secretId}`,
    // ApiAuthMethod.basic: a PRIVATE_KEY_JWT app's secret does not authenticate.
    extra: `t.${A.secretId} IS NOT NULL AND t.${A.authMethodType} = 0`,
  },
  app_key: {
    kind: "app_key",
    from: Tables.appKeys,
    id: `t.${AK.id}`,
    userId: "''",
    projectId: `t.${AK.projectId}`,
    appId: `t.${AK.appId}`,
    description: "''",
    expiration: `t.${AK.expiration}`,
    createdAt: `t.${AK.createdAt}`,
    owner: `t.${AK.projectId}`,
    credKey: `t.${AK.id}`,
  },
};

const USER_KINDS: CredentialKindName[] = ["secret", "key", "pat"];
const APP_KINDS: CredentialKindName[] = ["app_secret", "app_key"];
const ALL_KINDS: CredentialKindName[] = [...USER_KINDS, ...APP_KINDS];

/** What selects the rows of a part besides the instance ($1) and the org ($2): over the part's user or app columns. */
type Scope = (p: Part) => string;

/** The union of the parts' rows (instance $1, org $2, plus `scope`), joined with their last use, user name and app name. */
function credentialsOf(kinds: CredentialKindName[], scope: Scope): string {
  const selects = kinds.map((k) => {
    const p = PARTS[k];
    const where = [`t.instance_id = $1`, `t.org_id = $2`, scope(p), p.extra].filter(Boolean).join(" AND ");
    return `SELECT '${p.kind}' AS kind, ${p.id} AS id, t.org_id AS org_id, ${p.userId} AS user_id, ${p.projectId} AS project_id, ${p.appId} AS app_id,
      ${p.description} AS description, ${p.expiration} AS expiration, ${p.createdAt} AS created_at, ${p.owner} AS owner, ${p.credKey} AS cred_key
      FROM ${p.from} t WHERE ${where}`;
  });
  return `(${selects.join(" UNION ALL ")}) c
    LEFT JOIN credential_last_used l ON l.instance_id = $1 AND l.kind = c.kind AND l.user_id = c.owner AND l.cred_id = c.cred_key
    LEFT JOIN ${Tables.users} u ON u.${U.instanceId} = $1 AND u.${U.id} = c.user_id
    LEFT JOIN ${Tables.apps} a ON a.${A.instanceId} = $1 AND a.${A.projectId} = c.project_id AND a.${A.id} = c.app_id`;
}

const COLUMNS = `c.kind, c.id, c.org_id, c.user_id, COALESCE(u.${U.userName}, '') AS username, c.project_id, c.app_id, COALESCE(a.${A.name}, '') AS app_name,
  c.description, c.expiration, c.created_at, l.last_used`;
const CREATION_ORDER = "c.created_at ASC, c.kind ASC, c.id ASC";

const toRow = (r: Row): CredentialRow => ({
  kind: r.kind as CredentialKindName,
  id: r.id as string,
  orgId: r.org_id as string,
  userId: r.user_id as string,
  userName: r.username as string,
  projectId: r.project_id as string,
  appId: r.app_id as string,
  appName: r.app_name as string,
  description: r.description as string,
  expiration: asOptionalDate(r.expiration),
  createdAt: asDate(r.created_at),
  lastUsed: asOptionalDate(r.last_used),
});

/** Narrows the kinds to one (undefined: all of them) and adds an id filter; returns the extra WHERE and its params. */
function filters(kinds: CredentialKindName[], f: CredentialListFilter, params: unknown[]): { kinds: CredentialKindName[]; where: string } {
  const only = f.kind ? kinds.filter((k) => k === f.kind) : kinds;
  return { kinds: only, where: f.id ? `c.id = $${params.push(f.id)}` : "TRUE" };
}

export interface CredentialListFilter {
  kind?: CredentialKindName;
  id?: string;
}

/** Live (unexpired) credentials of the instance that expire by $3, per kind (the metrics gauge). */
const EXPIRING_COUNTS = `SELECT kind, count(*) AS n FROM (
  SELECT 'secret' AS kind, ${S.expiration} AS expiration FROM ${Tables.machineSecrets} WHERE ${S.instanceId} = $1
  UNION ALL SELECT 'key', ${K.expiration} FROM ${Tables.machineKeys} WHERE ${K.instanceId} = $1
  UNION ALL SELECT 'pat', ${P.expiration} FROM ${Tables.pats} WHERE ${P.instanceId} = $1
  UNION ALL SELECT 'app_key', ${AK.expiration} FROM ${Tables.appKeys} WHERE ${AK.instanceId} = $1
) c WHERE c.expiration > $2 AND c.expiration <= $3 GROUP BY kind`;

export function credentialReads(db: Queryable) {
  return {
    /** How many live credentials of each kind (secret, key, pat, app_key) expire between `now` and `by`. */
    async expiringCounts(instanceId: string, now: Date, by: Date): Promise<Record<"secret" | "key" | "pat" | "app_key", number>> {
      const out = { secret: 0, key: 0, pat: 0, app_key: 0 };
      for (const r of await db.query<{ kind: keyof typeof out; n: number | string }>(EXPIRING_COUNTS, [instanceId, now, by])) out[r.kind] = Number(r.n);
      return out;
    },

    /** A user's secrets, machine keys and PATs in that org, oldest first; expired ones too. */
    ofUser(instanceId: string, orgId: string, userId: string, f: CredentialListFilter, page: PageRequest): Promise<Page<CredentialRow>> {
      const params: unknown[] = [instanceId, orgId, userId];
      const { kinds, where } = filters(USER_KINDS, f, params);
      if (kinds.length === 0) return Promise.resolve({ items: [], total: 0 });
      const from = credentialsOf(kinds, (p) => `${p.userId} = $3`);
      return selectPage(db, { columns: COLUMNS, from, where, order: CREATION_ORDER, params }, page, toRow);
    },

    /** An API application's secret and keys, oldest first; expired keys too. */
    ofApp(instanceId: string, orgId: string, projectId: string, appId: string, f: CredentialListFilter, page: PageRequest): Promise<Page<CredentialRow>> {
      const params: unknown[] = [instanceId, orgId, projectId, appId];
      const { kinds, where } = filters(APP_KINDS, f, params);
      if (kinds.length === 0) return Promise.resolve({ items: [], total: 0 });
      const from = credentialsOf(kinds, (p) => `${p.projectId} = $3 AND ${p.appId} = $4`);
      return selectPage(db, { columns: COLUMNS, from, where, order: CREATION_ORDER, params }, page, toRow);
    },

    /**
     * The org's live credentials (not expired at `now`; app secrets never expire) that expire by
     * `expiringBy` or were last used (never used: created) before `unusedSince`; either bound may be
     * absent. Soonest expiry first, then the ones that never expire.
     */
    expiringInOrg(instanceId: string, orgId: string, now: Date, expiringBy: Date | undefined, unusedSince: Date | undefined, page: PageRequest): Promise<Page<CredentialRow>> {
      return selectPage(
        db,
        {
          columns: COLUMNS,
          from: credentialsOf(ALL_KINDS, () => ""),
          where: `(c.expiration IS NULL OR c.expiration > $3) AND ((c.expiration <= $4::timestamptz) OR (COALESCE(l.last_used, c.created_at) < $5::timestamptz))`,
          order: "c.expiration ASC NULLS LAST, c.kind ASC, c.id ASC",
          params: [instanceId, orgId, now, expiringBy ?? null, unusedSince ?? null],
        },
        page,
        toRow,
      );
    },
  };
}

export type CredentialReads = ReturnType<typeof credentialReads>;
