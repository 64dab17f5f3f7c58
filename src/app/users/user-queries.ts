import { listPage, type ListInput } from "../core/list-page.js";
export { listMeta, type ListInput, type ListMeta } from "../core/list-page.js";
import { userExists, type UserState } from "../../domain/users/user.js";
import type { OrgState } from "../../domain/orgs/org.js";
import { textCondition } from "../core/text-query.js";
import { invalidArgument, notFound } from "../../domain/errors.js";
import type { StoredEvent } from "../../domain/events.js";
import { EVENT_COLUMNS } from "../../store/event-store.js";
import type { Row } from "../../store/sql.js";
import type { Caller, Deps } from "../core/context.js";

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

const USER_COLUMNS = "id, org_id, user_type, username, state, name, description, access_token_type, has_secret, created_at, changed_at, sequence";

const toUserRow = (r: Row): UserRow => ({
  id: r.id as string,
  orgId: r.org_id as string,
  type: Number(r.user_type),
  userName: r.username as string,
  state: Number(r.state),
  name: r.name as string,
  description: r.description as string,
  accessTokenType: Number(r.access_token_type),
  hasSecret: Boolean(r.has_secret),
  createdAt: new Date(r.created_at as string | Date),
  changedAt: new Date(r.changed_at as string | Date),
  sequence: Number(r.sequence),
});

/**
 * GetUserByID, answered from the aggregate cache: the same state the projection row holds
 * (sequence and dates of the user's last event), kept exact by the cache's invalidation.
 */
export function getUserById(deps: Deps, caller: Caller, id: string): UserRow | Promise<UserRow> {
  const u = deps.cache.peek(deps.instanceId, "user", id);
  const org = u && userExists(u) ? deps.cache.peek(deps.instanceId, "org", u.orgId) : undefined;
  if (u && org) return visibleRow(u, org, caller);
  return (async () => {
    const user = u ?? (await deps.cache.get(deps.instanceId, "user", id));
    const userOrg = userExists(user) ? (await deps.cache.current(deps.instanceId, "org", user.orgId)) : undefined;
    return visibleRow(user, userOrg, caller);
  })();
}

function visibleRow(u: UserState, org: OrgState | undefined, caller: Caller): UserRow {
  // A removed org takes its users along (as its projection rows go).
  if (!org?.exists || !u.createdAt) throw notFound("QUERY-Dfbg2", "User could not be found");
  if (u.orgId !== caller.orgId) throw notFound("MANAG-fpo4B", "User could not be found");
  return rowOf(u);
}

/**
 * The row of a user state, the same object as long as the state has not moved on (cached states
 * are brought forward in place, so the sequence tells): a repeated GetUserByID reuses its encoded
 * response (src/api/response-memo.ts).
 */
const rows = new WeakMap<UserState, UserRow>();
function rowOf(u: UserState): UserRow {
  const kept = rows.get(u);
  if (kept && kept.sequence === u.sequence) return kept;
  const row: UserRow = Object.freeze({
    id: u.id,
    orgId: u.orgId,
    type: u.type,
    userName: u.userName,
    state: u.state,
    name: u.name,
    description: u.description,
    accessTokenType: u.accessTokenType,
    hasSecret: u.secret !== undefined,
    createdAt: u.createdAt!,
    changedAt: u.changedAt ?? u.createdAt!,
    sequence: u.sequence,
  });
  rows.set(u, row);
  return row;
}

/** A user search query (zitadel.user.v1.SearchQuery) reduced to what the store can answer. */
export type UserQuery =
  | { kind: "text"; field: "userName" | "loginName" | "displayName" | "humanOnly"; value: string; method: number }
  | { kind: "state"; state: number }
  | { kind: "type"; type: number }
  | { kind: "ids"; ids: string[] }
  | { kind: "emails"; emails: string[] }
  | { kind: "or" | "and"; queries: UserQuery[] }
  | { kind: "not"; query: UserQuery };


const MAX_NESTING = 20;



function toSql(q: UserQuery, params: unknown[], depth: number): string {
  if (depth > MAX_NESTING) throw invalidArgument("USER-zsQ97", "Too many query nesting levels (Max 20)");
  const add = (v: unknown) => `$${params.push(v)}`;
  switch (q.kind) {
    case "text": {
      if (q.field === "humanOnly") return "false"; // first/last/nick name and email: machines have none
      const column = q.field === "displayName" ? "name" : "username";
      return textCondition(column, q.method, q.value, params);
    }
    case "state":
      return `state = ${add(q.state)}`;
    case "type":
      return `user_type = ${add(q.type)}`;
    case "ids":
      return q.ids.length === 0 ? "false" : `id = ANY(${add(q.ids)}::text[])`;
    case "emails":
      return "false";
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

/** zitadel.user.v1.UserFieldName → column; unspecified sorts by id (ZITADEL's default). */
const sortColumns: Record<number, string> = { 0: "id", 1: "username", 2: "id", 3: "id", 4: "id", 5: "name", 6: "id", 7: "state", 8: "user_type", 9: "created_at" };


export async function listUsers(deps: Deps, caller: Caller, list: ListInput, sortingColumn: number, queries: UserQuery[]) {
  const params: unknown[] = [deps.instanceId, caller.orgId];
  const where = ["instance_id = $1", "org_id = $2", ...queries.map((q) => `(${toSql(q, params, 1)})`)].join(" AND ");
  const order = `${sortColumns[sortingColumn] ?? "id"} ${list.asc ? "ASC" : "DESC"}, id ${list.asc ? "ASC" : "DESC"}`;
  const page = await listPage(deps, { columns: USER_COLUMNS, from: "proj_users", where, order, params }, list);
  return { users: page.rows.map(toUserRow), meta: page.meta };
}

/** IsUserUnique: the given filters are AND-ed; both empty matches any user (ZITADEL's behaviour). */
export async function isUserUnique(deps: Deps, userName: string, email: string): Promise<boolean> {
  if (email) return true; // machine users have no email; no human users exist here
  const params: unknown[] = [deps.instanceId];
  const cond = userName ? ` AND lower(username) = lower($${params.push(userName)})` : "";
  const rows = await deps.store.sql.query(`SELECT 1 FROM proj_users WHERE instance_id = $1${cond} LIMIT 1`, params);
  return rows.length === 0;
}

export interface ChangeInput {
  sequence: number;
  limit: number;
  asc: boolean;
}

/** The user's events in the org (newest first unless asc); an unknown or other-org user has none. */
export async function listUserChanges(deps: Deps, caller: Caller, userId: string, q: ChangeInput): Promise<StoredEvent[]> {
  if (!Number.isSafeInteger(q.sequence)) return []; // no aggregate has that many events
  const params: unknown[] = [deps.instanceId, userId, caller.orgId, q.sequence];
  const limit = q.limit > 0 ? ` LIMIT ${Math.min(q.limit, 1_000_000)}` : "";
  const rows = await deps.store.sql.query(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE instance_id = $1 AND aggregate_type = 'user' AND aggregate_id = $2 AND resource_owner = $3 AND sequence > $4
     ORDER BY sequence ${q.asc ? "ASC" : "DESC"}${limit}`,
    params,
  );
  return rows.map((r) => ({
    instanceId: r.instance_id as string,
    aggregateType: "user",
    aggregateId: r.aggregate_id as string,
    sequence: Number(r.sequence),
    position: Number(r.position),
    type: r.event_type as string,
    payload: {},
    editor: r.editor_user as string,
    resourceOwner: r.resource_owner as string,
    createdAt: new Date(r.created_at as string | Date),
  }));
}
