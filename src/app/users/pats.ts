import { newPersonalAccessToken } from "../../crypto/tokens.js";
import { notFound, preconditionFailed } from "../../domain/errors.js";
import { credentialExpiration } from "../../domain/credentials/lifetime.js";
import { NO_EXPIRY, expirationOrDefault } from "../../domain/expiration.js";
import { newPersonalAccessTokenAddedEvent, newPersonalAccessTokenRemovedEvent } from "../../domain/users/events.js";
import { PAT_SCOPES, inOrg } from "../../domain/users/rules.js";
import { UserType } from "../../domain/users/user.js";
import { runCommand } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";
import { changedDetails, createdDetails, lastOf, type Details } from "../core/details.js";
import { listPage } from "../core/list-page.js";
import { requireMayActOn } from "../orgs/privilege-ceiling.js";
import type { PatRow } from "../../store/read-models/index.js";
import type { ListInput, ListMeta } from "./user-queries.js";

export interface AddedPat {
  tokenId: string;
  /** Shown once; only its keyed hash is stored. */
  token: string;
  details: Details;
}

/**
 * AddPersonalAccessToken (ZITADEL command/user_personal_access_token.go): expiration first, then the
 * user must exist in the caller's org (COMMAND-Dggw2) and be a machine (COMMAND-Df2f1). Locked or
 * deactivated machines may get one (it only works once they are active again). Scopes are fixed.
 * The org's credential policy bounds the expiration (and sets it when none is given).
 */
export function addPersonalAccessToken(deps: Deps, caller: Caller, userId: string, expirationDate: Date | undefined): Promise<AddedPat> {
  const now = deps.clock();
  expirationOrDefault(expirationDate, now);
  const tokenId = deps.newId();
  return runCommand(deps, caller.userId, async (load) => {
    const u = await load("user", userId);
    if (!inOrg(u, caller)) throw preconditionFailed("COMMAND-Dggw2", "User could not be found");
    if (u.type !== UserType.machine) throw preconditionFailed("COMMAND-Df2f1", "Not allowed for this user type");
    await requireMayActOn(deps, load, caller, u.id);
    const org = await load("org", u.orgId);
    const expiration = credentialExpiration("pat", expirationDate, now, org.credentialPolicy, NO_EXPIRY);
    const { token, hash } = newPersonalAccessToken(deps.keys.hmac, tokenId, u.id);
    return {
      events: [newPersonalAccessTokenAddedEvent(u, { tokenId, expiration, scopes: PAT_SCOPES, tokenHash: hash })],
      result: (stored) => ({ tokenId, token, details: createdDetails(lastOf(stored)) }),
    };
  });
}

/** RemovePersonalAccessToken: the next request carrying the PAT is refused, on every instance. */
export function removePersonalAccessToken(deps: Deps, caller: Caller, userId: string, tokenId: string) {
  return runCommand(deps, caller.userId, async (load) => {
    const u = await load("user", userId);
    if (!inOrg(u, caller) || !u.pats.has(tokenId)) throw notFound("COMMAND-4m77G", "Personal Access Token not found");
    await requireMayActOn(deps, load, caller, u.id);
    return { events: [newPersonalAccessTokenRemovedEvent(u, tokenId)], result: (s) => changedDetails(lastOf(s)) };
  });
}

export type { PatRow } from "../../store/read-models/index.js";

export async function getPersonalAccessToken(deps: Deps, caller: Caller, userId: string, tokenId: string): Promise<PatRow> {
  const row = await deps.reads.pats.byId(deps.instanceId, caller.orgId, userId, tokenId);
  if (!row) throw notFound("QUERY-fRunu", "Errors.PersonalAccessToken.NotFound");
  return row;
}

/** ListPersonalAccessTokens: the user's PATs in the caller's org, oldest first; expired ones are listed too. */
export async function listPersonalAccessTokens(deps: Deps, caller: Caller, userId: string, list: ListInput): Promise<{ pats: PatRow[]; meta: ListMeta }> {
  const { items, meta } = await listPage(deps, list, (p) => deps.reads.pats.listOfUser(deps.instanceId, caller.orgId, userId, p));
  return { pats: items, meta };
}
