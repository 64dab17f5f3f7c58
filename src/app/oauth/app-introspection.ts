import type { ProjectAppState } from "../../domain/projects/app-state.js";
import type { ProjectState } from "../../domain/projects/project.js";
import { decideBearer } from "../core/authn.js";
import type { Deps } from "../core/context.js";
import { MISS, decideWithCache, type Lookup, type Miss } from "../core/lookup.js";
import { OAuthError } from "./errors.js";
import { projectRoleClaims } from "./role-claims.js";
import { userClaims } from "./token-info.js";

/**
 * RFC 7662 introspection by an API application (ZITADEL's internal/api/oidc/introspect.go): the
 * token must be valid now and meant for the app — its audience holds the app's project id or client
 * id (validateIntrospectionAudience), else `{active:false}`. A PAT has no audience; as ZITADEL
 * (assertClientScopesForPAT) it is taken as meant for the asking app: the app's client id and project
 * join its audience, and a role scope for every role of the project its scope. The answer carries the same
 * claims as a machine's self-introspection and, when the project asserts roles
 * (projectRoleAssertion), the user's roles on that project.
 */
export function introspectForApp(deps: Deps, project: ProjectState, app: ProjectAppState, token: string | undefined): Record<string, unknown> | Promise<Record<string, unknown>> {
  if (!token) throw new OAuthError("invalid_request", "token missing");
  const decided = decideWithCache(deps, decide, { token, project, clientId: app.clientId });
  if (!project.projectRoleAssertion) return decided;
  return (async () => {
    const answer = await decided;
    if (answer.active !== true) return answer;
    const roles = await projectRoleClaims(deps, String(answer.sub), [project.id]);
    const own = roles[`urn:zitadel:iam:org:project:${project.id}:roles`];
    // ZITADEL sets the requesting project's roles also under the bare claim.
    return { ...answer, ...roles, ...(own === undefined ? {} : { "urn:zitadel:iam:org:project:roles": own }) };
  })();
}

interface AppRequest {
  token: string;
  project: ProjectState;
  clientId: string;
}

const INACTIVE = { active: false } as const;
/** ZITADEL's ScopeProjectRolePrefix. */
const ROLE_SCOPE_PREFIX = "urn:zitadel:iam:org:project:role:";

function decide(deps: Deps, r: AppRequest, lookup: Lookup): Record<string, unknown> | Miss {
  const p = decideBearer(deps, r.token, lookup);
  if (p === MISS) return MISS;
  if (!p) return INACTIVE;
  let aud = p.aud;
  let scopes = p.scopes;
  if (p.kind === "pat") {
    aud = [...aud, r.clientId, r.project.id];
    scopes = [...scopes, ...[...r.project.roles.keys()].map((key) => ROLE_SCOPE_PREFIX + key)];
  } else if (!aud.includes(r.project.id) && !aud.includes(r.clientId)) return INACTIVE;
  const org = lookup("org", p.orgId);
  if (org === MISS) return MISS;
  return {
    active: true,
    scope: scopes.join(" "),
    client_id: p.clientId,
    token_type: "Bearer",
    exp: p.exp,
    iat: p.iat,
    nbf: p.iat,
    sub: p.userId,
    aud,
    iss: deps.config.externalUrl,
    jti: p.tokenId,
    username: p.user.userName,
    ...userClaims(p.user, org, p.scopes),
  };
}
