import { alreadyExists, invalidArgument, notFound, preconditionFailed } from "../../domain/errors.js";
import type { NewEvent, UniqueClaim } from "../../domain/events.js";
import {
  newDomainAddedEvent,
  newDomainPrimarySetEvent,
  newDomainRemovedEvent,
  newDomainVerifiedEvent,
  newOrgAddedEvent,
  newOrgChangedEvent,
  newOrgDeactivatedEvent,
  newOrgMemberAddedEvent,
  newOrgReactivatedEvent,
  newOrgRemovedEvent,
} from "../../domain/orgs/events.js";
import { memberClaim } from "../../domain/orgs/members.js";
import { OrgStateNum, orgDomainFromName } from "../../domain/orgs/org.js";
import { areOrgRoles } from "../../domain/orgs/roles.js";
import { checkUserId, usernameClaim } from "../../domain/users/rules.js";
import { runCommand } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";
import { changedDetails, createdDetails, lastOf, type Details } from "../core/details.js";
import { memberCandidateExists } from "./org-members.js";

/**
 * Org lifecycle (ZITADEL's command/org.go behind the management API's AddOrg, UpdateOrg,
 * Deactivate/Reactivate/RemoveOrg). Every org has one domain, derived from its name and verified
 * and primary from the start; renaming the org moves that domain with it.
 */

const NAME_TAKEN = { kind: "AlreadyExists" as const, id: "V3-DKcYh", message: "Organisation's name or id already taken" };
const DOMAIN_TAKEN = { kind: "AlreadyExists" as const, id: "V3-DKcYh", message: "Domain already exists" };

/** Same claim type and field as bootstrap's: names are unique per instance, case-insensitively. */
const orgNameClaim = (name: string, action: "add" | "remove"): UniqueClaim => ({ action, type: "org_name", field: name.toLowerCase(), error: NAME_TAKEN });
const orgDomainClaim = (domain: string, action: "add" | "remove"): UniqueClaim => ({ action, type: "org_domain", field: domain.toLowerCase(), error: DOMAIN_TAKEN });

const instanceDomain = (deps: Deps) => new URL(deps.config.externalUrl).hostname;

/** ZITADEL's domain.NewIAMDomainName: a name without a single letter or digit has no domain. */
function defaultDomain(deps: Deps, name: string): string {
  const domain = orgDomainFromName(name, instanceDomain(deps));
  if (domain.startsWith(".")) {
    throw invalidArgument(
      "ORG-RrfXY",
      "Invalid non numeric and alphabetical characters were replaced with empty spaces and resulting domain is an empty string",
    );
  }
  return domain;
}

/**
 * Checked against the orgs that exist before the claims are made, so that a taken name is reported
 * before a taken domain (the order of ZITADEL's constraints); the claims alone decide races. The
 * first org's domain predates domain claims and is only found this way.
 */
async function assertNameFree(deps: Deps, name: string, exceptOrgId = "") {
  if (await deps.reads.orgs.nameTaken(deps.instanceId, name, exceptOrgId)) throw alreadyExists(NAME_TAKEN.id, NAME_TAKEN.message);
}

async function assertDomainFree(deps: Deps, domain: string) {
  if (await deps.reads.orgs.domainTaken(deps.instanceId, domain)) throw alreadyExists(DOMAIN_TAKEN.id, DOMAIN_TAKEN.message);
}

const trimmedName = (name: string) => {
  const n = name.trim();
  if (!n) throw invalidArgument("EVENT-Mf9sd", "Organisation is invalid");
  return n;
};

export interface OrgAdmin {
  userId: string;
  /** Empty: ORG_OWNER (ZITADEL's OrgSetup default). */
  roles: readonly string[];
}

export interface AddOrgOptions {
  /** A caller-chosen id (v2 AddOrganization's org_id); a taken one is refused like a taken name. */
  orgId?: string;
  /** Existing users who become the org's members (v2 AddOrganization's admins); none: the caller becomes ORG_OWNER. */
  admins?: readonly OrgAdmin[];
}

/**
 * AddOrg: a new org whatever the caller's org; the caller becomes its ORG_OWNER in the same
 * transaction, or, when admins are named (v2), those users with their roles. Admins must exist
 * somewhere in the instance (ORG-GoXOn) and hold org roles only.
 */
export function addOrg(deps: Deps, caller: Caller, rawName: string, opts: AddOrgOptions = {}): Promise<{ id: string; details: Details }> {
  const name = trimmedName(rawName);
  const domain = defaultDomain(deps, name);
  if (opts.orgId !== undefined) checkUserId(opts.orgId);
  const id = opts.orgId ?? deps.newId();
  const admins = opts.admins?.length ? opts.admins.map((a) => ({ userId: a.userId, roles: a.roles.length ? [...a.roles] : ["ORG_OWNER"] })) : [{ userId: caller.userId, roles: ["ORG_OWNER"] }];
  for (const a of admins) if (!a.userId || !areOrgRoles(a.roles)) throw invalidArgument("Org-4N8es", "Errors.Org.MemberInvalid");
  return runCommand(deps, caller.userId, async (load) => {
    // A fresh id: loading it makes a (theoretical) collision a concurrency conflict; a chosen one may be taken.
    if ((await load("org", id)).exists) throw alreadyExists(NAME_TAKEN.id, NAME_TAKEN.message);
    await assertNameFree(deps, name);
    await assertDomainFree(deps, domain);
    if (opts.admins?.length)
      for (const a of admins) if (!(await memberCandidateExists(load, a.userId))) throw preconditionFailed("ORG-GoXOn", "User could not be found");
    return {
      events: [
        newOrgAddedEvent(id, name),
        newDomainAddedEvent(id, domain),
        newDomainVerifiedEvent(id, domain),
        newDomainPrimarySetEvent(id, domain),
        ...admins.map((a) => newOrgMemberAddedEvent(id, a.userId, a.roles)),
      ],
      uniques: [orgNameClaim(name, "add"), orgDomainClaim(domain, "add"), ...admins.map((a) => memberClaim(id, a.userId, "add"))],
      result: (stored) => ({ id, details: createdDetails(lastOf(stored)) }),
    };
  });
}

/**
 * UpdateOrg (ChangeOrg + changeDefaultDomain): when the org's primary domain is the one derived from
 * its old name, the domain derived from the new name replaces it.
 * ZITADEL answers with `creationDate` set to the change's time (AddToDetailsPb); so does this.
 */
export function updateOrg(deps: Deps, caller: Caller, rawName: string): Promise<Details> {
  const name = trimmedName(rawName);
  return runCommand(deps, caller.userId, async (load) => {
    const org = await load("org", caller.orgId);
    if (!org.exists) throw notFound("ORG-1MRds", "Organisation not found");
    if (org.name === name) throw preconditionFailed("ORG-4VSdf", "Organisation not changed");
    await assertNameFree(deps, name, org.id);
    const events: NewEvent[] = [newOrgChangedEvent(org.id, name)];
    const uniques: UniqueClaim[] = org.name.toLowerCase() === name.toLowerCase() ? [] : [orgNameClaim(org.name, "remove"), orgNameClaim(name, "add")];
    const oldDomain = orgDomainFromName(org.name, instanceDomain(deps));
    if (oldDomain === org.primaryDomain) {
      const newDomain = defaultDomain(deps, name);
      // Same domain (e.g. only the case changed): ZITADEL would re-add it and fail on its own claim.
      if (newDomain !== oldDomain) {
        await assertDomainFree(deps, newDomain);
        events.push(
          newDomainAddedEvent(org.id, newDomain),
          newDomainVerifiedEvent(org.id, newDomain),
          newDomainPrimarySetEvent(org.id, newDomain),
          newDomainRemovedEvent(org.id, oldDomain, true),
        );
        uniques.push(orgDomainClaim(oldDomain, "remove"), orgDomainClaim(newDomain, "add"));
      }
    }
    return {
      events,
      uniques,
      result: (stored) => {
        const last = lastOf(stored);
        return { sequence: last.sequence, creationDate: last.createdAt, resourceOwner: org.id };
      },
    };
  });
}

export function deactivateOrg(deps: Deps, caller: Caller): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    const org = await load("org", caller.orgId);
    if (!org.exists) throw notFound("ORG-oL9nT", "Organisation not found");
    if (org.state === OrgStateNum.inactive) throw preconditionFailed("EVENT-Dbs2g", "Organisation is already deactivated");
    return { events: [newOrgDeactivatedEvent(org.id)], result: (stored) => changedDetails(lastOf(stored)) };
  });
}

export function reactivateOrg(deps: Deps, caller: Caller): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    const org = await load("org", caller.orgId);
    if (!org.exists) throw notFound("ORG-Dgf3g", "Organisation not found");
    if (org.state === OrgStateNum.active) throw preconditionFailed("EVENT-bfnrh", "Organisation is already active");
    return { events: [newOrgReactivatedEvent(org.id)], result: (stored) => changedDetails(lastOf(stored)) };
  });
}

/**
 * RemoveOrg (prepareRemoveOrg): not the instance's default org. One `org.removed` event releases the
 * org's name, its domain and the usernames of its users (as ZITADEL's event does); the users and
 * their credentials stop working with the org (authn refuses users whose org is not active, and
 * x-zitadel-orgid naming a removed org is AUTH-Bs7Ds).
 * ZITADEL reports the instance as the resource owner of this write; so does this.
 */
export function removeOrg(deps: Deps, caller: Caller): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    const instance = await load("instance", deps.instanceId);
    if (caller.orgId === instance.defaultOrgId) throw preconditionFailed("COMMA-wG9p1", "Default Organisation must not be deleted");
    const org = await load("org", caller.orgId);
    if (!org.exists) throw notFound("COMMA-aps2n", "Organisation not found");
    const userNames = await deps.reads.users.userNamesOfOrg(deps.instanceId, org.id);
    const uniques: UniqueClaim[] = [
      orgNameClaim(org.name, "remove"),
      ...(org.primaryDomain ? [orgDomainClaim(org.primaryDomain, "remove")] : []),
      ...userNames.map((u) => usernameClaim(u, "remove")),
    ];
    return {
      events: [newOrgRemovedEvent(org.id, org.name)],
      uniques,
      result: (stored) => ({ ...changedDetails(lastOf(stored)), resourceOwner: deps.instanceId }),
    };
  });
}
