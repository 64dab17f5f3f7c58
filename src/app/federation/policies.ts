import { importJwks, isFederationAlgorithm } from "../../crypto/jwks.js";
import { invalidArgument, notFound, preconditionFailed } from "../../domain/errors.js";
import type { NewEvent } from "../../domain/events.js";
import { newBindingAddedEvent, newBindingRemovedEvent, newPolicyAddedEvent, newPolicyChangedEvent, newPolicyRemovedEvent, type PolicyPayload } from "../../domain/federation/events.js";
import type { PolicyState } from "../../domain/federation/policy.js";
import { MAX_BINDINGS_PER_MACHINE, checkBindingShape, checkPolicy, issuerClaim } from "../../domain/federation/rules.js";
import { isMachineInOrg } from "../../domain/users/rules.js";
import type { FederationBindingRow, FederationPolicyRow } from "../../store/read-models/index.js";
import { runCommand, type Loader } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";
import { changedDetails, createdDetails, lastOf, type Details } from "../core/details.js";
import { listMeta, type ListMeta } from "../core/list-page.js";
import { requireMayActOn } from "../orgs/privilege-ceiling.js";
import { compileCondition, loadCel } from "./condition.js";

/**
 * Trust policies (the federation_policy aggregate, one per issuer in an org) and the bindings of
 * machines to them (events on the machine's user aggregate), for any API edge. Removing a policy
 * removes its bindings in the same push (so the tokens they obtained end at once, authn.ts).
 */

export type PolicyInput = Omit<PolicyPayload, "jwks"> & { jwks: string };

/** The checks that need crypto or the CEL compiler, after the pure rules (domain/federation/rules.ts). */
export function validatePolicy(deps: Deps, p: PolicyInput): PolicyPayload {
  const policy: PolicyPayload = { ...p, name: p.name.trim(), algorithms: [...new Set(p.algorithms)] };
  checkPolicy(policy, deps.config.federation.allowHttpLoopback);
  for (const a of policy.algorithms) if (!isFederationAlgorithm(a)) throw invalidArgument("FED-alg", `algorithm ${String(a).slice(0, 20)} is not allowed: asymmetric algorithms only (RS*, PS*, ES*, EdDSA)`);
  if (policy.jwks) {
    let doc: unknown;
    try {
      doc = JSON.parse(policy.jwks);
    } catch {
      throw invalidArgument("FED-jwks", "jwks is not JSON");
    }
    const imported = importJwks(doc);
    if ("error" in imported) throw invalidArgument("FED-jwks", `jwks: ${imported.error}`);
    if (imported.keys.length === 0) throw invalidArgument("FED-jwks", `jwks holds no usable public signing key${imported.skipped.length ? ` (${imported.skipped.join("; ")})` : ""}`);
    policy.jwks = JSON.stringify(doc);
  }
  return policy;
}

/** The policy of the caller's org, or NotFound. */
async function policyOf(load: Loader, caller: Caller, policyId: string): Promise<PolicyState> {
  const p = await load("federation_policy", policyId);
  if (!p.exists || p.orgId !== caller.orgId) throw notFound("FED-policy-nf", "Trust policy not found");
  return p;
}

export async function addPolicy(deps: Deps, caller: Caller, input: PolicyInput): Promise<{ policyId: string; details: Details }> {
  const policy = validatePolicy(deps, input);
  const policyId = deps.newId();
  return runCommand(deps, caller.userId, async (load) => {
    const org = await load("org", caller.orgId);
    if (!org.exists) throw notFound("FED-org-nf", "Organisation not found");
    return {
      events: [newPolicyAddedEvent(policyId, caller.orgId, policy)],
      uniques: [issuerClaim(caller.orgId, policy.issuer, "add")],
      result: (s) => ({ policyId, details: createdDetails(lastOf(s)) }),
    };
  });
}

/** Replaces the policy's settings; the same settings again write nothing. */
export async function updatePolicy(deps: Deps, caller: Caller, policyId: string, input: PolicyInput): Promise<Details> {
  const policy = validatePolicy(deps, input);
  return runCommand<Details>(deps, caller.userId, async (load) => {
    const p = await policyOf(load, caller, policyId);
    const current: PolicyPayload = {
      name: p.name,
      issuer: p.issuer,
      jwksUri: p.jwksUri,
      jwks: p.jwks,
      audiences: p.audiences,
      algorithms: p.algorithms,
      maxTokenAgeSeconds: p.maxTokenAgeSeconds,
      requiredClaims: p.requiredClaims,
      requireJti: p.requireJti,
    };
    if (JSON.stringify(current) === JSON.stringify(policy))
      return { events: [], result: () => ({ sequence: p.sequence, changeDate: p.changedAt, resourceOwner: p.orgId }) };
    const uniques = policy.issuer === p.issuer ? [] : [issuerClaim(p.orgId, p.issuer, "remove"), issuerClaim(p.orgId, policy.issuer, "add")];
    return { events: [newPolicyChangedEvent(policyId, p.orgId, policy)], uniques, result: (s) => changedDetails(lastOf(s)) };
  });
}

/** Removes the policy and, in the same push, every binding to it (federation.binding.removed on each machine). */
export async function removePolicy(deps: Deps, caller: Caller, policyId: string): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    const p = await policyOf(load, caller, policyId);
    const cascade: NewEvent[] = [];
    for (const b of await deps.reads.federation.bindingsOfPolicies(deps.instanceId, [policyId])) {
      const u = await load("user", b.userId);
      if (u.bindings.has(b.id)) cascade.push(newBindingRemovedEvent(u, b.id, policyId));
    }
    return {
      events: [newPolicyRemovedEvent(policyId, p.orgId, p.issuer), ...cascade],
      uniques: [issuerClaim(p.orgId, p.issuer, "remove")],
      result: (s) => changedDetails(s[0]!),
    };
  });
}

export async function getPolicy(deps: Deps, caller: Caller, policyId: string): Promise<FederationPolicyRow> {
  const row = (await deps.reads.federation.policiesOfOrg(deps.instanceId, caller.orgId)).find((r) => r.id === policyId);
  if (!row) throw notFound("FED-policy-nf", "Trust policy not found");
  return row;
}

export async function listPolicies(deps: Deps, caller: Caller): Promise<{ items: FederationPolicyRow[]; meta: ListMeta }> {
  const items = await deps.reads.federation.policiesOfOrg(deps.instanceId, caller.orgId);
  return { items, meta: await listMeta(deps, items.length) };
}

export interface BindingInput {
  userId: string;
  policyId: string;
  subject: string;
  condition: string;
  description: string;
}

/** A binding of a machine of the caller's org to a policy of the same org: an exact subject or a condition that compiles. */
export async function addBinding(deps: Deps, caller: Caller, input: BindingInput): Promise<{ bindingId: string; details: Details }> {
  const subject = input.subject;
  const condition = input.condition.trim();
  const description = input.description.trim();
  checkBindingShape(subject, condition, description);
  if (condition) {
    await loadCel();
    const c = compileCondition(condition);
    if (!c.ok) throw invalidArgument("FED-condition", `condition: ${c.error}`);
  }
  const bindingId = deps.newId();
  return runCommand(deps, caller.userId, async (load) => {
    const u = await load("user", input.userId);
    if (!isMachineInOrg(u, caller)) throw notFound("FED-user-nf", "User could not be found (a binding needs a machine user of the organization)");
    await requireMayActOn(deps, load, caller, u.id);
    await policyOf(load, caller, input.policyId);
    if (u.bindings.size >= MAX_BINDINGS_PER_MACHINE) throw preconditionFailed("FED-bindings-max", `A machine holds at most ${MAX_BINDINGS_PER_MACHINE} bindings`);
    return {
      events: [newBindingAddedEvent(u, { bindingId, policyId: input.policyId, subject, condition, description })],
      result: (s) => ({ bindingId, details: createdDetails(lastOf(s)) }),
    };
  });
}

export async function removeBinding(deps: Deps, caller: Caller, userId: string, bindingId: string): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    const u = await load("user", userId);
    if (!isMachineInOrg(u, caller)) throw notFound("FED-user-nf", "User could not be found");
    await requireMayActOn(deps, load, caller, u.id);
    const b = u.bindings.get(bindingId);
    if (!b) throw notFound("FED-binding-nf", "Binding not found");
    return { events: [newBindingRemovedEvent(u, bindingId, b.policyId)], result: (s) => changedDetails(lastOf(s)) };
  });
}

export async function listBindings(deps: Deps, caller: Caller, userId: string): Promise<{ items: FederationBindingRow[]; meta: ListMeta }> {
  const u = await deps.cache.get(deps.instanceId, "user", userId);
  if (!isMachineInOrg(u, caller)) throw notFound("FED-user-nf", "User could not be found");
  const items = await deps.reads.federation.bindingsOfUser(deps.instanceId, caller.orgId, userId);
  return { items, meta: await listMeta(deps, items.length) };
}
export type { FederationBindingRow, FederationPolicyRow };
