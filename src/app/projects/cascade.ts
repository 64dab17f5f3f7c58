import type { NewEvent, UniqueClaim } from "../../domain/events.js";
import { projectGrantsWithoutRole } from "../../domain/projects/project-grants.js";
import type { ProjectState } from "../../domain/projects/project.js";
import type { Loader } from "../core/command.js";
import type { Deps } from "../core/context.js";

/**
 * What goes with a project, a role or a project grant, in the same push as project.removed /
 * project.role.removed / project.grant.removed / project.grant.changed (ZITADEL's
 * RemoveProject(cascadingUserGrantIDs), RemoveProjectRole(cascadingProjectGrantIds,
 * cascadeUserGrantIDs), RemoveProjectGrant(cascadeUserGrantIDs), ChangeProjectGrant(cascadeUserGrantIDs)).
 * The extension points for the capabilities built on projects:
 *
 * - user grants (a separate "usergrant" aggregate): on project removal, `usergrant.cascade.removed`
 *   for every grant of the project (found through the user-grant read model, each loaded with `load`
 *   so that a concurrent change retries the command) and their unique claims released; on role
 *   removal, `usergrant.cascade.changed` with the key taken out of every grant that holds it; on
 *   project grant removal, the user grants given through that project grant removed; on a project
 *   grant losing keys, those keys taken out of the user grants given through it.
 * - project grants (on the project aggregate): on role removal, `project.grant.cascade.changed`
 *   without the key (projectGrantsWithoutRole, domain/projects/project-grants.ts); on project removal
 *   nothing — project.removed ends them, and removeProject releases their claims.
 * - applications and app keys (on the project aggregate): ended by project.removed; their unique
 *   claims (client ids) are released here.
 */
export interface Cascade {
  events: NewEvent[];
  uniques: UniqueClaim[];
}

export async function projectRemovalCascade(_deps: Deps, _load: Loader, _project: ProjectState): Promise<Cascade> {
  return { events: [], uniques: [] };
}

export async function roleRemovalCascade(_deps: Deps, _load: Loader, project: ProjectState, key: string): Promise<Cascade> {
  // PGRANT's part; UGRANT adds the user grants' cascade events (the lead combines the two).
  return { events: projectGrantsWithoutRole(project, key), uniques: [] };
}

/** RemoveProjectGrant: the user grants given through the project grant (bodies in branch ugrant). */
export async function projectGrantRemovalCascade(_deps: Deps, _load: Loader, _project: ProjectState, _grantId: string): Promise<Cascade> {
  return { events: [], uniques: [] };
}

/** UpdateProjectGrant dropped keys: the user grants given through the project grant keep only `remainingRoleKeys` (bodies in branch ugrant). */
export async function projectGrantRolesCascade(_deps: Deps, _load: Loader, _project: ProjectState, _grantId: string, _remainingRoleKeys: string[]): Promise<Cascade> {
  return { events: [], uniques: [] };
}
