import { OrgStateNum } from "../../domain/orgs/org.js";
import { ProjectStateNum } from "../../domain/projects/project.js";
import type { UserState } from "../../domain/users/user.js";
import type { ActiveUserGrant } from "../../store/read-models/index.js";
import type { Deps } from "../core/context.js";
import { MISS, decideWithCache, type Lookup, type Miss } from "../core/lookup.js";
import { OAuthError } from "./errors.js";

/**
 * Role claims as ZITADEL shapes them for a machine (internal/api/oidc/userinfo.go, client.go; docs
 * apis/openidoauth/claims): with a project audience scope (`urn:zitadel:iam:org:project:id:{P}:aud`)
 * and `urn:zitadel:iam:org:projects:roles` or `urn:zitadel:iam:org:project:role:{key}`, the claim
 * `urn:zitadel:iam:org:project:{P}:roles` = `{roleKey: {orgId: orgPrimaryDomain}}` per requested
 * project, from the machine's active user grants; `urn:zitadel:iam:org:roles:id:{orgId}` keeps only
 * those orgs. A machine has no requesting project, so the bare `urn:zitadel:iam:org:project:roles` is
 * never set (z#8107).
 *
 * Read at the moment of the answer: JWTs and id_tokens carry the roles of their issuing; userinfo and
 * introspection compute them from the grants as they are now, so a deactivated or removed grant,
 * role, project grant, project or org is gone from the very next answer (CVE-2024-46999).
 */

export const PROJECTS_ROLES_SCOPE = "urn:zitadel:iam:org:projects:roles";
const ROLE_SCOPE = "urn:zitadel:iam:org:project:role:";
const ORG_ROLES_SCOPE = "urn:zitadel:iam:org:roles:id:";

export const rolesClaimName = (projectId: string) => `urn:zitadel:iam:org:project:${projectId}:roles`;

/** Which roles a token asks for. */
export interface RoleRequest {
  projectIds: readonly string[];
  /** Only these keys (role scopes); undefined = every key. */
  roleKeys?: readonly string[];
  /** Only grants of these orgs; undefined = every org. */
  orgIds?: readonly string[];
}

/** The roles a token's scopes and audience ask for; undefined when they ask for none. */
export function roleRequest(scopes: readonly string[], aud: readonly string[]): RoleRequest | undefined {
  let all = false;
  const keys: string[] = [];
  const orgs: string[] = [];
  for (const s of scopes) {
    if (s === PROJECTS_ROLES_SCOPE) all = true;
    else if (s.startsWith(ROLE_SCOPE)) keys.push(s.slice(ROLE_SCOPE.length));
    else if (s.startsWith(ORG_ROLES_SCOPE)) orgs.push(s.slice(ORG_ROLES_SCOPE.length));
  }
  if ((!all && keys.length === 0) || aud.length === 0) return undefined;
  return { projectIds: aud, ...(all ? {} : { roleKeys: keys }), ...(orgs.length > 0 ? { orgIds: orgs } : {}) };
}

/** One role of a claim and where it comes from (the token preview shows it). */
export interface RoleSource {
  projectId: string;
  roleKey: string;
  orgId: string;
  orgDomain: string;
  userGrantId: string;
  projectGrantId: string;
}

/**
 * The roles of a grant that count now: the grant is active (the read model lists only those), its
 * project exists and is active, the project's org and the granting org are active, each key is still
 * a role of the project and — for a grant in a granted org — the project grant is active and holds it.
 */
function liveRoles(lookup: Lookup, g: ActiveUserGrant): { keys: string[]; orgDomain: string } | Miss {
  const project = lookup("project", g.projectId);
  if (project === MISS) return MISS;
  if (!project.exists || project.state !== ProjectStateNum.active) return { keys: [], orgDomain: "" };
  const projectOrg = lookup("org", project.orgId);
  if (projectOrg === MISS) return MISS;
  const org = g.orgId === project.orgId ? projectOrg : lookup("org", g.orgId);
  if (org === MISS) return MISS;
  if (projectOrg.state !== OrgStateNum.active || org.state !== OrgStateNum.active) return { keys: [], orgDomain: "" };
  let allowed: (key: string) => boolean = (k) => project.roles.has(k);
  if (g.projectGrantId) {
    const pg = project.grants.get(g.projectGrantId);
    if (!pg || pg.state !== 1 || pg.grantedOrgId !== g.orgId) return { keys: [], orgDomain: "" };
    allowed = (k) => project.roles.has(k) && pg.roleKeys.includes(k);
  }
  return { keys: g.roleKeys.filter(allowed), orgDomain: org.primaryDomain };
}

/** Every role the request yields for the user, with its source, in grant order. */
export function decideRoleSources(lookup: Lookup, userId: string, req: RoleRequest): RoleSource[] | Miss {
  const grants = lookup("userGrants", userId);
  if (grants === MISS) return MISS;
  const out: RoleSource[] = [];
  for (const g of grants) {
    if (!req.projectIds.includes(g.projectId)) continue;
    if (req.orgIds && !req.orgIds.includes(g.orgId)) continue;
    const live = liveRoles(lookup, g);
    if (live === MISS) return MISS;
    for (const key of live.keys) {
      if (req.roleKeys && !req.roleKeys.includes(key)) continue;
      out.push({ projectId: g.projectId, roleKey: key, orgId: g.orgId, orgDomain: live.orgDomain, userGrantId: g.id, projectGrantId: g.projectGrantId });
    }
  }
  return out;
}

/** The claims the roles make: `{urn:zitadel:iam:org:project:{P}:roles: {roleKey: {orgId: primaryDomain}}}`. */
export function roleClaimsOf(sources: readonly RoleSource[]): Record<string, Record<string, Record<string, string>>> {
  const claims: Record<string, Record<string, Record<string, string>>> = {};
  for (const s of sources) {
    const project = (claims[rolesClaimName(s.projectId)] ??= {});
    (project[s.roleKey] ??= {})[s.orgId] = s.orgDomain;
  }
  return claims;
}

export function decideRoleClaims(lookup: Lookup, userId: string, req: RoleRequest | undefined): Record<string, unknown> | Miss {
  if (!req) return {};
  const sources = decideRoleSources(lookup, userId, req);
  return sources === MISS ? MISS : roleClaimsOf(sources);
}

/**
 * The role claims of `userId` for these projects (optionally only these role keys and orgs), as
 * introspection by an API app asserts them. Reads the grants as they are now.
 */
export function projectRoleClaims(deps: Deps, userId: string, projectIds: string[], roleKeyFilter?: string[], orgFilter?: string[]): Promise<Record<string, unknown>> {
  const req: RoleRequest = { projectIds, ...(roleKeyFilter ? { roleKeys: roleKeyFilter } : {}), ...(orgFilter ? { orgIds: orgFilter } : {}) };
  return Promise.resolve(decideWithCache(deps, (_d, a: { userId: string; req: RoleRequest }, lookup) => decideRoleClaims(lookup, a.userId, a.req), { userId, req }));
}

/**
 * Beyond ZITADEL (docs/design.md): a project's own flags hold for machines too. For every project of
 * the audience (the instance's own project aside): with projectRoleCheck the machine needs an active
 * user grant on it; with hasProjectCheck its org must own the project or hold an active grant of it.
 * Otherwise invalid_scope. undefined = allowed.
 */
export function decideProjectAccess(lookup: Lookup, user: UserState, aud: readonly string[], instanceProjectId: string): OAuthError | undefined | Miss {
  for (const id of aud) {
    if (id === instanceProjectId) continue;
    const project = lookup("project", id);
    if (project === MISS) return MISS;
    if (!project.exists || (!project.projectRoleCheck && !project.hasProjectCheck)) continue;
    if (project.hasProjectCheck && project.orgId !== user.orgId) {
      const held = [...project.grants.values()].some((g) => g.grantedOrgId === user.orgId && g.state === 1);
      if (!held) return new OAuthError("invalid_scope", `the project ${id} is not granted to the machine's organization`);
    }
    if (project.projectRoleCheck) {
      const grants = lookup("userGrants", user.id);
      if (grants === MISS) return MISS;
      if (!grants.some((g) => g.projectId === id && project.state === ProjectStateNum.active)) return new OAuthError("invalid_scope", `the machine has no authorization for the project ${id}`);
    }
  }
  return undefined;
}
