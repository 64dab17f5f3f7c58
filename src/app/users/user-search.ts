import { userExists } from "../../domain/users/user.js";
import type { CredentialFilter, MachineKeyRow, PatRow, UserQuery, UserRow, UserSort } from "../../store/read-models/index.js";
import type { Deps } from "../core/context.js";
import { listPage, type ListInput } from "../core/list-page.js";

/**
 * The v2 searches (zitadel.user.v2.UserService ListUsers, ListKeys, ListPersonalAccessTokens): not
 * bound to one org but to the orgs the caller may read (authz.orgsWithPermission), over the same read
 * models as v1's per-org lists.
 */

export type { CredentialFilter, MachineKeyRow, PatRow, UserQuery, UserSort } from "../../store/read-models/index.js";

/** The org a user belongs to (its resource owner), or undefined when there is no such user. */
export async function resourceOwnerOfUser(deps: Deps, userId: string): Promise<string | undefined> {
  const u = await deps.cache.get(deps.instanceId, "user", userId);
  return userExists(u) ? u.orgId : undefined;
}

export async function searchUsers(deps: Deps, orgIds: readonly string[] | "all", list: ListInput, sort: UserSort, queries: UserQuery[]) {
  const page = await listPage<UserRow>(deps, list, (p) => deps.reads.users.listIn(deps.instanceId, orgIds, queries, { by: sort, asc: list.asc }, p));
  return { users: page.items, meta: page.meta };
}

export type CredentialSort = "createdAt" | "id" | "userId" | "orgId" | "expiration";

export async function searchMachineKeys(deps: Deps, orgIds: readonly string[] | "all", list: ListInput, sort: CredentialSort, filters: CredentialFilter[]) {
  const page = await listPage<MachineKeyRow>(deps, list, (p) => deps.reads.machineKeys.search(deps.instanceId, orgIds, filters, { by: sort, asc: list.asc }, p));
  return { keys: page.items, meta: page.meta };
}

export async function searchPersonalAccessTokens(deps: Deps, orgIds: readonly string[] | "all", list: ListInput, sort: CredentialSort, filters: CredentialFilter[]) {
  const page = await listPage<PatRow>(deps, list, (p) => deps.reads.pats.search(deps.instanceId, orgIds, filters, { by: sort, asc: list.asc }, p));
  return { pats: page.items, meta: page.meta };
}
