import { notFound, permissionDenied } from "../domain/errors.js";
import { rolesGrant } from "../domain/roles.js";
import type { Principal } from "./authn.js";
import type { Caller, Deps } from "./context.js";

/**
 * ZITADEL's v1 authorization (internal/api/authz/authorization.go): the target org is the
 * x-zitadel-orgid header or the caller's own org and must exist; the caller's permissions are the
 * roles of its instance membership plus its membership in the target org.
 */
export async function authorize(deps: Deps, principal: Principal, requestedOrgId: string | undefined, permission: string): Promise<Caller> {
  const orgId = requestedOrgId || principal.orgId;
  const org = deps.cache.peek(deps.instanceId, "org", orgId) ?? (await deps.cache.get(deps.instanceId, "org", orgId));
  if (!org.exists) throw permissionDenied("AUTH-Bs7Ds", "Organisation doesn't exist");
  const caller: Caller = { userId: principal.userId, resourceOwner: principal.orgId, orgId };
  if (permission === "authenticated") return caller;
  const instance = deps.cache.peek(deps.instanceId, "instance", deps.instanceId) ?? (await deps.cache.get(deps.instanceId, "instance", deps.instanceId));
  const iam = instance.members.get(principal.userId);
  const inOrg = org.members.get(principal.userId);
  if (!iam && !inOrg) throw notFound("AUTHZ-cdgFk", "membership not found");
  const granted = (iam && rolesGrant(iam.roles, permission)) || (inOrg && rolesGrant(inOrg.roles, permission));
  if (!granted) throw permissionDenied("AUTH-5mWD2", "No matching permissions found");
  return caller;
}
