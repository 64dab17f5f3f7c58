import { invalidArgument, notFound, preconditionFailed } from "../../domain/errors.js";
import type { NewEvent } from "../../domain/events.js";
import { newInstanceMemberCascadeRemovedEvent, newOrgMemberCascadeRemovedEvent } from "../../domain/orgs/events.js";
import { newProjectMemberCascadeRemovedEvent } from "../../domain/projects/events.js";
import { memberClaim } from "../../domain/orgs/members.js";
import {
  newMachineAddedEvent,
  newMachineChangedEvent,
  newMachineSecretRemovedEvent,
  newUserDeactivatedEvent,
  newUserLockedEvent,
  newUserReactivatedEvent,
  newUserRemovedEvent,
  newUserUnlockedEvent,
  newUsernameChangedEvent,
  type MachineChangedPayload,
  type UserRef,
} from "../../domain/users/events.js";
import { userRemovalCascade } from "../projects/cascade.js";
import { checkDisplayName, checkUserId, checkUserName, inOrg, isMachineInOrg, usernameClaim } from "../../domain/users/rules.js";
import { UserStateNum, userExists, type UserState } from "../../domain/users/user.js";
import { runCommand } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";
import { changedDetails, createdDetails, lastOf, type Details } from "../core/details.js";
import { replaceSecrets } from "../credentials/secrets.js";
import { requireMayActOn } from "../orgs/privilege-ceiling.js";

export interface AddMachineInput {
  userName: string;
  name: string;
  description: string;
  accessTokenType: number;
  userId?: string;
}

export function addMachineUser(deps: Deps, caller: Caller, input: AddMachineInput) {
  return runCommand(deps, caller.userId, async (load) => {
    const org = await load("org", caller.orgId);
    if (!org.exists) throw preconditionFailed("COMMAND-QXPGs", "Organisation not found");
    const userName = input.userName.trim();
    const name = input.name.trim();
    if (!userName) throw invalidArgument("COMMAND-bm9Ds", "Userdata is invalid");
    if (!name) throw invalidArgument("COMMAND-bs9Ds", "Userdata is invalid");
    checkUserName(userName);
    checkDisplayName(name);
    if (input.userId !== undefined) checkUserId(input.userId);
    const id = input.userId ?? deps.newId();
    const existing = await load("user", id);
    if (existing.type !== 0) throw preconditionFailed("COMMAND-k2una", "Errors.User.AlreadyExisting");
    const added = newMachineAddedEvent({ id, orgId: caller.orgId }, { userName, name, description: input.description, accessTokenType: input.accessTokenType });
    return {
      events: [added],
      uniques: [usernameClaim(userName, "add")],
      result: (stored) => ({ userId: id, details: changedDetails(lastOf(stored)) }),
    };
  });
}

export interface UpdateMachineInput {
  userId: string;
  name: string;
  description: string;
  accessTokenType: number;
}

/** A full replacement (ZITADEL's UpdateMachine): omitted description clears it, omitted type means BEARER. */
export function updateMachine(deps: Deps, caller: Caller, input: UpdateMachineInput) {
  return runCommand(deps, caller.userId, async (load) => {
    const u = await load("user", input.userId);
    if (!isMachineInOrg(u, caller)) throw notFound("COMMAND-5M0od", "User could not be found");
    await requireMayActOn(deps, load, caller, u.id);
    const changed: MachineChangedPayload = {};
    if (u.name !== input.name) {
      checkDisplayName(input.name);
      changed.name = input.name;
    }
    if (u.description !== input.description) changed.description = input.description;
    if (u.accessTokenType !== input.accessTokenType) changed.accessTokenType = input.accessTokenType;
    if (Object.keys(changed).length === 0) throw preconditionFailed("COMMAND-2n8vs", "Errors.User.NotChanged");
    return { events: [newMachineChangedEvent(u, changed)], result: (s) => changedDetails(lastOf(s)) };
  });
}

export interface GeneratedSecret {
  clientId: string;
  clientSecret: string;
  details: Details;
}

/**
 * GenerateMachineSecret: a new secret replaces all of the machine's secrets (ZITADEL's meaning over a
 * set); only its keyed hash is stored. Its format follows credentials.secretFormat.
 */
export async function generateMachineSecret(deps: Deps, caller: Caller, userId: string): Promise<GeneratedSecret> {
  // ZITADEL looks the user up in the projection first (404s), then runs the command (400s).
  const found = await deps.cache.get(deps.instanceId, "user", userId);
  if (!userExists(found)) throw notFound("QUERY-Dfbg2", "User could not be found");
  if (found.orgId !== caller.orgId) throw notFound("MANAG-fpo4B", "User could not be found");
  return runCommand(deps, caller.userId, async (load) => {
    const u = await load("user", userId);
    if (!isMachineInOrg(u, caller)) throw preconditionFailed("COMMAND-x8910n", "Errors.User.NotExisting");
    await requireMayActOn(deps, load, caller, u.id);
    const { event, clientSecret } = await replaceSecrets(deps, load, u);
    return { events: [event], result: (s) => ({ clientId: u.userName, clientSecret, details: createdDetails(lastOf(s)) }) };
  });
}

/** RemoveMachineSecret: every secret of the machine goes ("has no secret" afterwards); refused when it has none. */
export function removeMachineSecret(deps: Deps, caller: Caller, userId: string) {
  return runCommand(deps, caller.userId, async (load) => {
    const u = await load("user", userId);
    if (!isMachineInOrg(u, caller)) throw preconditionFailed("COMMAND-x7s802", "Errors.User.NotExisting");
    await requireMayActOn(deps, load, caller, u.id);
    if (u.secrets.size === 0) throw preconditionFailed("COMMAND-coi82n", "Secret doesn't exist");
    return { events: [newMachineSecretRemovedEvent(u)], result: (s) => changedDetails(lastOf(s)) };
  });
}

type StateTransition = {
  event: (u: UserRef) => NewEvent;
  notFoundId: string;
  check: (u: UserState) => void;
};

const transitions = {
  deactivate: {
    event: newUserDeactivatedEvent,
    notFoundId: "COMMAND-3M9ds",
    check: (u) => {
      if (u.state === UserStateNum.initial) throw notFound("COMMAND-ke0fw", "User with state initial can only be deleted not deactivated");
      if (u.state === UserStateNum.inactive) throw preconditionFailed("COMMAND-5M0sf", "User already inactive");
    },
  },
  reactivate: {
    event: newUserReactivatedEvent,
    notFoundId: "COMMAND-4M0sd",
    check: (u) => {
      if (u.state !== UserStateNum.inactive) throw preconditionFailed("COMMAND-6M0sf", "User is not inactive");
    },
  },
  lock: {
    event: newUserLockedEvent,
    notFoundId: "COMMAND-5M9fs",
    check: (u) => {
      if (u.state !== UserStateNum.active && u.state !== UserStateNum.initial) throw preconditionFailed("COMMAND-3NN8v", "User is not active or initial");
    },
  },
  unlock: {
    event: newUserUnlockedEvent,
    notFoundId: "COMMAND-M0dos",
    check: (u) => {
      if (u.state !== UserStateNum.locked) throw preconditionFailed("COMMAND-4M0ds", "User is not locked");
    },
  },
} satisfies Record<string, StateTransition>;

export function changeUserState(deps: Deps, caller: Caller, userId: string, action: keyof typeof transitions) {
  const t: StateTransition = transitions[action];
  return runCommand(deps, caller.userId, async (load) => {
    const u = await load("user", userId);
    if (!inOrg(u, caller)) throw notFound(t.notFoundId, "User could not be found");
    await requireMayActOn(deps, load, caller, u.id);
    t.check(u);
    return { events: [t.event(u)], result: (s) => changedDetails(lastOf(s)) };
  });
}

export function updateUserName(deps: Deps, caller: Caller, userId: string, newName: string) {
  return runCommand(deps, caller.userId, async (load) => {
    const userName = newName.trim();
    if (!userName) throw invalidArgument("COMMAND-2N9fs", "ID missing");
    checkUserName(userName);
    const u = await load("user", userId);
    if (!inOrg(u, caller)) throw notFound("COMMAND-5N9ds", "User could not be found");
    await requireMayActOn(deps, load, caller, u.id);
    if (u.userName === userName) throw preconditionFailed("COMMAND-6m9gs", "Username not changed");
    const uniques =
      u.userName.toLowerCase() === userName.toLowerCase() ? [] : [usernameClaim(u.userName, "remove"), usernameClaim(userName, "add")];
    return { events: [newUsernameChangedEvent(u, userName)], uniques, result: (s) => changedDetails(lastOf(s)) };
  });
}

/** RemoveUser: the user and its credentials end at once; its memberships are removed in the same transaction. */
export function removeUser(deps: Deps, caller: Caller, userId: string) {
  return runCommand(deps, caller.userId, async (load) => {
    const u = await load("user", userId);
    if (!inOrg(u, caller)) throw notFound("COMMAND-m9od", "User could not be found");
    await requireMayActOn(deps, load, caller, u.id);
    const events: NewEvent[] = [newUserRemovedEvent(u)];
    const memberships = await deps.reads.members.scopesOfUser(deps.instanceId, userId);
    for (const m of memberships) {
      // Loading records the sequence, so a concurrent membership change makes this command retry.
      if (m.type === "org") {
        await load("org", m.id);
        events.push(newOrgMemberCascadeRemovedEvent(m.id, userId));
      } else if (m.type === "project") {
        const project = await load("project", m.id);
        events.push(newProjectMemberCascadeRemovedEvent(project.id, project.orgId, userId));
      } else {
        await load("instance", m.id);
        events.push(newInstanceMemberCascadeRemovedEvent(m.id, userId));
      }
    }
    // Its user grants go in the same push (user.grant.cascade.removed, as ZITADEL's RemoveUser).
    const grants = await userRemovalCascade(deps, load, userId);
    events.push(...grants.events);
    return {
      events,
      uniques: [usernameClaim(u.userName, "remove"), ...memberships.map((m) => memberClaim(m.id, userId, "remove")), ...grants.uniques],
      result: (s) => changedDetails(s[0]!),
    };
  });
}

