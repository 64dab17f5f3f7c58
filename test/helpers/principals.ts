import type { Caller, Deps } from "../../src/app/core/context.js";
import { addInstanceMember } from "../../src/app/orgs/instance-members.js";
import { addOrgMember } from "../../src/app/orgs/org-members.js";
import { addOrg } from "../../src/app/orgs/orgs.js";
import { addMachineUser } from "../../src/app/users/users.js";
import { newPersonalAccessToken } from "../../src/crypto/tokens.js";
import { UserEvents } from "../../src/domain/users/user.js";

/**
 * Test principals: machine users with a PAT and chosen memberships, made through the app layer
 * (the PAT as the user.pat.added event bootstrap writes, so the tests don't depend on the API
 * that issues PATs).
 */
export const SYSTEM = "SYSTEM";
/** The system's own call (test set-up): not bound by the privilege ceiling, as no request's caller is. */
export const systemCaller = (orgId: string): Caller => ({ userId: SYSTEM, resourceOwner: orgId, orgId, system: true });

export async function createMachine(deps: Deps, orgId: string, userName: string): Promise<string> {
  const r = await addMachineUser(deps, systemCaller(orgId), { userName, name: `Name of ${userName}`, description: "", accessTokenType: 0 });
  return r.userId;
}

export async function createPat(deps: Deps, userId: string, orgId: string): Promise<string> {
  const tokenId = deps.newId();
  const { token, hash } = newPersonalAccessToken(deps.keys.hmac, tokenId, userId);
  await deps.store.push({
    instanceId: deps.instanceId,
    editor: SYSTEM,
    expected: new Map(),
    now: deps.clock(),
    events: [
      {
        aggregateType: "user",
        aggregateId: userId,
        resourceOwner: orgId,
        type: UserEvents.patAdded,
        payload: { tokenId, expiration: "9999-12-31T23:59:59.000Z", scopes: ["openid"], tokenHash: hash },
      },
    ],
  });
  return token;
}

export interface Principal {
  userId: string;
  userName: string;
  orgId: string;
  pat: string;
}

/** A machine in `orgId` with a PAT, member of the given orgs and (optionally) of the instance. */
export async function createPrincipal(
  deps: Deps,
  opts: { orgId: string; userName: string; orgRoles?: { orgId: string; roles: string[] }[]; iamRoles?: string[] },
): Promise<Principal> {
  const userId = await createMachine(deps, opts.orgId, opts.userName);
  for (const m of opts.orgRoles ?? []) await addOrgMember(deps, systemCaller(m.orgId), userId, m.roles);
  if (opts.iamRoles) await addInstanceMember(deps, systemCaller(opts.orgId), userId, opts.iamRoles);
  const pat = await createPat(deps, userId, opts.orgId);
  return { userId, userName: opts.userName, orgId: opts.orgId, pat };
}

/** A new org, made by the app layer; its ORG_OWNER is "SYSTEM", which is no user and is listed nowhere. */
export async function createOrg(deps: Deps, name: string): Promise<string> {
  const { id } = await addOrg(deps, systemCaller(""), name);
  return id;
}
