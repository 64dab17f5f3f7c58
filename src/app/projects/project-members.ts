import { alreadyExists, invalidArgument, notFound, preconditionFailed } from "../../domain/errors.js";
import { newProjectMemberAddedEvent, newProjectMemberChangedEvent, newProjectMemberRemovedEvent } from "../../domain/projects/events.js";
import { projectMemberClaim } from "../../domain/projects/rules.js";
import { areProjectRoles } from "../../domain/orgs/roles.js";
import { runCommand } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";
import { changedDetails, createdDetails, lastOf, type Details } from "../core/details.js";
import { memberCandidateExists, sameRoles } from "../orgs/org-members.js";
import { requireMayChangeMembership } from "../orgs/privilege-ceiling.js";
import { loadProject } from "./projects.js";

/**
 * Project members (ZITADEL's command/project_member.go): ZITADEL's manager roles on one project
 * (PROJECT_OWNER, PROJECT_OWNER_VIEWER), held by any user of the instance. As for org members, the
 * caller must hold every permission the roles give, in the project's scope (the privilege ceiling:
 * its instance, org and project roles together).
 */

const projectMissing = () => preconditionFailed("COMMAND-4M0fs", "Errors.Project.NotFound");

export function addProjectMember(deps: Deps, caller: Caller, projectId: string, userId: string, roles: string[]): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    if (!userId || roles.length === 0) throw invalidArgument("PROJECT-W8m4l", "Errors.Project.Member.Invalid");
    if (!areProjectRoles(roles)) throw invalidArgument("PROJECT-3m9ds", "Errors.Project.Member.Invalid");
    const p = await loadProject(load, caller, projectId, projectMissing);
    if (!(await memberCandidateExists(load, userId))) throw preconditionFailed("COMMAND-uXHNj", "Errors.User.NotFound");
    if (p.members.has(userId)) throw alreadyExists("PROJECT-PtXi1", "Errors.Project.Member.AlreadyExists");
    await requireMayChangeMembership(deps, load, caller, { type: "project", id: p.id, orgId: p.orgId }, userId, undefined, roles);
    return {
      events: [newProjectMemberAddedEvent(p.id, p.orgId, userId, roles)],
      uniques: [projectMemberClaim(p.id, userId, "add")],
      result: (stored) => createdDetails(lastOf(stored)),
    };
  });
}

/** UpdateProjectMember: a full replacement of the roles; the same roles are PROJECT-LiaZi (RolesNotChanged). */
export function updateProjectMember(deps: Deps, caller: Caller, projectId: string, userId: string, roles: string[]): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    if (!userId || roles.length === 0) throw invalidArgument("PROJECT-LiaZi", "Errors.Project.Member.Invalid");
    if (!areProjectRoles(roles)) throw invalidArgument("PROJECT-3m9d", "Errors.Project.Member.Invalid");
    const p = await loadProject(load, caller, projectId, projectMissing);
    const member = p.members.get(userId);
    if (!member) throw notFound("PROJECT-D8JxR", "Errors.NotFound");
    if (sameRoles(member.roles, roles)) throw preconditionFailed("PROJECT-LiaZi", "Errors.Project.Member.RolesNotChanged");
    await requireMayChangeMembership(deps, load, caller, { type: "project", id: p.id, orgId: p.orgId }, userId, member.roles, roles);
    return { events: [newProjectMemberChangedEvent(p.id, p.orgId, userId, roles)], result: (stored) => changedDetails(lastOf(stored)) };
  });
}

/** RemoveProjectMember: a user that is not a member is NotFound (PROJECT-D8JxR), as ZITADEL. */
export function removeProjectMember(deps: Deps, caller: Caller, projectId: string, userId: string): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    if (!projectId || !userId) throw invalidArgument("PROJECT-66mHd", "Errors.Project.Member.Invalid");
    const p = await loadProject(load, caller, projectId, () => notFound("PROJECT-D8JxR", "Errors.NotFound"));
    const member = p.members.get(userId);
    if (!member) throw notFound("PROJECT-D8JxR", "Errors.NotFound");
    await requireMayChangeMembership(deps, load, caller, { type: "project", id: p.id, orgId: p.orgId }, userId, member.roles, undefined);
    return {
      events: [newProjectMemberRemovedEvent(p.id, p.orgId, userId)],
      uniques: [projectMemberClaim(p.id, userId, "remove")],
      result: (stored) => changedDetails(lastOf(stored)),
    };
  });
}
