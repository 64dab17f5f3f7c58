import type { NewEvent, UniqueClaim } from "../../domain/events.js";
import type { ProjectState } from "../../domain/projects/project.js";
import type { Loader } from "../core/command.js";
import type { Deps } from "../core/context.js";

/**
 * What goes with a project or a role, in the same push as project.removed / project.role.removed
 * (ZITADEL's RemoveProject(cascadingUserGrantIDs) and RemoveProjectRole(cascadingProjectGrantIds,
 * cascadeUserGrantIDs)). The extension points for the capabilities built on projects:
 *
 * - user grants (a separate "usergrant" aggregate): on project removal, `usergrant.cascade.removed`
 *   for every grant of the project (found through the user-grant read model, each loaded with `load`
 *   so that a concurrent change retries the command) and their unique claims released; on role
 *   removal, `usergrant.cascade.changed` with the key taken out of every grant that holds it.
 * - project grants (on the project aggregate): on role removal, `project.grant.cascade.changed`
 *   without the key; on project removal nothing — project.removed ends them (their claims are released
 *   here).
 * - applications and app keys (on the project aggregate): ended by project.removed; their unique
 *   claims (client ids) are released here.
 *
 * Nothing of these exists yet, so both answer nothing.
 */
export interface Cascade {
  events: NewEvent[];
  uniques: UniqueClaim[];
}

export async function projectRemovalCascade(_deps: Deps, _load: Loader, _project: ProjectState): Promise<Cascade> {
  return { events: [], uniques: [] };
}

export async function roleRemovalCascade(_deps: Deps, _load: Loader, _project: ProjectState, _key: string): Promise<Cascade> {
  return { events: [], uniques: [] };
}
