import { alreadyExists, invalidArgument, notFound, preconditionFailed } from "../../domain/errors.js";
import { newOrgMemberAddedEvent, newOrgMemberChangedEvent, newOrgMemberRemovedEvent } from "../../domain/orgs/events.js";
import { memberClaim } from "../../domain/orgs/members.js";
import type { MemberScope } from "../../domain/orgs/org.js";
import { SELF_MANAGEMENT_GLOBAL, areOfferedOrgRoles, areOrgRoles } from "../../domain/orgs/roles.js";
import { userExists } from "../../domain/users/user.js";
import { runCommand, type Loader } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";
import { changedDetails, createdDetails, lastOf, type Details } from "../core/details.js";
import { requireMayChangeMembership } from "./privilege-ceiling.js";

/**
 * A user that can become a member anywhere in the instance (ZITADEL's ExistsUser with no owner):
 * added, not removed, and its org not removed — a removed org's users are gone with it.
 */
export async function memberCandidateExists(load: Loader, userId: string): Promise<boolean> {
  const user = await load("user", userId);
  if (!userExists(user)) return false;
  return (await load("org", user.orgId)).exists;
}

/**
 * Whether the org is the instance's default org. Read from the cache, not through the command's
 * loader: the default org is set when the instance is created and never changes.
 */
async function isDefaultOrg(deps: Deps, orgId: string): Promise<boolean> {
  return (await deps.cache.get(deps.instanceId, "instance", deps.instanceId)).defaultOrgId === orgId;
}

/** What a write that changed nothing reports: the user's last member event in that scope, if any. */
export function unchangedMemberDetails(scope: MemberScope, userId: string, resourceOwner: string): Details {
  const last = scope.lastMemberEvent.get(userId);
  return last ? { sequence: last.sequence, changeDate: last.at, resourceOwner } : { sequence: 0, resourceOwner };
}

export const sameRoles = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((r, i) => r === b[i]);

/**
 * AddOrgMember (command/org_member.go): roles must all be configured ORG_* roles, or all be
 * SELF_MANAGEMENT_GLOBAL; the user may belong to any org of the instance. Beyond ZITADEL, the roles
 * must be ones the org offers (SELF_MANAGEMENT_GLOBAL in the default org only), and the caller must
 * hold every permission they give (the privilege ceiling).
 */
export function addOrgMember(deps: Deps, caller: Caller, userId: string, roles: string[]) {
  return runCommand(deps, caller.userId, async (load) => {
    const org = await load("org", caller.orgId);
    if (!org.exists) throw preconditionFailed("COMMAND-QXPGs", "Organisation not found");
    if (!userId || roles.length === 0) throw invalidArgument("ORG-4Mlfs", "Errors.Invalid.Argument");
    if (!areOrgRoles(roles) && !roles.every((r) => r === SELF_MANAGEMENT_GLOBAL)) throw invalidArgument("Org-4N8es", "Errors.Org.MemberInvalid");
    if (!areOfferedOrgRoles(roles, await isDefaultOrg(deps, org.id))) throw invalidArgument("Org-4N8es", "Errors.Org.MemberInvalid");
    if (!(await memberCandidateExists(load, userId))) throw preconditionFailed("ORG-GoXOn", "User could not be found");
    if (org.members.has(userId)) throw alreadyExists("ORG-poWwe", "Errors.Org.Member.AlreadyExists");
    await requireMayChangeMembership(deps, load, caller, { type: "org", id: org.id }, userId, undefined, roles);
    return {
      events: [newOrgMemberAddedEvent(org.id, userId, roles)],
      uniques: [memberClaim(org.id, userId, "add")],
      result: (stored) => createdDetails(lastOf(stored)),
    };
  });
}

/**
 * UpdateOrgMember: a full replacement of the roles; the same list in the same order writes nothing.
 * ORG_* roles only, as ZITADEL's ChangeOrgMember (never SELF_MANAGEMENT_GLOBAL, so never more than
 * any org offers); the caller must cover the member's roles before and after (the privilege ceiling).
 */
export function updateOrgMember(deps: Deps, caller: Caller, userId: string, roles: string[]) {
  return runCommand(deps, caller.userId, async (load) => {
    if (!userId || roles.length === 0) throw invalidArgument("Org-LiaZi", "Errors.Org.MemberInvalid");
    if (!areOrgRoles(roles)) throw invalidArgument("INST-m9fG8", "Errors.Org.MemberInvalid");
    const org = await load("org", caller.orgId);
    const member = org.members.get(userId);
    if (!member) throw notFound("Org-D8JxR", "Errors.NotFound");
    if (sameRoles(member.roles, roles)) return { events: [], result: () => unchangedMemberDetails(org, userId, org.id) };
    await requireMayChangeMembership(deps, load, caller, { type: "org", id: org.id }, userId, member.roles, roles);
    return { events: [newOrgMemberChangedEvent(org.id, userId, roles)], result: (stored) => changedDetails(lastOf(stored)) };
  });
}

/** RemoveOrgMember: removing a non-member succeeds and writes nothing (ZITADEL's behaviour). */
export function removeOrgMember(deps: Deps, caller: Caller, userId: string) {
  return runCommand(deps, caller.userId, async (load) => {
    if (!userId) throw invalidArgument("Org-LiaZi", "Errors.Org.MemberInvalid");
    const org = await load("org", caller.orgId);
    const member = org.members.get(userId);
    if (!member) return { events: [], result: () => unchangedMemberDetails(org, userId, org.id) };
    await requireMayChangeMembership(deps, load, caller, { type: "org", id: org.id }, userId, member.roles, undefined);
    return {
      events: [newOrgMemberRemovedEvent(org.id, userId)],
      uniques: [memberClaim(org.id, userId, "remove")],
      result: (stored) => changedDetails(lastOf(stored)),
    };
  });
}
