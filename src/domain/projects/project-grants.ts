import type { NewEvent } from "../events.js";
import { newProjectGrantCascadeChangedEvent } from "./events.js";
import type { ProjectState } from "./project.js";

/**
 * Rules of project grants that need no I/O (ZITADEL's domain.ProjectGrant and the cascade part of
 * command/project_role.go).
 */

/** The keys of `roleKeys` that are not roles of the project (ZITADEL's HasInvalidRoles). */
export const unknownRoleKeys = (project: ProjectState, roleKeys: readonly string[]): string[] => roleKeys.filter((k) => !project.roles.has(k));

/** The keys a grant had and no longer has (ZITADEL's domain.GetRemovedRoles). */
export const removedRoleKeys = (before: readonly string[], after: readonly string[]): string[] => before.filter((k) => !after.includes(k));

/** Same keys in the same order (ZITADEL compares with reflect.DeepEqual). */
export const sameRoleKeys = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((k, i) => k === b[i]);

/**
 * The project role `key` is being removed: a `project.grant.cascade.changed` for every grant of the
 * project that holds it, with the keys it keeps (ZITADEL's RemoveProjectRole → removeRoleFromProjectGrant
 * with cascade). Goes in the same push as project.role.removed (app/projects/cascade.ts).
 */
export function projectGrantsWithoutRole(project: ProjectState, key: string): NewEvent[] {
  const events: NewEvent[] = [];
  for (const g of project.grants.values()) {
    if (!g.roleKeys.includes(key)) continue;
    events.push(newProjectGrantCascadeChangedEvent(project.id, project.orgId, g.grantId, g.roleKeys.filter((k) => k !== key)));
  }
  return events;
}
