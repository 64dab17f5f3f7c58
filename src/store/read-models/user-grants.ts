import type { Queryable, Row } from "../sql.js";
import { asDate, asJson, selectPage, type Page, type PageRequest } from "./page.js";
import { OrgColumns as O, ProjectColumns as P, Tables, UserColumns as U, UserGrantColumns as G } from "./tables.js";
import { scopeCondition, type VisibleScope } from "./scope.js";
import { textCondition } from "./text-query.js";

/**
 * Reads of proj_user_grants (ZITADEL's internal/query/user_grant.go over projections.user_grants):
 * a removed grant has no row; user, org and project names are joined when read.
 */

/** What the token claims need of a grant. */
export interface ActiveUserGrant {
  id: string;
  /** The granting org (resource owner). */
  orgId: string;
  projectId: string;
  projectGrantId: string;
  roleKeys: readonly string[];
}

export interface UserGrantRow {
  id: string;
  orgId: string;
  orgName: string;
  orgDomain: string;
  userId: string;
  userName: string;
  displayName: string;
  userType: number;
  userOrgId: string;
  userOrgName: string;
  userOrgDomain: string;
  projectId: string;
  projectName: string;
  /** The project's org (the granting org, or the org that granted the project to it). */
  projectOrgId: string;
  projectGrantId: string;
  roleKeys: string[];
  state: number;
  createdAt: Date;
  changedAt: Date;
  sequence: number;
}

/** zitadel.user.v1.UserGrantQuery, one kind per oneof case. Text kinds carry a TextQueryMethod. */
export type UserGrantQuery =
  | { kind: "projectId"; projectId: string }
  | { kind: "userId"; userId: string }
  | { kind: "projectGrantId"; projectGrantId: string }
  | { kind: "roleKey"; roleKey: string }
  | { kind: "userType"; type: number }
  // v2beta AuthorizationsSearchFilter
  | { kind: "ids"; ids: string[] }
  | { kind: "orgId"; orgId: string }
  | { kind: "userOrgId"; orgId: string }
  | { kind: "state"; state: number }
  | { kind: "roleKeyText"; key: string; method: number }
  | { kind: "text"; field: "userName" | "firstName" | "lastName" | "email" | "orgName" | "orgDomain" | "projectName" | "displayName"; value: string; method: number };

/** Which grants a cascade acts on (every given field must match). */
export interface UserGrantFilter {
  userId?: string;
  projectId?: string;
  projectGrantId?: string;
  roleKey?: string;
}

const FROM = `${Tables.userGrants} g
  LEFT JOIN ${Tables.users} u ON u.${U.instanceId} = g.${G.instanceId} AND u.${U.id} = g.${G.userId}
  LEFT JOIN ${Tables.orgs} o ON o.${O.instanceId} = g.${G.instanceId} AND o.${O.id} = g.${G.orgId}
  LEFT JOIN ${Tables.orgs} uo ON uo.${O.instanceId} = g.${G.instanceId} AND uo.${O.id} = u.${U.orgId}
  LEFT JOIN ${Tables.projects} p ON p.${P.instanceId} = g.${G.instanceId} AND p.${P.id} = g.${G.projectId}`;

const COLUMNS = [
  `g.${G.id} AS id`,
  `g.${G.orgId} AS org_id`,
  `COALESCE(o.${O.name}, '') AS org_name`,
  `COALESCE(o.${O.primaryDomain}, '') AS org_domain`,
  `g.${G.userId} AS user_id`,
  `COALESCE(u.${U.userName}, '') AS user_name`,
  `COALESCE(u.${U.name}, '') AS display_name`,
  `COALESCE(u.${U.type}, 0) AS user_type`,
  `COALESCE(u.${U.orgId}, '') AS user_org_id`,
  `COALESCE(uo.${O.name}, '') AS user_org_name`,
  `COALESCE(uo.${O.primaryDomain}, '') AS user_org_domain`,
  `g.${G.projectId} AS project_id`,
  `COALESCE(p.${P.name}, '') AS project_name`,
  `COALESCE(p.${P.orgId}, '') AS project_org_id`,
  `g.${G.projectGrantId} AS project_grant_id`,
  `g.${G.roleKeys} AS role_keys`,
  `g.${G.state} AS state`,
  `g.${G.createdAt} AS created_at`,
  `g.${G.changedAt} AS changed_at`,
  `g.${G.sequence} AS sequence`,
].join(", ");

const toRow = (r: Row): UserGrantRow => ({
  id: r.id as string,
  orgId: r.org_id as string,
  orgName: r.org_name as string,
  orgDomain: r.org_domain as string,
  userId: r.user_id as string,
  userName: r.user_name as string,
  displayName: r.display_name as string,
  userType: Number(r.user_type),
  userOrgId: r.user_org_id as string,
  userOrgName: r.user_org_name as string,
  userOrgDomain: r.user_org_domain as string,
  projectId: r.project_id as string,
  projectName: r.project_name as string,
  projectOrgId: r.project_org_id as string,
  projectGrantId: r.project_grant_id as string,
  roleKeys: asJson<string[]>(r.role_keys),
  state: Number(r.state),
  createdAt: asDate(r.created_at),
  changedAt: asDate(r.changed_at),
  sequence: Number(r.sequence),
});

/** The text column a text query compares; machines have no first name, last name or email (''). */
const TEXT_COLUMNS = {
  userName: `COALESCE(u.${U.userName}, '')`,
  displayName: `COALESCE(u.${U.name}, '')`,
  firstName: "''",
  lastName: "''",
  email: "''",
  orgName: `COALESCE(o.${O.name}, '')`,
  orgDomain: `COALESCE(o.${O.primaryDomain}, '')`,
  projectName: `COALESCE(p.${P.name}, '')`,
} as const;

const ACTIVE = 1;

/** The SQL conditions of the queries (AND-ed by the caller). */
function conditions(queries: UserGrantQuery[], params: unknown[]): string[] {
  return queries.map((q) => {
    switch (q.kind) {
      case "projectId":
        return `g.${G.projectId} = $${params.push(q.projectId)}`;
      case "userId":
        return `g.${G.userId} = $${params.push(q.userId)}`;
      case "projectGrantId":
        return `g.${G.projectGrantId} = $${params.push(q.projectGrantId)}`;
      case "roleKey":
        return `g.${G.roleKeys} @> jsonb_build_array($${params.push(q.roleKey)}::text)`;
      case "roleKeyText":
        return `EXISTS (SELECT 1 FROM jsonb_array_elements_text(g.${G.roleKeys}) AS rk(k) WHERE ${textCondition("rk.k", q.method, q.key, params)})`;
      case "userType":
        return `COALESCE(u.${U.type}, 0) = $${params.push(q.type)}`;
      case "ids":
        return `g.${G.id} = ANY($${params.push(q.ids)}::text[])`;
      case "orgId":
        return `g.${G.orgId} = $${params.push(q.orgId)}`;
      case "userOrgId":
        return `u.${U.orgId} = $${params.push(q.orgId)}`;
      case "state":
        return `g.${G.state} = $${params.push(q.state)}`;
      case "text":
        return textCondition(TEXT_COLUMNS[q.field], q.method, q.value, params);
    }
  });
}

export function userGrantReads(db: Queryable) {
  return {
    /** The user's active grants, oldest first. */
    async activeFor(instanceId: string, userId: string): Promise<ActiveUserGrant[]> {
      const rows = await db.query(
        `SELECT ${G.id}, ${G.orgId}, ${G.projectId}, ${G.projectGrantId}, ${G.roleKeys} FROM ${Tables.userGrants}
         WHERE ${G.instanceId} = $1 AND ${G.userId} = $2 AND ${G.state} = ${ACTIVE} ORDER BY ${G.createdAt}, ${G.id}`,
        [instanceId, userId],
      );
      return rows.map((r) => ({
        id: r[G.id] as string,
        orgId: r[G.orgId] as string,
        projectId: r[G.projectId] as string,
        projectGrantId: r[G.projectGrantId] as string,
        roleKeys: asJson<string[]>(r[G.roleKeys]),
      }));
    },

    /** Ids of the grants (active or not) matching every given field, for cascades. */
    async find(instanceId: string, f: UserGrantFilter): Promise<string[]> {
      const params: unknown[] = [instanceId];
      const where = [`${G.instanceId} = $1`];
      if (f.userId !== undefined) where.push(`${G.userId} = $${params.push(f.userId)}`);
      if (f.projectId !== undefined) where.push(`${G.projectId} = $${params.push(f.projectId)}`);
      if (f.projectGrantId !== undefined) where.push(`${G.projectGrantId} = $${params.push(f.projectGrantId)}`);
      if (f.roleKey !== undefined) where.push(`${G.roleKeys} @> jsonb_build_array($${params.push(f.roleKey)}::text)`);
      const rows = await db.query(`SELECT ${G.id} FROM ${Tables.userGrants} WHERE ${where.join(" AND ")} ORDER BY ${G.createdAt}, ${G.id}`, params);
      return rows.map((r) => r[G.id] as string);
    },

    /** One grant of the org (GetUserGrantByID). */
    async byId(instanceId: string, orgId: string, id: string): Promise<UserGrantRow | undefined> {
      const rows = await db.query(`SELECT ${COLUMNS} FROM ${FROM} WHERE g.${G.instanceId} = $1 AND g.${G.id} = $2 AND g.${G.orgId} = $3`, [instanceId, id, orgId]);
      return rows[0] && toRow(rows[0]);
    },

    /**
     * ListUserGrants: the org's grants — or with `withGrantedOrg`, also the grants other orgs made on
     * the org's projects (ZITADEL's UserGrantWithGrantedQuery) — queries AND-ed, in creation order.
     */
    /**
     * v2beta ListAuthorizations: the grants within a scope (the granting org, or the project), queries
     * AND-ed, in creation order (`asc` false: newest first).
     */
    listIn(instanceId: string, scope: VisibleScope, queries: UserGrantQuery[], asc: boolean, page: PageRequest): Promise<Page<UserGrantRow>> {
      const params: unknown[] = [instanceId];
      const where = [`g.${G.instanceId} = $1`, scopeCondition(`g.${G.orgId}`, `g.${G.projectId}`, scope, params), ...conditions(queries, params)];
      const dir = asc ? "ASC" : "DESC";
      return selectPage(db, { columns: COLUMNS, from: FROM, where: where.join(" AND "), order: `g.${G.createdAt} ${dir}, g.${G.id} ${dir}`, params }, page, toRow);
    },

    list(instanceId: string, orgId: string, withGranted: boolean, queries: UserGrantQuery[], page: PageRequest): Promise<Page<UserGrantRow>> {
      const params: unknown[] = [instanceId, orgId];
      const where = [`g.${G.instanceId} = $1`, withGranted ? `(g.${G.orgId} = $2 OR p.${P.orgId} = $2)` : `g.${G.orgId} = $2`];
      where.push(...conditions(queries, params));
      return selectPage(db, { columns: COLUMNS, from: FROM, where: where.join(" AND "), order: `g.${G.createdAt} ASC, g.${G.id} ASC`, params }, page, toRow);
    },
  };
}

export type UserGrantReads = ReturnType<typeof userGrantReads>;
