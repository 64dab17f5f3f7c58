import { notFound } from "../../domain/errors.js";
import type { UserGrantQuery, UserGrantRow, VisibleScope } from "../../store/read-models/index.js";
import type { Caller, Deps } from "../core/context.js";
import { listPage, type ListInput } from "../core/list-page.js";

export type { UserGrantQuery, UserGrantRow } from "../../store/read-models/index.js";

/** GetUserGrantByID: a grant of the org the request acts on (ZITADEL ignores the path's user id too); else QUERY-wIPkA. */
export async function getUserGrantById(deps: Deps, caller: Caller, grantId: string): Promise<UserGrantRow> {
  const row = await deps.reads.userGrants.byId(deps.instanceId, caller.orgId, grantId);
  if (!row) throw notFound("QUERY-wIPkA", "Errors.UserGrant.NotFound");
  return row;
}

/**
 * ListUserGrants: the org's grants; a withGranted query (true) widens the owner condition to the
 * grants made on the org's projects by other orgs, as ZITADEL's (false: the org's own, as without it).
 */
export async function listUserGrants(deps: Deps, caller: Caller, list: ListInput, withGranted: boolean, queries: UserGrantQuery[]) {
  const page = await listPage(deps, list, (p) => deps.reads.userGrants.list(deps.instanceId, caller.orgId, withGranted, queries, p));
  return { grants: page.items, meta: page.meta };
}

/** v2beta ListAuthorizations: the grants the caller may read (`scope`: granting orgs and projects), queries AND-ed. */
export async function searchUserGrants(deps: Deps, scope: VisibleScope, list: ListInput, queries: UserGrantQuery[]) {
  const page = await listPage(deps, list, (p) => deps.reads.userGrants.listIn(deps.instanceId, scope, queries, list.asc, p));
  return { grants: page.items, meta: page.meta };
}
