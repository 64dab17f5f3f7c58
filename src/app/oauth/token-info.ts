import type { OrgState } from "../../domain/orgs/org.js";
import { newUserTokenRemovedEvent } from "../../domain/users/events.js";
import type { UserState } from "../../domain/users/user.js";
import { authenticateBearer, decideBearer, type Principal } from "../core/authn.js";
import type { AuthenticatedClient } from "./clients.js";
import type { Deps } from "../core/context.js";
import { runCommand } from "../core/command.js";
import { MISS, decideWithCache, type Lookup, type Miss } from "../core/lookup.js";
import { OAuthError } from "./errors.js";
import { decideRoleClaims, roleRequest } from "./role-claims.js";

/**
 * What a token says to those holding it: introspection (RFC 7662), userinfo (OIDC Core §5.3) and
 * revocation (RFC 7009). Each is the bearer-token decision (app/core/authn.ts) plus the org, read
 * through the same Lookup: without a promise when both are cached.
 */

/** Claims the scopes allow for a machine user (userinfo.go): profile gives name, preferred_username, updated_at. */
export function userClaims(u: UserState, org: OrgState, scopes: readonly string[]): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  if (scopes.includes("profile")) {
    c.name = u.name;
    c.preferred_username = u.userName;
    if (u.changedAt) c.updated_at = Math.floor(u.changedAt.getTime() / 1000);
  }
  if (scopes.includes("urn:zitadel:iam:user:resourceowner")) {
    c["urn:zitadel:iam:user:resourceowner:id"] = org.id;
    c["urn:zitadel:iam:user:resourceowner:name"] = org.name;
    c["urn:zitadel:iam:user:resourceowner:primary_domain"] = org.primaryDomain;
  }
  if (scopes.includes("urn:zitadel:iam:user:metadata") && u.metadata.size > 0) {
    const md: Record<string, string> = {};
    for (const [k, v] of u.metadata) md[k] = Buffer.from(v.value, "base64").toString("base64url");
    c["urn:zitadel:iam:user:metadata"] = md;
  }
  return c;
}

const tokenMissing = () => new OAuthError("invalid_request", "token missing");

/** RFC 7662: the token's claims while it is valid, `{ active: false }` for anything else. */
export function introspect(deps: Deps, token: string | undefined): Record<string, unknown> | Promise<Record<string, unknown>> {
  if (!token) throw tokenMissing();
  return decideWithCache(deps, decideIntrospection, token);
}

function decideIntrospection(deps: Deps, token: string, lookup: Lookup): Record<string, unknown> | Miss {
  const p = decideBearer(deps, token, lookup);
  if (p === MISS) return MISS;
  if (!p) return { active: false };
  const org = lookup("org", p.orgId);
  if (org === MISS) return MISS;
  const roles = decideRoleClaims(lookup, p.userId, roleRequest(p.scopes, p.aud));
  if (roles === MISS) return MISS;
  return {
    active: true,
    scope: p.scopes.join(" "),
    client_id: p.clientId,
    token_type: "Bearer",
    exp: p.exp,
    iat: p.iat,
    nbf: p.iat,
    sub: p.userId,
    aud: p.aud,
    iss: deps.config.externalUrl,
    jti: p.tokenId,
    username: p.user.userName,
    ...userClaims(p.user, org, p.scopes),
    ...roles,
  };
}

/** OIDC userinfo for a valid bearer token; RFC 6750 §3.1 errors otherwise. */
export function userinfo(deps: Deps, token: string | undefined): Record<string, unknown> | Promise<Record<string, unknown>> {
  if (!token) throw new OAuthError("invalid_request", "access token missing", "Unauthenticated");
  return decideWithCache(deps, decideUserinfo, token);
}

function decideUserinfo(deps: Deps, token: string, lookup: Lookup): Record<string, unknown> | Miss {
  const p = decideBearer(deps, token, lookup);
  if (p === MISS) return MISS;
  if (!p) throw new OAuthError("invalid_token", "access token invalid");
  const org = lookup("org", p.orgId);
  if (org === MISS) return MISS;
  const roles = decideRoleClaims(lookup, p.userId, roleRequest(p.scopes, p.aud));
  if (roles === MISS) return MISS;
  return { sub: p.userId, ...userClaims(p.user, org, p.scopes), ...roles };
}

/**
 * RFC 7009: only the token's own client may revoke it; anything else is answered like an unknown
 * token (§2.2), so this never says whether the token was valid. The machine's own personal access
 * token is not revoked here (it is removed with RemovePersonalAccessToken, by whoever may write the
 * user): unsupported_token_type (§2.2.1), so that a client does not take a 200 for its removal.
 */
export async function revoke(deps: Deps, client: AuthenticatedClient, token: string | undefined): Promise<void> {
  if (!token) throw tokenMissing();
  const p = await authenticateBearer(deps, token);
  if (!p || p.userId !== client.user.id) return;
  if (p.kind === "pat") throw new OAuthError("unsupported_token_type", "a personal access token is removed with RemovePersonalAccessToken, not revoked");
  await revokeAccessToken(deps, p);
}

/** The token stops working everywhere; the one write on the token path. */
async function revokeAccessToken(deps: Deps, p: Principal): Promise<void> {
  await runCommand(deps, p.userId, async (load) => {
    const u = await load("user", p.userId);
    if (u.revokedTokens.has(p.tokenId)) return { events: [], result: () => undefined };
    return {
      events: [newUserTokenRemovedEvent(u, { tokenId: p.tokenId, expiration: p.exp })],
      result: () => undefined,
    };
  });
}
