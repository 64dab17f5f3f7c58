import { alreadyExists, invalidArgument, notFound, preconditionFailed } from "../../domain/errors.js";
import { newRoleAddedEvent, newRoleChangedEvent, newRoleRemovedEvent, type RolePayload } from "../../domain/projects/events.js";
import { projectRoleClaim } from "../../domain/projects/rules.js";
import { runCommand } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";
import { changedDetails, createdDetails, lastOf, type Details } from "../core/details.js";
import { roleRemovalCascade } from "./cascade.js";
import { loadProject } from "./projects.js";

/**
 * Project roles (ZITADEL's command/project_role.go): keys unique per project (the `project_role`
 * claim), each role a `project.role.*` event on the project. The project must exist for the caller's
 * org (ZITADEL's checkProjectExists: PreconditionFailed COMMAND-4M0fs).
 */

const projectMissing = () => preconditionFailed("COMMAND-4M0fs", "Errors.Project.NotFound");
const ROLE_EXISTS = { id: "V3-DKcYh", message: "Errors.Project.Role.AlreadyExists" };

const trimmedRole = (r: RolePayload): RolePayload => ({ key: r.key.trim(), displayName: r.displayName.trim(), group: r.group.trim() });

/** AddProjectRole and BulkAddProjectRoles: every role valid and new (also within the request), or nothing is written. */
export function addProjectRoles(deps: Deps, caller: Caller, projectId: string, input: RolePayload[], bulk: boolean): Promise<Details> {
  const roles = input.map(trimmedRole);
  return runCommand(deps, caller.userId, async (load) => {
    const p = await loadProject(load, caller, projectId, projectMissing);
    const seen = new Set<string>();
    for (const r of roles) {
      if (!r.key || !r.displayName) throw invalidArgument("COMMAND-4m9vS", "Errors.Project.Role.Invalid");
      if (p.roles.has(r.key) || seen.has(r.key)) throw alreadyExists(ROLE_EXISTS.id, ROLE_EXISTS.message);
      seen.add(r.key);
    }
    if (roles.length === 0) throw invalidArgument("COMMAND-4m9vS", "Errors.Project.Role.Invalid");
    return {
      events: roles.map((r) => newRoleAddedEvent(p.id, p.orgId, r)),
      uniques: roles.map((r) => projectRoleClaim(r.key, p.id, "add")),
      // AddProjectRole answers the creation (AddToDetailsPb with the creation date); the bulk its last event's change.
      result: (stored) => (bulk ? changedDetails(lastOf(stored)) : createdDetails(lastOf(stored))),
    };
  });
}

/** UpdateProjectRole: display name and group replaced; the same values are COMMAND-5M0cs. */
export function updateProjectRole(deps: Deps, caller: Caller, projectId: string, input: RolePayload): Promise<Details> {
  const role = trimmedRole(input);
  return runCommand(deps, caller.userId, async (load) => {
    if (!role.key || !role.displayName) throw invalidArgument("COMMAND-2ilfW", "Errors.Project.Invalid");
    const p = await loadProject(load, caller, projectId, projectMissing);
    const existing = p.roles.get(role.key);
    if (!existing) throw notFound("COMMAND-vv8M9", "Errors.Project.Role.NotExisting");
    const changes = {
      key: role.key,
      ...(existing.displayName !== role.displayName ? { displayName: role.displayName } : {}),
      ...(existing.group !== role.group ? { group: role.group } : {}),
    };
    if (Object.keys(changes).length === 1) throw preconditionFailed("COMMAND-5M0cs", "Errors.NoChangesFound");
    return { events: [newRoleChangedEvent(p.id, p.orgId, changes)], result: (stored) => changedDetails(lastOf(stored)) };
  });
}

/**
 * RemoveProjectRole: the key's claim is released; the role goes out of every project grant and user
 * grant that holds it in the same push (cascade.ts).
 */
export function removeProjectRole(deps: Deps, caller: Caller, projectId: string, key: string): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    if (!projectId || !key) throw invalidArgument("COMMAND-fl9eF", "Errors.Project.Role.Invalid");
    const p = await loadProject(load, caller, projectId, () => notFound("COMMAND-m9vMf", "Errors.Project.Role.NotExisting"));
    if (!p.roles.has(key)) throw notFound("COMMAND-m9vMf", "Errors.Project.Role.NotExisting");
    const cascade = await roleRemovalCascade(deps, load, p, key);
    return {
      events: [newRoleRemovedEvent(p.id, p.orgId, key), ...cascade.events],
      uniques: [projectRoleClaim(key, p.id, "remove"), ...cascade.uniques],
      result: (stored) => changedDetails(stored[0]!),
    };
  });
}
