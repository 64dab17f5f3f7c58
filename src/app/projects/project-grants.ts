import { alreadyExists, invalidArgument, notFound, preconditionFailed } from "../../domain/errors.js";
import {
  newProjectGrantAddedEvent,
  newProjectGrantChangedEvent,
  newProjectGrantDeactivatedEvent,
  newProjectGrantReactivatedEvent,
  newProjectGrantRemovedEvent,
} from "../../domain/projects/events.js";
import { removedRoleKeys, sameRoleKeys, unknownRoleKeys } from "../../domain/projects/project-grants.js";
import { ProjectGrantStateNum, type ProjectGrantState, type ProjectState } from "../../domain/projects/project.js";
import { projectGrantClaim } from "../../domain/projects/rules.js";
import { runCommand, type Loader } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";
import { changedDetails, createdDetails, lastOf, type Details } from "../core/details.js";
import { projectGrantRemovalCascade, projectGrantRolesCascade } from "./cascade.js";
import { loadProject } from "./projects.js";

/**
 * Project grants (ZITADEL's command/project_grant.go): the org owning a project delegates it, with a
 * subset of its role keys, to another org. A grant is an entity of the project aggregate
 * (`project.grant.*`); one grant per project and granted org (the `project_grant` claim). The project
 * must belong to the org the request acts on; a grant of another org's project is not found.
 */

const GRANT_NOT_FOUND = { id: "PROJECT-D8JxR", message: "Errors.Project.Grant.NotFound" };
const grantNotFound = () => notFound(GRANT_NOT_FOUND.id, GRANT_NOT_FOUND.message);

/** ZITADEL's checkProjectGrantPreCondition: the project, the granted org, and every key a role of the project. */
async function checkPreconditions(load: Loader, caller: Caller, projectId: string, grantedOrgId: string, roleKeys: readonly string[]): Promise<ProjectState> {
  const p = await loadProject(load, caller, projectId, () => preconditionFailed("COMMAND-m9gsd", "Errors.Project.NotFound"));
  if (!(await load("org", grantedOrgId)).exists) throw preconditionFailed("COMMAND-3m9gg", "Errors.Org.NotFound");
  if (unknownRoleKeys(p, roleKeys).length > 0) throw preconditionFailed("COMMAND-6m9gd", "Errors.Project.Role.NotFound");
  return p;
}

/** The grant of a project of the caller's org, or PROJECT-D8JxR. */
async function loadGrant(load: Loader, caller: Caller, projectId: string, grantId: string, projectMissing = grantNotFound): Promise<{ p: ProjectState; g: ProjectGrantState }> {
  const p = await loadProject(load, caller, projectId, projectMissing);
  const g = p.grants.get(grantId);
  if (!g) throw grantNotFound();
  return { p, g };
}

/** The answer when nothing needed writing: the grant as it is (ZITADEL's writeModelToObjectDetails). */
const grantDetails = (p: ProjectState, g: ProjectGrantState): Details => ({ sequence: g.sequence, changeDate: g.changedAt, resourceOwner: p.orgId });

/**
 * AddProjectGrant: a project of the caller's org granted to another existing org, with role keys of
 * the project. Granting to the project's own org is PROJECT-ckUpbvboAH; a second grant to the same
 * org V3-DKcYh (the unique claim, as ZITADEL).
 */
export function addProjectGrant(deps: Deps, caller: Caller, projectId: string, grantedOrgId: string, roleKeys: string[]): Promise<{ grantId: string; details: Details }> {
  if (!projectId) return Promise.reject(invalidArgument("COMMAND-FYRnWEzBzV", "Errors.Project.Grant.Invalid"));
  if (!grantedOrgId) return Promise.reject(invalidArgument("COMMAND-PPhHpWGRAE", "Errors.Project.Grant.Invalid"));
  const grantId = deps.newId();
  return runCommand(deps, caller.userId, async (load) => {
    const p = await checkPreconditions(load, caller, projectId, grantedOrgId, roleKeys);
    if (grantedOrgId === p.orgId) throw preconditionFailed("PROJECT-ckUpbvboAH", "Errors.Project.Grant.Invalid");
    if ([...p.grants.values()].some((g) => g.grantedOrgId === grantedOrgId)) throw alreadyExists("V3-DKcYh", "Errors.Project.Grant.AlreadyExists");
    return {
      events: [newProjectGrantAddedEvent(p.id, p.orgId, grantId, grantedOrgId, roleKeys)],
      uniques: [projectGrantClaim(grantedOrgId, p.id, "add")],
      result: (stored) => ({ grantId, details: createdDetails(lastOf(stored)) }),
    };
  });
}

/**
 * UpdateProjectGrant: the grant's whole list of role keys replaced. The same list writes nothing and
 * answers the grant's details (as ZITADEL today); keys dropped go out of the user grants given through
 * the project grant in the same push (projectGrantRolesCascade).
 */
export function updateProjectGrant(deps: Deps, caller: Caller, projectId: string, grantId: string, roleKeys: string[]): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    if (!grantId) throw invalidArgument("PROJECT-1j83s", "Errors.IDMissing");
    const { p, g } = await loadGrant(load, caller, projectId, grantId);
    await checkPreconditions(load, caller, projectId, g.grantedOrgId, roleKeys);
    if (sameRoleKeys(g.roleKeys, roleKeys)) return { events: [], result: () => grantDetails(p, g) };
    const cascade = removedRoleKeys(g.roleKeys, roleKeys).length > 0 ? await projectGrantRolesCascade(deps, load, p, grantId, roleKeys) : { events: [], uniques: [] };
    return {
      events: [newProjectGrantChangedEvent(p.id, p.orgId, grantId, roleKeys), ...cascade.events],
      uniques: cascade.uniques,
      result: (stored) => changedDetails(stored[0]!),
    };
  });
}

const projectMissing = () => preconditionFailed("COMMAND-4M0fs", "Errors.Project.NotFound");

/** DeactivateProjectGrant: an inactive grant answers its details and writes nothing (as ZITADEL today). */
export function deactivateProjectGrant(deps: Deps, caller: Caller, projectId: string, grantId: string): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    if (!grantId || !projectId) throw invalidArgument("PROJECT-p0s4V", "Errors.IDMissing");
    const { p, g } = await loadGrant(load, caller, projectId, grantId, projectMissing);
    if (g.state === ProjectGrantStateNum.inactive) return { events: [], result: () => grantDetails(p, g) };
    return { events: [newProjectGrantDeactivatedEvent(p.id, p.orgId, grantId)], result: (stored) => changedDetails(lastOf(stored)) };
  });
}

/** ReactivateProjectGrant: an active grant answers its details and writes nothing (as ZITADEL today). */
export function reactivateProjectGrant(deps: Deps, caller: Caller, projectId: string, grantId: string): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    if (!grantId || !projectId) throw invalidArgument("PROJECT-p0s4V", "Errors.IDMissing");
    const { p, g } = await loadGrant(load, caller, projectId, grantId, projectMissing);
    if (g.state === ProjectGrantStateNum.active) return { events: [], result: () => grantDetails(p, g) };
    return { events: [newProjectGrantReactivatedEvent(p.id, p.orgId, grantId)], result: (stored) => changedDetails(lastOf(stored)) };
  });
}

/** RemoveProjectGrant: releases the (project, granted org) claim; the user grants given through it go in the same push (projectGrantRemovalCascade). */
export function removeProjectGrant(deps: Deps, caller: Caller, projectId: string, grantId: string): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    if (!grantId || !projectId) throw invalidArgument("PROJECT-1m9fJ", "Errors.IDMissing");
    const { p, g } = await loadGrant(load, caller, projectId, grantId);
    const cascade = await projectGrantRemovalCascade(deps, load, p, grantId);
    return {
      events: [newProjectGrantRemovedEvent(p.id, p.orgId, grantId), ...cascade.events],
      uniques: [projectGrantClaim(g.grantedOrgId, p.id, "remove"), ...cascade.uniques],
      result: (stored) => changedDetails(stored[0]!),
    };
  });
}
