import { invalidArgument, notFound, preconditionFailed } from "../../domain/errors.js";
import type { NewEvent, UniqueClaim } from "../../domain/events.js";
import type { ProjectState } from "../../domain/projects/project.js";
import {
  newUserGrantAddedEvent,
  newUserGrantChangedEvent,
  newUserGrantDeactivatedEvent,
  newUserGrantReactivatedEvent,
  newUserGrantRemovedEvent,
} from "../../domain/usergrants/events.js";
import { hasDuplicates, userGrantClaim } from "../../domain/usergrants/rules.js";
import { UserGrantStateNum, type UserGrantState } from "../../domain/usergrants/user-grant.js";
import { inOrg } from "../../domain/users/rules.js";
import { runCommand, type Loader } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";
import { changedDetails, createdDetails, lastOf, type Details } from "../core/details.js";

/**
 * User grants ("authorizations", ZITADEL's command/user_grant.go): a user × project (× project grant)
 * × role keys, the "usergrant" aggregate owned by the org that grants — the org the request acts on.
 * That org either owns the project (role keys from the project's roles) or holds a project grant of it
 * (role keys from the grant's roleKeys; a missing projectGrantId is the grant made to that org, as
 * ZITADEL resolves it). Portcullis also requires the user to belong to that org (docs/design.md).
 */

export interface UserGrantInput {
  userId: string;
  projectId: string;
  projectGrantId: string;
  roleKeys: string[];
}

const grantNotFound = (id: string) => notFound(id, "Errors.UserGrant.NotFound");

/**
 * What a grant of `orgId` on the project may hold: the project's roles when the org owns it, the
 * project grant's roles when the project was granted to the org. The project grant id is resolved
 * (the org's grant of the project) when none was given. Errors are ZITADEL's preconditions
 * (checkUserGrantPreConditionOld).
 */
export function grantableRoles(project: ProjectState | undefined, orgId: string, projectGrantId: string): { projectGrantId: string; roleKeys: ReadonlySet<string> } {
  if (project?.exists && project.orgId === orgId) {
    if (projectGrantId) throw preconditionFailed("COMMAND-4m9ff", "Errors.Project.Grant.NotFound");
    return { projectGrantId: "", roleKeys: new Set(project.roles.keys()) };
  }
  if (!project?.exists) throw preconditionFailed("COMMAND-3n77S", "Errors.Project.NotFound");
  for (const g of project.grants.values()) {
    if (g.grantedOrgId !== orgId || (projectGrantId && g.grantId !== projectGrantId)) continue;
    // Only roles the project still has (a role removal takes it out of every grant; this keeps the rule local).
    return { projectGrantId: g.grantId, roleKeys: new Set(g.roleKeys.filter((k) => project.roles.has(k))) };
  }
  throw preconditionFailed("COMMAND-4m9ff", "Errors.Project.Grant.NotFound");
}

/** The user, project (and grant) and role keys a grant of the caller's org may name; throws ZITADEL's precondition errors. */
async function checkPreconditions(load: Loader, caller: Caller, g: UserGrantInput): Promise<string> {
  const user = await load("user", g.userId);
  if (!inOrg(user, caller)) throw preconditionFailed("COMMAND-4f8sg", "Errors.User.NotFound");
  const project = await load("project", g.projectId);
  // A project of a removed org is gone with it.
  if (project.exists && !(await load("org", project.orgId)).exists) throw preconditionFailed("COMMAND-3n77S", "Errors.Project.NotFound");
  const allowed = grantableRoles(project, caller.orgId, g.projectGrantId);
  if (g.roleKeys.some((k) => !allowed.roleKeys.has(k))) throw preconditionFailed("COMMAND-mm9F4", "Errors.Project.Role.NotFound");
  return allowed.projectGrantId;
}

const checkInput = (g: { roleKeys: string[] }) => {
  if (hasDuplicates(g.roleKeys) || g.roleKeys.some((k) => !k.trim())) throw invalidArgument("COMMAND-kVfMa", "Errors.UserGrant.Invalid");
};

/** AddUserGrant: one user.grant.added, the user × project × project grant claimed for the org. */
export function addUserGrant(deps: Deps, caller: Caller, input: UserGrantInput): Promise<{ id: string; details: Details }> {
  const id = deps.newId();
  return runCommand(deps, caller.userId, async (load) => {
    if (!input.userId || !input.projectId) throw invalidArgument("COMMAND-kVfMa", "Errors.UserGrant.Invalid");
    checkInput(input);
    await load("usergrant", id);
    if (!(await load("org", caller.orgId)).exists) throw preconditionFailed("COMMAND-3m9gg", "Errors.Org.NotFound");
    const projectGrantId = await checkPreconditions(load, caller, input);
    const g = { ...input, projectGrantId };
    return {
      events: [newUserGrantAddedEvent(id, caller.orgId, g)],
      uniques: [userGrantClaim(caller.orgId, g.userId, g.projectId, g.projectGrantId, "add")],
      result: (stored) => ({ id, details: createdDetails(stored[0]!) }),
    };
  });
}

/** The grant of the caller's org (ZITADEL's write model filtered by resource owner): anything else is not found. */
async function loadGrant(load: Loader, caller: Caller, grantId: string, missingId: string): Promise<UserGrantState> {
  const g = await load("usergrant", grantId);
  if (!g.exists || g.orgId !== caller.orgId) throw grantNotFound(missingId);
  return g;
}

/** UpdateUserGrant: the whole set of role keys replaced (the same list, in the same order, is COMMAND-Rs8fy). */
export function updateUserGrant(deps: Deps, caller: Caller, grantId: string, roleKeys: string[]): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    if (!grantId) throw invalidArgument("COMMAND-3M0sd", "Errors.UserGrant.Invalid");
    checkInput({ roleKeys });
    const g = await loadGrant(load, caller, grantId, "COMMAND-3M9sd");
    if (g.roleKeys.length === roleKeys.length && g.roleKeys.every((k, i) => k === roleKeys[i])) throw preconditionFailed("COMMAND-Rs8fy", "Errors.UserGrant.NotChanged");
    await checkPreconditions(load, caller, { userId: g.userId, projectId: g.projectId, projectGrantId: g.projectGrantId, roleKeys });
    return { events: [newUserGrantChangedEvent(g.id, g.orgId, roleKeys)], result: (stored) => changedDetails(lastOf(stored)) };
  });
}

export function deactivateUserGrant(deps: Deps, caller: Caller, grantId: string): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    if (!grantId) throw invalidArgument("COMMAND-N2OhG", "Errors.UserGrant.IDMissing");
    const g = await loadGrant(load, caller, grantId, "COMMAND-3M9sd");
    if (g.state !== UserGrantStateNum.active) throw preconditionFailed("COMMAND-1S9gx", "Errors.UserGrant.NotActive");
    return { events: [newUserGrantDeactivatedEvent(g.id, g.orgId)], result: (stored) => changedDetails(lastOf(stored)) };
  });
}

export function reactivateUserGrant(deps: Deps, caller: Caller, grantId: string): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    if (!grantId) throw invalidArgument("COMMAND-Qxy8v", "Errors.UserGrant.IDMissing");
    const g = await loadGrant(load, caller, grantId, "COMMAND-Lp0gs");
    if (g.state !== UserGrantStateNum.inactive) throw preconditionFailed("COMMAND-1ML0v", "Errors.UserGrant.NotInactive");
    return { events: [newUserGrantReactivatedEvent(g.id, g.orgId)], result: (stored) => changedDetails(lastOf(stored)) };
  });
}

/** The removal of a grant: its event and the release of its claim. */
export const grantRemoval = (g: UserGrantState, event: (id: string, orgId: string) => NewEvent): { event: NewEvent; unique: UniqueClaim } => ({
  event: event(g.id, g.orgId),
  unique: userGrantClaim(g.orgId, g.userId, g.projectId, g.projectGrantId, "remove"),
});

export function removeUserGrant(deps: Deps, caller: Caller, grantId: string): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    if (!grantId) throw invalidArgument("COMMAND-J9sc5", "Errors.UserGrant.IDMissing");
    const r = grantRemoval(await loadGrant(load, caller, grantId, "COMMAND-1My0t"), newUserGrantRemovedEvent);
    return { events: [r.event], uniques: [r.unique], result: (stored) => changedDetails(lastOf(stored)) };
  });
}

/** BulkRemoveUserGrant: every grant found, or nothing is removed (one push, as ZITADEL's). */
export function bulkRemoveUserGrants(deps: Deps, caller: Caller, grantIds: string[]): Promise<void> {
  return runCommand(deps, caller.userId, async (load) => {
    if (grantIds.length === 0) throw invalidArgument("COMMAND-5M0sd", "Errors.UserGrant.IDMissing");
    const removals = [];
    for (const id of new Set(grantIds)) {
      if (!id) throw invalidArgument("COMMAND-J9sc5", "Errors.UserGrant.IDMissing");
      removals.push(grantRemoval(await loadGrant(load, caller, id, "COMMAND-1My0t"), newUserGrantRemovedEvent));
    }
    return { events: removals.map((r) => r.event), uniques: removals.map((r) => r.unique), result: () => undefined };
  });
}
