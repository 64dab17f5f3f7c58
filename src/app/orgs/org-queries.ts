import { invalidArgument, notFound } from "../../domain/errors.js";
import type { StoredEvent } from "../../domain/events.js";
import type { MemberQuery, MemberSort, OrgQuery, OrgRow } from "../../store/read-models/index.js";
import type { Caller, Deps } from "../core/context.js";
import { listPage } from "../core/list-page.js";
import type { ChangeInput, ListInput } from "../users/user-queries.js";

/** Reads of orgs and members (the org and member read models; members joined with their users). */

export type { MemberQuery, MemberRow, OrgQuery, OrgRow } from "../../store/read-models/index.js";

/**
 * OrgByID. A removed org is gone (ZITADEL's org projection deletes its row), so it is not found
 * like one that never existed.
 */
export async function getOrgById(deps: Deps, id: string): Promise<OrgRow> {
  const row = await deps.reads.orgs.byId(deps.instanceId, id);
  if (!row) throw notFound("QUERY-leq5Q", "Organisation not found");
  return row;
}

/** ListOrgs (admin): orgs of the instance, queries AND-ed; sorted by name when asked, else in creation order. */
export async function listOrgs(deps: Deps, list: ListInput, sortByName: boolean, queries: OrgQuery[]) {
  const sort = { byName: sortByName, asc: list.asc };
  const page = await listPage(deps, list, (p) => deps.reads.orgs.list(deps.instanceId, queries, sort, p));
  return { orgs: page.items, meta: page.meta };
}

/**
 * IsOrgUnique (query/org.go): false when a non-removed org has that name or that domain (case-
 * insensitive); both empty is an invalid request.
 */
export async function isOrgUnique(deps: Deps, name: string, domain: string): Promise<boolean> {
  if (!name && !domain) throw invalidArgument("QUERY-DGqfd", "Request is invalid");
  return !(await deps.reads.orgs.nameOrDomainTaken(deps.instanceId, name, domain));
}

/** ListOrgChanges: the events of the org aggregate (newest first unless asc), as ListUserChanges does for users. */
export async function listOrgChanges(deps: Deps, caller: Caller, q: ChangeInput): Promise<StoredEvent[]> {
  if (!Number.isSafeInteger(q.sequence)) return []; // no aggregate has that many events
  return deps.reads.changes.ofAggregate(deps.instanceId, "org", caller.orgId, caller.orgId, { afterSequence: q.sequence, limit: q.limit, asc: q.asc });
}

/** zitadel.member.v1.MemberFieldColumnName → sort; unspecified keeps creation order. */
const memberSorts: Record<number, MemberSort> = { 1: "userId", 2: "createdAt", 3: "changedAt", 4: "userOrgId" };

/**
 * Members of one scope (an org, or the instance), queries AND-ed, with the user's login name,
 * display name and type. Members whose user no longer exists (or whose org was removed) are not listed.
 */
export async function listMembers(deps: Deps, scope: { type: "org" | "instance" | "project"; id: string }, list: ListInput, queries: MemberQuery[], sortingColumn = 0) {
  const sort = { by: memberSorts[sortingColumn], asc: list.asc };
  const page = await listPage(deps, list, (p) => deps.reads.members.list(deps.instanceId, scope, queries, sort, p));
  return { members: page.items, meta: page.meta };
}

/** The instance's default org (v2 ListOrganizations' DefaultOrganizationQuery). */
export async function defaultOrgId(deps: Deps): Promise<string> {
  return (await deps.cache.get(deps.instanceId, "instance", deps.instanceId)).defaultOrgId;
}

/** ListOrganizations (v2): as ListOrgs, bounded to the orgs the caller may read. */
export async function searchOrgs(deps: Deps, orgIds: readonly string[] | "all", list: ListInput, sortByName: boolean, queries: OrgQuery[]) {
  return listOrgs(deps, list, sortByName, orgIds === "all" ? queries : [{ kind: "ids", ids: orgIds }, ...queries]);
}
