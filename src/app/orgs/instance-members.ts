import { alreadyExists, invalidArgument, notFound, preconditionFailed } from "../../domain/errors.js";
import type { UniqueClaim } from "../../domain/events.js";
import { newInstanceMemberAddedEvent, newInstanceMemberChangedEvent, newInstanceMemberRemovedEvent } from "../../domain/orgs/events.js";
import { memberClaim } from "../../domain/orgs/members.js";
import { areIamRoles } from "../../domain/orgs/roles.js";
import { runCommand } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";
import { changedDetails, createdDetails, lastOf } from "../core/details.js";
import { memberCandidateExists, sameRoles, unchangedMemberDetails } from "./org-members.js";
import { requireMayChangeMembership } from "./privilege-ceiling.js";

/**
 * Instance (IAM) members, ZITADEL's command/instance_member.go behind the admin API's
 * Add/Update/RemoveIAMMember. The membership lives on the instance aggregate and applies to every org.
 */

/** The same `member` claim as org members and bootstrap, with the instance's error should two adds race. */
const instanceMemberClaim = (instanceId: string, userId: string, action: "add" | "remove"): UniqueClaim => ({
  ...memberClaim(instanceId, userId, action),
  error: { kind: "AlreadyExists", id: "INSTA-pFDwe", message: "Errors.Instance.Member.AlreadyExists" },
});

/** AddIAMMember. Like ZITADEL, an empty role list is accepted (CheckForInvalidRoles finds nothing invalid). */
export function addInstanceMember(deps: Deps, caller: Caller, userId: string, roles: string[]) {
  return runCommand(deps, caller.userId, async (load) => {
    if (!userId) throw invalidArgument("INSTA-SDSfs", "Errors.Invalid.Argument");
    if (!areIamRoles(roles)) throw invalidArgument("INSTANCE-4m0fS", "Errors.IAM.MemberInvalid");
    if (!(await memberCandidateExists(load, userId))) throw preconditionFailed("INSTA-GSXOn", "User could not be found");
    const instance = await load("instance", deps.instanceId);
    if (instance.members.has(userId)) throw alreadyExists("INSTA-pFDwe", "Errors.Instance.Member.AlreadyExists");
    await requireMayChangeMembership(deps, load, caller, { type: "instance" }, userId, undefined, roles);
    return {
      events: [newInstanceMemberAddedEvent(instance.id, userId, roles)],
      uniques: [instanceMemberClaim(instance.id, userId, "add")],
      result: (stored) => createdDetails(lastOf(stored)),
    };
  });
}

export function updateInstanceMember(deps: Deps, caller: Caller, userId: string, roles: string[]) {
  return runCommand(deps, caller.userId, async (load) => {
    if (!userId || roles.length === 0) throw invalidArgument("INSTANCE-LiaZi", "Errors.IAM.MemberInvalid");
    if (!areIamRoles(roles)) throw invalidArgument("INSTANCE-3m9fs", "Errors.IAM.MemberInvalid");
    const instance = await load("instance", deps.instanceId);
    const member = instance.members.get(userId);
    if (!member) throw notFound("INSTANCE-D8JxR", "Errors.NotFound");
    if (sameRoles(member.roles, roles)) return { events: [], result: () => unchangedMemberDetails(instance, userId, instance.id) };
    await requireMayChangeMembership(deps, load, caller, { type: "instance" }, userId, member.roles, roles);
    return {
      events: [newInstanceMemberChangedEvent(instance.id, userId, roles)],
      result: (stored) => changedDetails(lastOf(stored)),
    };
  });
}

/** RemoveIAMMember: a non-member is a success without an event, as for org members. */
export function removeInstanceMember(deps: Deps, caller: Caller, userId: string) {
  return runCommand(deps, caller.userId, async (load) => {
    if (!userId) throw invalidArgument("INSTANCE-LiaZi", "ID missing");
    const instance = await load("instance", deps.instanceId);
    const member = instance.members.get(userId);
    if (!member) return { events: [], result: () => unchangedMemberDetails(instance, userId, instance.id) };
    await requireMayChangeMembership(deps, load, caller, { type: "instance" }, userId, member.roles, undefined);
    return {
      events: [newInstanceMemberRemovedEvent(instance.id, userId)],
      uniques: [instanceMemberClaim(instance.id, userId, "remove")],
      result: (stored) => changedDetails(lastOf(stored)),
    };
  });
}
