import { permissionDenied } from "../../domain/errors.js";
import {
  CEILING_ERROR_ID,
  CEILING_GRANT_MESSAGE,
  CEILING_TARGET_MESSAGE,
  rolesCover,
  scopeAboveCaller,
  type CeilingScope,
  type Memberships,
} from "../../domain/orgs/ceiling.js";
import { ALL_PERMISSIONS, rolesGrant } from "../../domain/orgs/roles.js";
import type { Loader } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";

/**
 * The privilege ceiling (domain/orgs/ceiling.ts) in the commands. Memberships are read as the
 * decision sees them: the instance and the orgs through the command's loader (the current state, so
 * a role granted a moment ago counts), the list of orgs a user is a member of from the members read
 * model (updated in the transaction that changes it). Only management writes run this; the token
 * path never does.
 */

/**
 * Before a command acts on an existing user (credentials, state, name, metadata, removal): the
 * caller's permissions must cover the user's in every scope the user is a member of. Acting on
 * oneself, the system's own calls and an IAM_OWNER (every permission) pass without further reads.
 */
export async function requireMayActOn(deps: Deps, load: Loader, caller: Caller, targetId: string): Promise<void> {
  if (caller.system || caller.userId === targetId) return;
  const instance = await load("instance", deps.instanceId);
  const callerIam = instance.members.get(caller.userId)?.roles;
  if (callerIam && rolesGrant(callerIam, ALL_PERMISSIONS)) return;
  const callerOrgs = new Map<string, readonly string[]>();
  const targetOrgs = new Map<string, readonly string[]>();
  const callerProjects = new Map<string, readonly string[]>();
  const targetProjects = new Map<string, readonly string[]>();
  const projectOrgs = new Map<string, string>();
  const callerInOrg = async (orgId: string) => {
    if (callerOrgs.has(orgId)) return;
    const own = (await load("org", orgId)).members.get(caller.userId);
    if (own) callerOrgs.set(orgId, own.roles);
  };
  for (const scope of await deps.reads.members.scopesOfUser(deps.instanceId, targetId)) {
    if (scope.type === "org") {
      const org = await load("org", scope.id);
      const member = org.exists ? org.members.get(targetId) : undefined;
      if (!member) continue;
      targetOrgs.set(org.id, member.roles);
      await callerInOrg(org.id);
    } else if (scope.type === "project") {
      const project = await load("project", scope.id);
      const member = project.exists ? project.members.get(targetId) : undefined;
      if (!member || !(await load("org", project.orgId)).exists) continue;
      targetProjects.set(project.id, member.roles);
      projectOrgs.set(project.id, project.orgId);
      const own = project.members.get(caller.userId);
      if (own) callerProjects.set(project.id, own.roles);
      await callerInOrg(project.orgId);
    }
  }
  const target: Memberships = { instance: instance.members.get(targetId)?.roles, orgs: targetOrgs, projects: targetProjects };
  const callerMemberships: Memberships = { instance: callerIam, orgs: callerOrgs, projects: callerProjects };
  if (scopeAboveCaller(callerMemberships, target, projectOrgs)) throw permissionDenied(CEILING_ERROR_ID, CEILING_TARGET_MESSAGE);
}

/**
 * Before a membership of `targetId` in one scope changes: the caller's permissions there must cover
 * the member's before the change (`before`: its roles in that scope, undefined when it is none) and
 * after it (`after`, undefined for a removal). In an org the target's and the caller's instance roles
 * count too. A caller may lower its own roles but not raise them.
 */
export async function requireMayChangeMembership(
  deps: Deps,
  load: Loader,
  caller: Caller,
  scope: CeilingScope,
  targetId: string,
  before: readonly string[] | undefined,
  after: readonly string[] | undefined,
): Promise<void> {
  if (caller.system) return;
  const instance = await load("instance", deps.instanceId);
  const org = scope.type === "org" ? await load("org", scope.id) : scope.type === "project" ? await load("org", scope.orgId) : undefined;
  const project = scope.type === "project" ? await load("project", scope.id) : undefined;
  /**
   * A user's roles in effect in the scope, given its roles of that scope: in an org, its instance
   * roles count too; in a project, its instance roles and its roles in the project's org.
   */
  const inScope = (userId: string, roles: readonly string[] | undefined): readonly string[] =>
    scope.type === "instance"
      ? (roles ?? [])
      : [...(instance.members.get(userId)?.roles ?? []), ...(project ? (org?.members.get(userId)?.roles ?? []) : []), ...(roles ?? [])];
  const own =
    scope.type === "instance"
      ? instance.members.get(caller.userId)?.roles
      : scope.type === "org"
        ? org?.members.get(caller.userId)?.roles
        : project?.members.get(caller.userId)?.roles;
  const callerRoles = inScope(caller.userId, own);
  if (before && !rolesCover(callerRoles, inScope(targetId, before))) throw permissionDenied(CEILING_ERROR_ID, CEILING_TARGET_MESSAGE);
  if (after && !rolesCover(callerRoles, inScope(targetId, after))) throw permissionDenied(CEILING_ERROR_ID, CEILING_GRANT_MESSAGE);
}
