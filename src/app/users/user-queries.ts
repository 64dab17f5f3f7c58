import { listPage, type ListInput } from "../core/list-page.js";
export { listMeta, type ListInput, type ListMeta } from "../core/list-page.js";
import { userExists, type UserState } from "../../domain/users/user.js";
import type { OrgState } from "../../domain/orgs/org.js";
import { notFound } from "../../domain/errors.js";
import type { StoredEvent } from "../../domain/events.js";
import type { MembershipQuery, UserQuery, UserRow, UserSort } from "../../store/read-models/index.js";
import type { Caller, Deps } from "../core/context.js";

export type { MembershipQuery, MembershipRow, UserQuery, UserRow } from "../../store/read-models/index.js";

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
    hasSecret: u.secrets.size > 0,
    createdAt: u.createdAt!,
    changedAt: u.changedAt ?? u.createdAt!,
    sequence: u.sequence,
  });
  rows.set(u, row);
  return row;
}

/** zitadel.user.v1.UserFieldName → sort; unspecified (and the fields of humans) sort by id (ZITADEL's default). */
const sorts: Record<number, UserSort> = { 1: "userName", 5: "displayName", 7: "state", 8: "type", 9: "createdAt" };

export async function listUsers(deps: Deps, caller: Caller, list: ListInput, sortingColumn: number, queries: UserQuery[]) {
  const by: UserSort = sorts[sortingColumn] ?? "id";
  const page = await listPage(deps, list, (p) => deps.reads.users.list(deps.instanceId, caller.orgId, queries, { by, asc: list.asc }, p));
  return { users: page.items, meta: page.meta };
}

/** IsUserUnique: the given filters are AND-ed; both empty matches any user (ZITADEL's behaviour). */
export async function isUserUnique(deps: Deps, userName: string, email: string): Promise<boolean> {
  if (email) return true; // machine users have no email; no human users exist here
  return !(await deps.reads.users.exists(deps.instanceId, userName));
}

export interface ChangeInput {
  sequence: number;
  limit: number;
  asc: boolean;
}

/** The user's events in the org (newest first unless asc); an unknown or other-org user has none. */
export async function listUserChanges(deps: Deps, caller: Caller, userId: string, q: ChangeInput): Promise<StoredEvent[]> {
  if (!Number.isSafeInteger(q.sequence)) return []; // no aggregate has that many events
  return deps.reads.changes.ofAggregate(deps.instanceId, "user", userId, caller.orgId, { afterSequence: q.sequence, limit: q.limit, asc: q.asc });
}

/**
 * ListUserMemberships: the memberships of a user of the caller's org that the instance or that org
 * owns (the instance, the org, the org's projects), queries AND-ed, in creation order (ZITADEL has no
 * sort column here; `asc` has no effect). A user the caller's org does not hold is not found, as in
 * GetUserByID.
 */
export async function listUserMemberships(deps: Deps, caller: Caller, userId: string, list: ListInput, queries: MembershipQuery[]) {
  await getUserById(deps, caller, userId);
  const page = await listPage(deps, list, (p) => deps.reads.members.membershipsOfUser(deps.instanceId, userId, caller.orgId, queries, p));
  return { memberships: page.items, meta: page.meta };
}
