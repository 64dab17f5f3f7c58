import { invalidArgument, notFound } from "../../domain/errors.js";
import { newCredentialPolicySetEvent, type CredentialPolicyPayload } from "../../domain/orgs/events.js";
import { runCommand } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";
import { changedDetails, lastOf, type Details } from "../core/details.js";

/**
 * An organization's credential policy: the longest lifetime of new secrets, machine keys and PATs
 * (seconds, 0 = no limit), enforced when they are created (domain/credentials/lifetime.ts). It does
 * not shorten credentials that exist already.
 */
export type CredentialPolicy = CredentialPolicyPayload;

/** At most 100 years: beyond, a Timestamp cannot hold the expiration. */
const MAX_LIFETIME = 100 * 365 * 86400;

export async function setCredentialPolicy(deps: Deps, caller: Caller, policy: CredentialPolicy): Promise<Details> {
  for (const v of [policy.maxSecretLifetime, policy.maxKeyLifetime, policy.maxPatLifetime])
    if (!Number.isSafeInteger(v) || v < 0 || v > MAX_LIFETIME) throw invalidArgument("PORT-policy-invalid", `Lifetimes are whole seconds from 0 (no limit) to ${MAX_LIFETIME}`);
  return runCommand<Details>(deps, caller.userId, async (load) => {
    const org = await load("org", caller.orgId);
    if (!org.exists) throw notFound("PORT-policy-org", "Organisation not found");
    const p = org.credentialPolicy;
    if (p.maxSecretLifetime === policy.maxSecretLifetime && p.maxKeyLifetime === policy.maxKeyLifetime && p.maxPatLifetime === policy.maxPatLifetime && org.credentialPolicyChange)
      return { events: [], result: () => ({ sequence: org.credentialPolicyChange!.sequence, changeDate: org.credentialPolicyChange!.at, resourceOwner: org.id }) };
    return { events: [newCredentialPolicySetEvent(org.id, policy)], result: (s) => changedDetails(lastOf(s)) };
  });
}

export async function getCredentialPolicy(deps: Deps, caller: Caller): Promise<{ policy: CredentialPolicy; details: Details }> {
  const org = await deps.cache.get(deps.instanceId, "org", caller.orgId);
  if (!org.exists) throw notFound("PORT-policy-org", "Organisation not found");
  const at = org.credentialPolicyChange;
  return {
    policy: { ...org.credentialPolicy },
    details: { sequence: at?.sequence ?? org.sequence, changeDate: at?.at ?? org.changedAt, creationDate: at?.at ?? org.createdAt, resourceOwner: org.id },
  };
}
