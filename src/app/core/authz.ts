import { notFound, permissionDenied } from "../../domain/errors.js";
import { rolesGrant } from "../../domain/orgs/roles.js";
import type { Principal } from "./authn.js";
import type { Caller, Deps } from "./context.js";
import type { InstanceState, OrgState } from "../../domain/orgs/org.js";
import type { ProjectState } from "../../domain/projects/project.js";
import type { VisibleScope } from "../../store/read-models/index.js";

/**
 * What a method's `check_field_name` names in the request: the object whose own memberships may
 * grant the permission. Today projects (`Id` on the project methods, `ProjectId`); extension point:
 * project grants (`GrantId`, PROJECT_GRANT_OWNER memberships) add a kind here.
 */
export type ScopedTarget = { type: "project"; id: string };

/**
 * ZITADEL's v1 authorization (internal/api/authz/authorization.go): the target org is the
 * x-zitadel-orgid header or the caller's own org and must exist; the caller's permissions are the
 * roles of its instance membership plus its membership in the target org — and, for a method whose
 * auth option has a `check_field_name` naming a project (`target`), its membership in that project
 * when the project belongs to the target org. A project membership counts for nothing else: not for
 * another project, not for a method without a check field (stricter than ZITADEL, docs/design.md).
 */
export function authorize(deps: Deps, principal: Principal, requestedOrgId: string | undefined, permission: string, target?: ScopedTarget): Caller | Promise<Caller> {
  const orgId = requestedOrgId || principal.orgId;
  const needsRoles = permission !== "authenticated";
  const caller: Caller = { userId: principal.userId, resourceOwner: principal.orgId, orgId };
  const decide = (org: OrgState, instance: InstanceState | undefined): Caller | Promise<Caller> => {
    if (!org.exists) throw permissionDenied("AUTH-Bs7Ds", "Organisation doesn't exist");
    if (!needsRoles) return caller;
    const member = orgRoles(instance!, org, caller.userId);
    if (member.granted(permission)) return caller;
    if (!target?.id) return refuse(member.any);
    const project = deps.cache.peek(deps.instanceId, "project", target.id);
    if (project) return checkProject(project, org, caller, permission, member.any);
    return deps.cache.get(deps.instanceId, "project", target.id).then((p) => checkProject(p, org, caller, permission, member.any));
  };
  // From the cache without a promise when it holds what the decision needs (the common case).
  const org = deps.cache.peek(deps.instanceId, "org", orgId);
  const instance = needsRoles ? deps.cache.peek(deps.instanceId, "instance", deps.instanceId) : undefined;
  if (org && (!needsRoles || instance)) return decide(org, instance);
  return (async () => {
    const o = org ?? (await deps.cache.get(deps.instanceId, "org", orgId));
    // The instance is read only when the org exists and roles matter (the order of ZITADEL's checks).
    const i = needsRoles && o.exists ? (instance ?? (await deps.cache.get(deps.instanceId, "instance", deps.instanceId))) : undefined;
    return decide(o, i);
  })();
}

/** The caller's instance and target-org memberships: whether it has any, and whether they grant a permission. */
function orgRoles(instance: InstanceState, org: OrgState, userId: string) {
  const iam = instance.members.get(userId);
  const inOrg = org.members.get(userId);
  return {
    any: Boolean(iam || inOrg),
    granted: (permission: string) => Boolean((iam && rolesGrant(iam.roles, permission)) || (inOrg && rolesGrant(inOrg.roles, permission))),
  };
}

/** No membership at all: NotFound (AUTHZ-cdgFk), as ZITADEL; a membership without the permission: PermissionDenied. */
function refuse(anyMembership: boolean): never {
  if (!anyMembership) throw notFound("AUTHZ-cdgFk", "membership not found");
  throw permissionDenied("AUTH-5mWD2", "No matching permissions found");
}

/** The project named by the request: only a project of the target org, only the caller's membership in it. */
function checkProject(project: ProjectState, org: OrgState, caller: Caller, permission: string, orgMember: boolean): Caller {
  const inProject = project.exists && project.orgId === org.id ? project.members.get(caller.userId) : undefined;
  if (inProject && rolesGrant(inProject.roles, permission)) return caller;
  return refuse(orgMember || Boolean(inProject));
}

/**
 * ZITADEL's v2 authorization (command/permission_checks.go, authz.CheckPermission): v2 ignores
 * x-zitadel-orgid; the org is the one the resource belongs to (the user's resource owner, the org a
 * request names, the project's org). The caller needs the permission through its instance membership
 * or its membership in that org. Acting on oneself needs none (checkPermissionOnUser): pass the user's
 * id as `selfId`. For a resource of a project (`target`), the caller's membership in that project
 * grants it too when the project belongs to that org (checkProject, as v1's scoped checks).
 * The Caller it returns acts in that org, so the commands' "in the caller's org" checks hold for it.
 */
export async function authorizeInOrg(deps: Deps, principal: Principal, orgId: string, permission: string, opts: { selfId?: string; target?: ScopedTarget } = {}): Promise<Caller> {
  const caller: Caller = { userId: principal.userId, resourceOwner: principal.orgId, orgId };
  if (opts.selfId !== undefined && opts.selfId === principal.userId) return caller;
  const instance = await deps.cache.get(deps.instanceId, "instance", deps.instanceId);
  const org = await deps.cache.get(deps.instanceId, "org", orgId);
  const iam = instance.members.get(principal.userId);
  const inOrg = org.exists ? org.members.get(principal.userId) : undefined;
  const granted = (iam && rolesGrant(iam.roles, permission)) || (inOrg && rolesGrant(inOrg.roles, permission));
  if (granted) return caller;
  if (opts.target?.id && org.exists) return checkProject(await deps.cache.get(deps.instanceId, "project", opts.target.id), org, caller, permission, Boolean(iam || inOrg));
  if (!iam && !inOrg) throw notFound("AUTHZ-cdgFk", "membership not found");
  throw permissionDenied("AUTH-AWfge", "No matching permissions found");
}

/**
 * The orgs in which the caller holds `permission` (v2 list methods filter their results by it, as
 * ZITADEL's permission-checked searches do): "all" when its instance membership grants it.
 */
export async function orgsWithPermission(deps: Deps, principal: Principal, permission: string): Promise<"all" | string[]> {
  const instance = await deps.cache.get(deps.instanceId, "instance", deps.instanceId);
  const iam = instance.members.get(principal.userId);
  if (iam && rolesGrant(iam.roles, permission)) return "all";
  const orgs: string[] = [];
  for (const scope of await deps.reads.members.scopesOfUser(deps.instanceId, principal.userId)) {
    if (scope.type !== "org") continue;
    const org = await deps.cache.get(deps.instanceId, "org", scope.id);
    const m = org.exists ? org.members.get(principal.userId) : undefined;
    if (m && rolesGrant(m.roles, permission)) orgs.push(org.id);
  }
  return orgs;
}

/**
 * The projects in whose own memberships the caller holds `permission` (PROJECT_OWNER and the like):
 * v2 searches show a project's resources to its members as well as to the org's.
 */
export async function projectsWithPermission(deps: Deps, principal: Principal, permission: string): Promise<string[]> {
  const ids: string[] = [];
  for (const scope of await deps.reads.members.scopesOfUser(deps.instanceId, principal.userId)) {
    if (scope.type !== "project") continue;
    const project = await deps.cache.get(deps.instanceId, "project", scope.id);
    const m = project.exists ? project.members.get(principal.userId) : undefined;
    if (m && rolesGrant(m.roles, permission)) ids.push(project.id);
  }
  return ids;
}

/** What a v2 search shows the caller: the orgs where it holds `permission`, and the projects whose memberships grant it. */
export async function visibleScope(deps: Deps, principal: Principal, permission: string): Promise<VisibleScope> {
  const orgIds = await orgsWithPermission(deps, principal, permission);
  return { orgIds, projectIds: orgIds === "all" ? [] : await projectsWithPermission(deps, principal, permission) };
}
