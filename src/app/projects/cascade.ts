import type { NewEvent, UniqueClaim } from "../../domain/events.js";
import { projectGrantsWithoutRole } from "../../domain/projects/project-grants.js";
import type { ProjectState } from "../../domain/projects/project.js";
import { newUserGrantCascadeChangedEvent, newUserGrantCascadeRemovedEvent } from "../../domain/usergrants/events.js";
import { userGrantClaim } from "../../domain/usergrants/rules.js";
import type { UserGrantState } from "../../domain/usergrants/user-grant.js";
import type { UserGrantFilter } from "../../store/read-models/index.js";
import type { Loader } from "../core/command.js";
import type { Deps } from "../core/context.js";

/**
 * What goes with a project, a role or a project grant, in the same push as project.removed /
 * project.role.removed / project.grant.removed / project.grant.changed (ZITADEL's
 * RemoveProject(cascadingUserGrantIDs), RemoveProjectRole(cascadingProjectGrantIds,
 * cascadeUserGrantIDs), RemoveProjectGrant(cascadeUserGrantIDs), ChangeProjectGrant(cascadeUserGrantIDs)):
 *
 * - user grants (the "usergrant" aggregate): found through the user-grant read model, each loaded
 *   with `load` so that a concurrent change makes the command decide again; on removal of the
 *   project or project grant, `user.grant.cascade.removed` and their claims released; on a role
 *   leaving the project or the grant, `user.grant.cascade.changed` with the remaining keys.
 * - project grants (on the project aggregate): on role removal `project.grant.cascade.changed`
 *   (projectGrantsWithoutRole, domain/projects/project-grants.ts); project.removed ends them.
 * - applications and app keys: ended by project.removed.
 */
export interface Cascade {
  events: NewEvent[];
  uniques: UniqueClaim[];
}

/** The grants matching `filter`, loaded (and so guarded against concurrent change); removed ones skipped. */
async function loadGrants(deps: Deps, load: Loader, filter: UserGrantFilter): Promise<UserGrantState[]> {
  const out: UserGrantState[] = [];
  for (const id of await deps.reads.userGrants.find(deps.instanceId, filter)) {
    const g = await load("usergrant", id);
    if (g.exists) out.push(g);
  }
  return out;
}

/** user.grant.cascade.removed for each grant, releasing each claim. */
export function removeGrants(grants: readonly UserGrantState[]): Cascade {
  return {
    events: grants.map((g) => newUserGrantCascadeRemovedEvent(g.id, g.orgId)),
    uniques: grants.map((g) => userGrantClaim(g.orgId, g.userId, g.projectId, g.projectGrantId, "remove")),
  };
}

/** The user grants of `filter` keeping only `keep` of their role keys: user.grant.cascade.changed for those that lose any. */
async function reduceGrants(deps: Deps, load: Loader, filter: UserGrantFilter, keep: (key: string) => boolean): Promise<Cascade> {
  const events: NewEvent[] = [];
  for (const g of await loadGrants(deps, load, filter)) {
    const remaining = g.roleKeys.filter(keep);
    if (remaining.length !== g.roleKeys.length) events.push(newUserGrantCascadeChangedEvent(g.id, g.orgId, remaining));
  }
  return { events, uniques: [] };
}

export async function projectRemovalCascade(deps: Deps, load: Loader, project: ProjectState): Promise<Cascade> {
  return removeGrants(await loadGrants(deps, load, { projectId: project.id }));
}

/** Project grants without the key (project.grant.cascade.changed) and user grants without it (user.grant.cascade.changed). */
export async function roleRemovalCascade(deps: Deps, load: Loader, project: ProjectState, key: string): Promise<Cascade> {
  const users = await reduceGrants(deps, load, { projectId: project.id, roleKey: key }, (k) => k !== key);
  return { events: [...projectGrantsWithoutRole(project, key), ...users.events], uniques: users.uniques };
}

export async function projectGrantRemovalCascade(deps: Deps, load: Loader, project: ProjectState, grantId: string): Promise<Cascade> {
  return removeGrants(await loadGrants(deps, load, { projectId: project.id, projectGrantId: grantId }));
}

export async function projectGrantRolesCascade(deps: Deps, load: Loader, project: ProjectState, grantId: string, remainingRoleKeys: string[]): Promise<Cascade> {
  const remaining = new Set(remainingRoleKeys);
  return reduceGrants(deps, load, { projectId: project.id, projectGrantId: grantId }, (k) => remaining.has(k));
}

/** A removed user's grants go with it (ZITADEL's RemoveUser with cascadingGrantIDs: user.grant.cascade.removed). */
export async function userRemovalCascade(deps: Deps, load: Loader, userId: string): Promise<Cascade> {
  return removeGrants(await loadGrants(deps, load, { userId }));
}
