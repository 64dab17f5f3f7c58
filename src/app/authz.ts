import { notFound, permissionDenied } from "../domain/errors.js";
import { rolesGrant } from "../domain/roles.js";
import type { Principal } from "./authn.js";
import type { Caller, Deps } from "./context.js";
import type { InstanceState, OrgState } from "../domain/org.js";

/**
 * ZITADEL's v1 authorization (internal/api/authz/authorization.go): the target org is the
 * x-zitadel-orgid header or the caller's own org and must exist; the caller's permissions are the
 * roles of its instance membership plus its membership in the target org.
 */
export function authorize(deps: Deps, principal: Principal, requestedOrgId: string | undefined, permission: string): Caller | Promise<Caller> {
  const orgId = requestedOrgId || principal.orgId;
  const org = deps.cache.peek(deps.instanceId, "org", orgId);
  if (org) {
    // From the cache, without a promise; the same checks as authorizeLoaded, in the same order.
    if (!org.exists) throw permissionDenied("AUTH-Bs7Ds", "Organisation doesn't exist");
    const caller: Caller = { userId: principal.userId, resourceOwner: principal.orgId, orgId };
    if (permission === "authenticated") return caller;
    const instance = deps.cache.peek(deps.instanceId, "instance", deps.instanceId);
    if (instance) return checkRoles(instance, org, caller, permission);
  }
  return authorizeLoaded(deps, principal, orgId, permission);
}

async function authorizeLoaded(deps: Deps, principal: Principal, orgId: string, permission: string): Promise<Caller> {
  const org = await deps.cache.get(deps.instanceId, "org", orgId);
  if (!org.exists) throw permissionDenied("AUTH-Bs7Ds", "Organisation doesn't exist");
  const caller: Caller = { userId: principal.userId, resourceOwner: principal.orgId, orgId };
  if (permission === "authenticated") return caller;
  return checkRoles(await deps.cache.get(deps.instanceId, "instance", deps.instanceId), org, caller, permission);
}

/** The caller's permissions: its instance membership's roles plus its membership in the target org. */
function checkRoles(instance: InstanceState, org: OrgState, caller: Caller, permission: string): Caller {
  const iam = instance.members.get(caller.userId);
  const inOrg = org.members.get(caller.userId);
  if (!iam && !inOrg) throw notFound("AUTHZ-cdgFk", "membership not found");
  const granted = (iam && rolesGrant(iam.roles, permission)) || (inOrg && rolesGrant(inOrg.roles, permission));
  if (!granted) throw permissionDenied("AUTH-5mWD2", "No matching permissions found");
  return caller;
}
