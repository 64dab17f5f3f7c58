import { alreadyExists, invalidArgument, notFound, preconditionFailed, type DomainError } from "../../domain/errors.js";
import type { UniqueClaim } from "../../domain/events.js";
import {
  newProjectAddedEvent,
  newProjectChangedEvent,
  newProjectDeactivatedEvent,
  newProjectMemberAddedEvent,
  newProjectReactivatedEvent,
  newProjectRemovedEvent,
  type ProjectChangedPayload,
  type ProjectSettings,
} from "../../domain/projects/events.js";
import { ProjectStateNum, type ProjectState } from "../../domain/projects/project.js";
import { projectGrantClaim, projectMemberClaim, projectNameClaim, projectRoleClaim } from "../../domain/projects/rules.js";
import { runCommand, type Loader } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";
import { changedDetails, createdDetails, lastOf, type Details } from "../core/details.js";
import { projectRemovalCascade } from "./cascade.js";

/**
 * Project lifecycle (ZITADEL's command/project.go behind AddProject, UpdateProject,
 * Deactivate/Reactivate/RemoveProject). A project belongs to the org the request acts on
 * (caller.orgId); a project of another org, a removed one or one whose org was removed is not found.
 */

/** The role the creator of a project gets (ZITADEL's domain.RoleProjectOwner). */
export const PROJECT_CREATOR_ROLE = "PROJECT_OWNER";

/**
 * The project as the command's decision sees it, or the error when it is not there for this caller:
 * not added, removed, of another org, or of an org that was removed.
 */
export async function loadProject(load: Loader, caller: Caller, projectId: string, missing: () => DomainError): Promise<ProjectState> {
  const project = projectId ? await load("project", projectId) : undefined;
  if (!project?.exists || project.orgId !== caller.orgId) throw missing();
  if (!(await load("org", project.orgId)).exists) throw missing();
  return project;
}

export const projectNotFound = (id: string) => () => notFound(id, "Errors.Project.NotFound");

export type ProjectInput = ProjectSettings;

const trimmed = (s: ProjectInput): ProjectInput => ({ ...s, name: s.name.trim() });

/**
 * AddProject: a new project of the org; the caller becomes its PROJECT_OWNER in the same push (as ZITADEL's addProject).
 * `projectId`: the id the request chose (v2beta CreateProject's `id`); one in use is PROJECT-opamwu.
 */
export function addProject(deps: Deps, caller: Caller, input: ProjectInput, opts: { projectId?: string } = {}): Promise<{ id: string; details: Details }> {
  const settings = trimmed(input);
  if (!settings.name) return Promise.reject(invalidArgument("PROJECT-IOVCC", "Errors.Project.Invalid"));
  const id = opts.projectId || deps.newId();
  return runCommand(deps, caller.userId, async (load) => {
    // A fresh id: loading it makes a (theoretical) collision a concurrency conflict; a chosen one may be taken.
    if ((await load("project", id)).sequence > 0) throw alreadyExists("PROJECT-opamwu", "Errors.Project.AlreadyExisting");
    if (!(await load("org", caller.orgId)).exists) throw preconditionFailed("PROJECT-3M0fs", "Errors.Org.NotFound");
    return {
      events: [newProjectAddedEvent(id, caller.orgId, settings), newProjectMemberAddedEvent(id, caller.orgId, caller.userId, [PROJECT_CREATOR_ROLE])],
      uniques: [projectNameClaim(settings.name, caller.orgId, "add"), projectMemberClaim(id, caller.userId, "add")],
      result: (stored) => ({ id, details: createdDetails(stored[0]!) }),
    };
  });
}

/** UpdateProject: the fields that differ, in one project.changed; nothing different is COMMAND-2M0fs. */
export function updateProject(deps: Deps, caller: Caller, projectId: string, input: ProjectInput): Promise<Details> {
  const settings = trimmed(input);
  if (!settings.name || !projectId) return Promise.reject(invalidArgument("COMMAND-4m9vS", "Errors.Project.Invalid"));
  return runCommand(deps, caller.userId, async (load) => {
    const p = await loadProject(load, caller, projectId, projectNotFound("COMMAND-3M9sd"));
    const changes: ProjectChangedPayload = {};
    for (const k of ["name", "projectRoleAssertion", "projectRoleCheck", "hasProjectCheck", "privateLabelingSetting"] as const) {
      if (p[k] !== settings[k]) (changes as Record<string, unknown>)[k] = settings[k];
    }
    if (Object.keys(changes).length === 0) throw preconditionFailed("COMMAND-2M0fs", "Errors.NoChangesFound");
    const uniques: UniqueClaim[] = changes.name === undefined ? [] : [projectNameClaim(p.name, p.orgId, "remove"), projectNameClaim(settings.name, p.orgId, "add")];
    return { events: [newProjectChangedEvent(p.id, p.orgId, changes)], uniques, result: (stored) => changedDetails(lastOf(stored)) };
  });
}

export function deactivateProject(deps: Deps, caller: Caller, projectId: string): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    if (!projectId) throw invalidArgument("COMMAND-88iF0", "Errors.Project.ProjectIDMissing");
    const p = await loadProject(load, caller, projectId, projectNotFound("COMMAND-112M9"));
    if (p.state !== ProjectStateNum.active) throw preconditionFailed("COMMAND-mki55", "Errors.Project.NotActive");
    return { events: [newProjectDeactivatedEvent(p.id, p.orgId)], result: (stored) => changedDetails(lastOf(stored)) };
  });
}

export function reactivateProject(deps: Deps, caller: Caller, projectId: string): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    if (!projectId) throw invalidArgument("COMMAND-4m9vS", "Errors.Project.ProjectIDMissing");
    const p = await loadProject(load, caller, projectId, projectNotFound("COMMAND-3M9sd"));
    if (p.state !== ProjectStateNum.inactive) throw preconditionFailed("COMMAND-5M9bs", "Errors.Project.NotInactive");
    return { events: [newProjectReactivatedEvent(p.id, p.orgId)], result: (stored) => changedDetails(lastOf(stored)) };
  });
}

/**
 * RemoveProject: one project.removed releases the project's name, its role keys, its members' and its
 * project grants' claims; what hangs off the project (user grants, project grants, apps) goes in the same push
 * through projectRemovalCascade (cascade.ts). The answer is the project.removed event's details.
 */
export function removeProject(deps: Deps, caller: Caller, projectId: string): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    if (!projectId) throw invalidArgument("COMMAND-66hM9", "Errors.Project.ProjectIDMissing");
    const p = await loadProject(load, caller, projectId, projectNotFound("COMMAND-3M9sd"));
    const cascade = await projectRemovalCascade(deps, load, p);
    return {
      events: [newProjectRemovedEvent(p.id, p.orgId), ...cascade.events],
      uniques: [
        projectNameClaim(p.name, p.orgId, "remove"),
        ...[...p.roles.keys()].map((key) => projectRoleClaim(key, p.id, "remove")),
        ...[...p.members.keys()].map((userId) => projectMemberClaim(p.id, userId, "remove")),
        ...[...p.grants.values()].map((g) => projectGrantClaim(g.grantedOrgId, p.id, "remove")), // project grants (PGRANT)
        ...cascade.uniques,
      ],
      result: (stored) => changedDetails(stored[0]!),
    };
  });
}
