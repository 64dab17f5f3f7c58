import { applyPreset, type PresetInput } from "../../domain/federation/presets.js";
import { newBindingAddedEvent, newPolicyAddedEvent } from "../../domain/federation/events.js";
import { checkBindingShape, issuerClaim } from "../../domain/federation/rules.js";
import type { Evaluation } from "../../domain/federation/types.js";
import { notFound } from "../../domain/errors.js";
import type { NewEvent } from "../../domain/events.js";
import { isMachineInOrg } from "../../domain/users/rules.js";
import { runCommand } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";
import { createdDetails, type Details } from "../core/details.js";
import { requireMayActOn } from "../orgs/privilege-ceiling.js";
import { candidatesFor, evaluate, issuerOf } from "./accept.js";
import { validatePolicy } from "./policies.js";

/**
 * DryRunFederation: which of the caller org's policies and bindings (of `userId` only, when given)
 * would accept the token, or each refusal. Issues nothing and spends nothing (the jti stays unused).
 */
export async function dryRun(deps: Deps, caller: Caller, token: string, userId: string | undefined): Promise<Evaluation> {
  if (userId) {
    const u = await deps.cache.get(deps.instanceId, "user", userId);
    if (!isMachineInOrg(u, caller)) throw notFound("FED-user-nf", "User could not be found");
  }
  const issuer = issuerOf(token);
  if (issuer === undefined) return { ok: false, refusals: [{ reason: "malformed", detail: "not a compact JWS with an iss claim" }] };
  const c = await candidatesFor(deps, issuer, { orgId: caller.orgId, ...(userId ? { userId } : {}) });
  if (!c) return { ok: false, refusals: [{ reason: "issuer_unknown", detail: "no trust policy of the organization names the token's issuer" }] };
  return evaluate(deps, token, c);
}

/**
 * AddTrustPolicyFromPreset: the preset's policy (domain/federation/presets.ts) and, with `userId`,
 * its binding for that machine, in one push.
 */
export async function addPolicyFromPreset(
  deps: Deps,
  caller: Caller,
  preset: PresetInput,
  opts: { userId?: string; name?: string },
): Promise<{ policyId: string; bindingId: string; details: Details; policy: ReturnType<typeof validatePolicy> }> {
  const { policy: p, binding } = applyPreset(preset);
  const policy = validatePolicy(deps, {
    name: opts.name || p.name,
    issuer: p.issuer,
    jwksUri: p.jwksUri ?? "",
    jwks: p.jwks ? JSON.stringify(p.jwks) : "",
    audiences: p.audiences,
    algorithms: p.algorithms,
    maxTokenAgeSeconds: p.maxTokenAgeSeconds ?? 0,
    requiredClaims: p.requiredClaims,
    requireJti: false,
  });
  const policyId = deps.newId();
  const bindingId = opts.userId ? deps.newId() : "";
  const subject = binding.subject ?? "";
  const condition = binding.condition ?? "";
  if (opts.userId) checkBindingShape(subject, condition, "");
  return runCommand(deps, caller.userId, async (load) => {
    const org = await load("org", caller.orgId);
    if (!org.exists) throw notFound("FED-org-nf", "Organisation not found");
    const events: NewEvent[] = [newPolicyAddedEvent(policyId, caller.orgId, policy)];
    if (opts.userId) {
      const u = await load("user", opts.userId);
      if (!isMachineInOrg(u, caller)) throw notFound("FED-user-nf", "User could not be found (a binding needs a machine user of the organization)");
      await requireMayActOn(deps, load, caller, u.id);
      events.push(newBindingAddedEvent(u, { bindingId, policyId, subject, condition, description: `preset ${preset.kind}` }));
    }
    return {
      events,
      uniques: [issuerClaim(caller.orgId, policy.issuer, "add")],
      result: (s) => ({ policyId, bindingId, details: createdDetails(s[0]!), policy }),
    };
  });
}
