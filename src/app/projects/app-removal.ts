import { appClientIdClaim, appNameClaim } from "../../domain/projects/app-rules.js";
import type { UniqueClaim } from "../../domain/events.js";
import type { ProjectState } from "../../domain/projects/project.js";

/**
 * The claims a removed project's applications release (their names and client ids): project.removed
 * ends the apps and their keys, so nothing else is written for them.
 */
export function appRemovalUniques(project: ProjectState): UniqueClaim[] {
  const claims: UniqueClaim[] = [];
  for (const a of project.apps.values()) {
    claims.push(appNameClaim(a.name, project.id, "remove"));
    if (a.clientId) claims.push(appClientIdClaim(a.clientId, "remove"));
  }
  return claims;
}
