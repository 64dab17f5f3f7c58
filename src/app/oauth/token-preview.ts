import { notFound } from "../../domain/errors.js";
import { UserType, userExists } from "../../domain/users/user.js";
import type { Principal } from "../core/authn.js";
import { authorizeInOrg } from "../core/authz.js";
import type { Deps } from "../core/context.js";
import { decideWithCache, MISS, type Lookup, type Miss } from "../core/lookup.js";
import { OAuthError } from "./errors.js";
import { decideProjectAccess, decideRoleSources, roleClaimsOf, roleRequest, rolesClaimName, type RoleSource } from "./role-claims.js";
import { audienceOf, filterScopes } from "./scopes.js";
import { userClaims } from "./token-info.js";

/**
 * Token preview (beyond ZITADEL): what a token for a machine with a scope would contain now, and
 * why — each claim with the scope or user grant it comes from — without minting one. The same
 * functions as the token endpoint decide it (scopes.ts, role-claims.ts, token-info.ts), so the
 * preview cannot drift from the tokens. A pure function over deps; the HTTP edge is thin
 * (api/oauth/token-preview.ts), so it can move onto a portcullis.v1 RPC unchanged.
 */

export interface PreviewClaim {
  claim: string;
  value: unknown;
  /** Why it is there: "scope <scope>", "user grant <id>", … */
  because: string[];
}

export interface TokenPreview {
  userId: string;
  /** The scopes kept (unknown ones are dropped silently, as ZITADEL). */
  scopes: readonly string[];
  /** The token endpoint's refusal (invalid_scope under projectRoleCheck / hasProjectCheck), if any. */
  refused?: { error: string; errorDescription: string };
  accessTokenType: "BEARER" | "JWT";
  aud: string[];
  claims: PreviewClaim[];
  /** Each role in the role claims with the grant it comes from. */
  roles: RoleSource[];
}

interface PreviewArg {
  userId: string;
  scope: string;
}

function decidePreview(deps: Deps, a: PreviewArg, lookup: Lookup): TokenPreview | Miss {
  const user = lookup("user", a.userId);
  if (user === MISS) return MISS;
  if (!userExists(user) || user.type !== UserType.machine) throw notFound("COMMAND-4M0sd", "Errors.User.NotFound");
  const instance = lookup("instance", deps.instanceId);
  if (instance === MISS) return MISS;
  const org = lookup("org", user.orgId);
  if (org === MISS) return MISS;
  const scopes = filterScopes(a.scope);
  const aud = audienceOf(scopes, instance.projectId);
  const refusal = aud.length > 0 ? decideProjectAccess(lookup, user, aud, instance.projectId) : undefined;
  if (refusal === MISS) return MISS;
  const req = roleRequest(scopes, aud);
  const roles = req ? decideRoleSources(lookup, user.id, req) : [];
  if (roles === MISS) return MISS;

  const claims: PreviewClaim[] = [
    { claim: "sub", value: user.id, because: ["the machine user"] },
    {
      claim: "aud",
      value: aud.length > 0 ? aud : [user.userName],
      because: aud.length > 0 ? scopes.filter((s) => s.startsWith("urn:zitadel:iam:org:project:id:")).map((s) => `scope ${s}`) : ["no audience scope: the username (JWT)"],
    },
    { claim: "scope", value: scopes.join(" "), because: ["the requested scopes ZITADEL keeps"] },
  ];
  for (const [claim, value] of Object.entries(userClaims(user, org, scopes)))
    claims.push({ claim, value, because: [claim.startsWith("urn:zitadel:iam:user:resourceowner") ? "scope urn:zitadel:iam:user:resourceowner" : claim === "urn:zitadel:iam:user:metadata" ? "scope urn:zitadel:iam:user:metadata" : "scope profile"] });
  const byClaim = roleClaimsOf(roles);
  for (const [claim, value] of Object.entries(byClaim)) {
    const grants = [...new Set(roles.filter((r) => rolesClaimName(r.projectId) === claim).map((r) => `user grant ${r.userGrantId}`))];
    claims.push({ claim, value, because: grants });
  }
  return {
    userId: user.id,
    scopes,
    ...(refusal instanceof OAuthError ? { refused: { error: refusal.error, errorDescription: refusal.description } } : {}),
    accessTokenType: user.accessTokenType === 1 ? "JWT" : "BEARER",
    aud,
    claims,
    roles,
  };
}

/**
 * The preview for an administrator: authorized as GetUserByID is (user.read), in the machine's own
 * org (or instance-wide); an unknown user is not found whoever asks.
 */
export async function previewToken(deps: Deps, principal: Principal, userId: string, scope: string): Promise<TokenPreview> {
  const user = await deps.cache.get(deps.instanceId, "user", userId);
  if (!userExists(user)) throw notFound("COMMAND-4M0sd", "Errors.User.NotFound");
  await authorizeInOrg(deps, principal, user.orgId, "user.read");
  return decideWithCache(deps, decidePreview, { userId, scope });
}
