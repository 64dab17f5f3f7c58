import { invalidArgument } from "../../domain/errors.js";
import type { Queryable, Row } from "../sql.js";
import { selectPage, type Page, type PageRequest } from "./page.js";
import { Tables, UserColumns as U } from "./tables.js";
import { textCondition } from "./text-query.js";

/** Reads of proj_users. */

export interface UserRow {
  id: string;
  orgId: string;
  type: number;
  userName: string;
  state: number;
  name: string;
  description: string;
  accessTokenType: number;
  hasSecret: boolean;
  createdAt: Date;
  changedAt: Date;
  sequence: number;
}

const USER_COLUMNS = [U.id, U.orgId, U.type, U.userName, U.state, U.name, U.description, U.accessTokenType, U.hasSecret, U.createdAt, U.changedAt, U.sequence].join(", ");

const toUserRow = (r: Row): UserRow => ({
  id: r[U.id] as string,
  orgId: r[U.orgId] as string,
  type: Number(r[U.type]),
  userName: r[U.userName] as string,
  state: Number(r[U.state]),
  name: r[U.name] as string,
  description: r[U.description] as string,
  accessTokenType: Number(r[U.accessTokenType]),
  hasSecret: Boolean(r[U.hasSecret]),
  createdAt: new Date(r[U.createdAt] as string | Date),
  changedAt: new Date(r[U.changedAt] as string | Date),
  sequence: Number(r[U.sequence]),
});

/** A user search query (zitadel.user.v1.SearchQuery) reduced to what the store can answer. */
export type UserQuery =
  | { kind: "text"; field: "userName" | "loginName" | "displayName" | "humanOnly"; value: string; method: number }
  | { kind: "state"; state: number }
  | { kind: "type"; type: number }
  | { kind: "ids"; ids: string[] }
  | { kind: "emails"; emails: string[] }
  | { kind: "org"; orgId: string }
  | { kind: "or" | "and"; queries: UserQuery[] }
  | { kind: "not"; query: UserQuery };

const MAX_NESTING = 20;

function toSql(q: UserQuery, params: unknown[], depth: number): string {
  if (depth > MAX_NESTING) throw invalidArgument("USER-zsQ97", "Too many query nesting levels (Max 20)");
  const add = (v: unknown) => `$${params.push(v)}`;
  switch (q.kind) {
    case "text": {
      if (q.field === "humanOnly") return "false"; // first/last/nick name and email: machines have none
      const column = q.field === "displayName" ? U.name : U.userName;
      return textCondition(column, q.method, q.value, params);
    }
    case "state":
      return `${U.state} = ${add(q.state)}`;
    case "type":
      return `${U.type} = ${add(q.type)}`;
    case "ids":
      return q.ids.length === 0 ? "false" : `${U.id} = ANY(${add(q.ids)}::text[])`;
    case "emails":
      return "false";
    case "org":
      return `${U.orgId} = ${add(q.orgId)}`;
    case "or":
    case "and": {
      if (q.queries.length === 0) return q.kind === "and" ? "true" : "false";
      const joined = q.queries.map((s) => `(${toSql(s, params, depth + 1)})`).join(q.kind === "or" ? " OR " : " AND ");
      return joined;
    }
    case "not":
      return `NOT (${toSql(q.query, params, depth + 1)})`;
  }
}

/** What a user list can be sorted by (ties broken by id). */
export type UserSort = "id" | "userName" | "displayName" | "state" | "type" | "createdAt";

const sortColumns: Record<UserSort, string> = {
  id: U.id,
  userName: U.userName,
  displayName: U.name,
  state: U.state,
  type: U.type,
  createdAt: U.createdAt,
};

const USER_EXISTS = `SELECT 1 FROM ${Tables.users} WHERE ${U.instanceId} = $1`;
const IDS_BY_LOGIN_NAME = `SELECT ${U.id}, ${U.userName} FROM ${Tables.users} WHERE ${U.instanceId} = $1 AND lower(${U.userName}) = lower($2) LIMIT 16`;
const USER_NAMES_OF_ORG = `SELECT ${U.userName} FROM ${Tables.users} WHERE ${U.instanceId} = $1 AND ${U.orgId} = $2`;

export function userReads(db: Queryable) {
  /** The users of some orgs (or of every org), queries AND-ed: the v2 search, bounded by the caller's permissions. */
  function listIn(instanceId: string, orgIds: readonly string[] | "all", queries: UserQuery[], sort: { by: UserSort; asc: boolean }, page: PageRequest): Promise<Page<UserRow>> {
    const params: unknown[] = [instanceId];
    const scope = orgIds === "all" ? [] : [orgIds.length === 1 ? `${U.orgId} = $${params.push(orgIds[0])}` : `${U.orgId} = ANY($${params.push(orgIds)}::text[])`];
    const where = [`${U.instanceId} = $1`, ...scope, ...queries.map((q) => `(${toSql(q, params, 1)})`)].join(" AND ");
    const dir = sort.asc ? "ASC" : "DESC";
    const order = `${sortColumns[sort.by]} ${dir}, ${U.id} ${dir}`;
    return selectPage(db, { columns: USER_COLUMNS, from: Tables.users, where, order, params }, page, toUserRow);
  }

  return {
    /** The users of an org, queries AND-ed. */
    list(instanceId: string, orgId: string, queries: UserQuery[], sort: { by: UserSort; asc: boolean }, page: PageRequest): Promise<Page<UserRow>> {
      return listIn(instanceId, [orgId], queries, sort, page);
    },

    listIn,

    /** Whether a user has that username (case-insensitive); with an empty username, whether there is any user. */
    async exists(instanceId: string, userName: string): Promise<boolean> {
      const params: unknown[] = [instanceId];
      const cond = userName ? ` AND lower(${U.userName}) = lower($${params.push(userName)})` : "";
      const rows = await db.query(`${USER_EXISTS}${cond} LIMIT 1`, params);
      return rows.length > 0;
    },

    /** The ids of the users with that login name (case-insensitive); more than one identifies no one. */
    async idsByLoginName(instanceId: string, loginName: string): Promise<string[]> {
      const rows = await db.query(IDS_BY_LOGIN_NAME, [instanceId, loginName]);
      // Usernames are unique by JavaScript's toLowerCase (the usernames claim, domain/users/rules.ts);
      // the database's lower() folds by its locale and may join names the claim keeps apart (C.UTF-8:
      // lower('İ') = 'i', while 'İ'.toLowerCase() is 'i̇'). The database narrows, the claim's folding decides.
      const folded = loginName.toLowerCase();
      return rows.filter((r) => (r[U.userName] as string).toLowerCase() === folded).map((r) => r[U.id] as string);
    },

    /** The usernames of an org's users (as they are stored). */
    async userNamesOfOrg(instanceId: string, orgId: string): Promise<string[]> {
      const rows = await db.query(USER_NAMES_OF_ORG, [instanceId, orgId]);
      return rows.map((r) => r[U.userName] as string);
    },
  };
}

export type UserReads = ReturnType<typeof userReads>;
