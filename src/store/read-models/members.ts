import type { Queryable, Row } from "../sql.js";
import { asJson, selectPage, type Page, type PageRequest } from "./page.js";
import { InstanceColumns as I, MemberColumns as M, OrgColumns as O, ProjectColumns as P, Tables, UserColumns as U } from "./tables.js";

/** Reads of proj_members (joined with proj_users for the member's name and type). */

export interface MemberRow {
  userId: string;
  roles: string[];
  /** The org or the instance the membership belongs to. */
  scopeId: string;
  createdAt: Date;
  changedAt: Date;
  sequence: number;
  userName: string;
  /** Machines: their name (ZITADEL shows the machine name as display name). */
  displayName: string;
  userType: number;
  userOrgId: string;
}

export type MemberScopeType = "org" | "instance" | "project";

/** zitadel.member.v1.SearchQuery reduced to what the store answers. */
export type MemberQuery = { kind: "userId"; userId: string } | { kind: "humanText" };

/** What a member list can be sorted by (ties broken by user id); none keeps creation order. */
export type MemberSort = "userId" | "createdAt" | "changedAt" | "userOrgId";

const sortColumns: Record<MemberSort, string> = {
  userId: `m.${M.userId}`,
  createdAt: `m.${M.createdAt}`,
  changedAt: `m.${M.changedAt}`,
  userOrgId: `u.${U.orgId}`,
};

const MEMBER_COLUMNS = [
  ...[M.userId, M.roles, M.scopeId, M.createdAt, M.changedAt, M.sequence].map((c) => `m.${c}`),
  ...[U.userName, U.name, U.type, U.orgId].map((c) => `u.${c}`),
].join(", ");

const MEMBERS_WITH_USERS = `${Tables.members} m JOIN ${Tables.users} u ON u.${U.instanceId} = m.${M.instanceId} AND u.${U.id} = m.${M.userId}`;

const toMemberRow = (r: Row): MemberRow => ({
  userId: r[M.userId] as string,
  roles: asJson<string[]>(r[M.roles]),
  scopeId: r[M.scopeId] as string,
  createdAt: new Date(r[M.createdAt] as string | Date),
  changedAt: new Date(r[M.changedAt] as string | Date),
  sequence: Number(r[M.sequence]),
  userName: r[U.userName] as string,
  displayName: r[U.name] as string,
  userType: Number(r[U.type]),
  userOrgId: r[U.orgId] as string,
});

/** One membership of a user (zitadel.user.v1.Membership): where, with which roles, and that scope's name. */
export interface MembershipRow {
  scopeType: MemberScopeType;
  scopeId: string;
  roles: string[];
  /** The instance's, org's or project's name. */
  scopeName: string;
  /** The owner of the membership: the instance, the org, or the project's org. */
  resourceOwner: string;
  createdAt: Date;
  changedAt: Date;
  sequence: number;
}

/** user.v1.MembershipQuery reduced to what the store answers (there are no project grant members). */
export type MembershipQuery = { kind: "org"; orgId: string } | { kind: "project"; projectId: string } | { kind: "projectGrant" } | { kind: "iam" };

const MEMBERSHIP_COLUMNS = [
  ...[M.scopeType, M.scopeId, M.roles, M.createdAt, M.changedAt, M.sequence].map((c) => `m.${c}`),
  `COALESCE(i.${I.name}, o.${O.name}, p.${P.name}, '') AS scope_name`,
  `CASE m.${M.scopeType} WHEN 'project' THEN p.${P.orgId} ELSE m.${M.scopeId} END AS resource_owner`,
].join(", ");

const MEMBERSHIPS_WITH_SCOPES =
  `${Tables.members} m` +
  ` LEFT JOIN ${Tables.instances} i ON m.${M.scopeType} = 'instance' AND i.${I.id} = m.${M.scopeId}` +
  ` LEFT JOIN ${Tables.orgs} o ON m.${M.scopeType} = 'org' AND o.${O.instanceId} = m.${M.instanceId} AND o.${O.id} = m.${M.scopeId}` +
  ` LEFT JOIN ${Tables.projects} p ON m.${M.scopeType} = 'project' AND p.${P.instanceId} = m.${M.instanceId} AND p.${P.id} = m.${M.scopeId}`;

const toMembershipRow = (r: Row): MembershipRow => ({
  scopeType: r[M.scopeType] as MemberScopeType,
  scopeId: r[M.scopeId] as string,
  roles: asJson<string[]>(r[M.roles]),
  scopeName: r.scope_name as string,
  resourceOwner: r.resource_owner as string,
  createdAt: new Date(r[M.createdAt] as string | Date),
  changedAt: new Date(r[M.changedAt] as string | Date),
  sequence: Number(r[M.sequence]),
});

const SCOPES_OF_USER = `SELECT ${M.scopeType}, ${M.scopeId} FROM ${Tables.members} WHERE ${M.instanceId} = $1 AND ${M.userId} = $2`;

export function memberReads(db: Queryable) {
  return {
    /**
     * Members of one scope (an org, or the instance), queries AND-ed, with the user's login name,
     * display name and type. Members whose user no longer exists (or whose org was removed) are not listed.
     */
    list(
      instanceId: string,
      scope: { type: MemberScopeType; id: string },
      queries: MemberQuery[],
      sort: { by: MemberSort | undefined; asc: boolean },
      page: PageRequest,
    ): Promise<Page<MemberRow>> {
      const params: unknown[] = [instanceId, scope.type, scope.id];
      const where = [`m.${M.instanceId} = $1`, `m.${M.scopeType} = $2`, `m.${M.scopeId} = $3`];
      for (const q of queries) {
        // First name, last name and email belong to humans; a machine never matches them.
        where.push(q.kind === "userId" ? `m.${M.userId} = $${params.push(q.userId)}` : "false");
      }
      const dir = sort.asc ? "ASC" : "DESC";
      const order = sort.by ? `${sortColumns[sort.by]} ${dir}, m.${M.userId} ${dir}` : `m.${M.createdAt} ASC, m.${M.userId} ASC`;
      return selectPage(db, { columns: MEMBER_COLUMNS, from: MEMBERS_WITH_USERS, where: where.join(" AND "), order, params }, page, toMemberRow);
    },

    /**
     * The memberships of one user owned by the instance or by one org: the instance membership, the
     * membership in that org and in that org's projects; queries AND-ed; in creation order.
     */
    membershipsOfUser(instanceId: string, userId: string, orgId: string, queries: MembershipQuery[], page: PageRequest): Promise<Page<MembershipRow>> {
      const params: unknown[] = [instanceId, userId, orgId];
      const where = [
        `m.${M.instanceId} = $1`,
        `m.${M.userId} = $2`,
        `(m.${M.scopeType} = 'instance' OR (m.${M.scopeType} = 'org' AND m.${M.scopeId} = $3) OR (m.${M.scopeType} = 'project' AND p.${P.orgId} = $3))`,
      ];
      for (const q of queries) {
        if (q.kind === "iam") where.push(`m.${M.scopeType} = 'instance'`);
        else if (q.kind === "org") where.push(`m.${M.scopeType} = 'org' AND m.${M.scopeId} = $${params.push(q.orgId)}`);
        else if (q.kind === "project") where.push(`m.${M.scopeType} = 'project' AND m.${M.scopeId} = $${params.push(q.projectId)}`);
        else where.push("false");
      }
      const order = `m.${M.createdAt} ASC, m.${M.scopeType} ASC, m.${M.scopeId} ASC`;
      return selectPage(db, { columns: MEMBERSHIP_COLUMNS, from: MEMBERSHIPS_WITH_SCOPES, where: where.join(" AND "), order, params }, page, toMembershipRow);
    },

    /** The scopes (orgs, the instance) the user is a member of. */
    async scopesOfUser(instanceId: string, userId: string): Promise<{ type: MemberScopeType; id: string }[]> {
      const rows = await db.query(SCOPES_OF_USER, [instanceId, userId]);
      return rows.map((r) => ({ type: r[M.scopeType] as MemberScopeType, id: r[M.scopeId] as string }));
    },
  };
}

export type MemberReads = ReturnType<typeof memberReads>;
