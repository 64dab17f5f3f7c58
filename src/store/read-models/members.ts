import type { Queryable, Row } from "../sql.js";
import { asJson, selectPage, type Page, type PageRequest } from "./page.js";
import { MemberColumns as M, Tables, UserColumns as U } from "./tables.js";

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

    /** The scopes (orgs, the instance) the user is a member of. */
    async scopesOfUser(instanceId: string, userId: string): Promise<{ type: MemberScopeType; id: string }[]> {
      const rows = await db.query(SCOPES_OF_USER, [instanceId, userId]);
      return rows.map((r) => ({ type: r[M.scopeType] as MemberScopeType, id: r[M.scopeId] as string }));
    },
  };
}

export type MemberReads = ReturnType<typeof memberReads>;
