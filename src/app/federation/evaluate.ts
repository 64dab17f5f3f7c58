import { parseExternalJwt, verifyExternalJwt, type KeySource } from "../../crypto/external-jwt.js";
import type { Acceptance, Evaluation, FederationBinding, Refusal, TrustPolicy } from "../../domain/federation/types.js";
import { celLoaded, claimsInput, compileConditionCached, evaluateCondition, loadCel } from "./condition.js";

/**
 * Which trust policy and binding accept an external token, or precisely why none does: what the
 * three grants use to pick the machine user, and what the dry run shows. Pure logic over the
 * candidates the caller loaded (no store access) and a KeySource.
 *
 * 1. The token is split and parsed without trusting it (malformed → one refusal).
 * 2. The policies whose `issuer` equals its `iss` exactly are tried, in id order (none →
 *    issuer_unknown). Each verifies it on its own terms (crypto/external-jwt.ts: algorithm, exp,
 *    nbf, iat, age, audience, required claims, key, signature); a failure is one refusal naming it.
 * 3. For each policy that verified it, its bindings (of the policy's org; of `opts.userId` when
 *    given) are tried: `subject` (if set) must equal `sub` exactly, and `condition` (if set) must be
 *    true; each binding that does not accept it is one refusal (subject_mismatch, condition_false,
 *    condition_error). A policy without bindings to try is no_binding.
 * 4. Every candidate is tried, so the refusals say why each one did not accept. Among the accepting
 *    bindings the choice is deterministic: exact-subject bindings before condition-only ones, then
 *    by policy id, then by binding id. If accepting bindings name more than one user (possible
 *    without `opts.userId`: several orgs trust the same issuer), nothing is accepted (`ambiguous`):
 *    a token must never log in as whichever machine happens to sort first. Pass `userId` whenever
 *    the request names the machine.
 *
 * `now` is in milliseconds since the epoch (deps.clock().getTime()).
 */

export type FederationCandidates = { policies: TrustPolicy[]; bindings: FederationBinding[] };

const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

type Match = { policy: TrustPolicy; binding: FederationBinding };

/**
 * Main-thread time the conditions of one policy's bindings may take for one token. One evaluation
 * is bounded (condition.ts: tens of ms at worst), but not the number of bindings: an org admin could
 * attach a hundred costly conditions to an issuer they control and stall the whole server with each
 * token. Past the budget, that policy's conditions not yet run refuse (condition_error) instead of
 * running. Per policy (a policy is one org's), so one org's conditions cannot use up another's time;
 * identical conditions run once per token.
 */
export const CONDITION_BUDGET_MS = 50;

type ConditionResult = ReturnType<typeof evaluateCondition>;

/** What the current policy's conditions have cost so far for this token, and every result by source text. */
interface ConditionRuns {
  spentMs: number;
  results: Map<string, ConditionResult>;
}

/** Why the binding does not accept these (verified) claims, or undefined when it does. */
function bindingRefusal(binding: FederationBinding, sub: string, input: () => Map<string, unknown> | string, runs: ConditionRuns): Refusal | undefined {
  const refuse = (reason: Refusal["reason"], detail: string): Refusal => ({ reason, detail, policyId: binding.policyId, bindingId: binding.id });
  if (binding.subject === undefined && binding.condition === undefined) return refuse("no_binding", "the binding names neither a subject nor a condition");
  if (binding.subject !== undefined && binding.subject !== sub) return refuse("subject_mismatch", `sub is not ${JSON.stringify(binding.subject)}`);
  if (binding.condition !== undefined) {
    let r = runs.results.get(binding.condition);
    if (r === undefined) {
      const compiled = compileConditionCached(binding.condition);
      if (!compiled.ok) return refuse("condition_error", `the condition does not compile: ${compiled.error}`);
      const claimsMap = input();
      if (typeof claimsMap === "string") return refuse("condition_error", claimsMap);
      if (runs.spentMs >= CONDITION_BUDGET_MS) return refuse("condition_error", `not evaluated: this policy's conditions already took ${CONDITION_BUDGET_MS} ms for this token`);
      const started = performance.now();
      r = evaluateCondition(compiled.condition, claimsMap);
      runs.spentMs += performance.now() - started;
      runs.results.set(binding.condition, r);
    }
    if (!r.ok) return refuse("condition_error", r.error);
    if (!r.value) return refuse("condition_false", `the condition is false: ${binding.condition}`);
  }
  return undefined;
}

export async function evaluateFederatedToken(
  token: string,
  candidates: FederationCandidates,
  keys: KeySource,
  now: number,
  opts: { userId?: string } = {},
): Promise<Evaluation> {
  if (!celLoaded() && candidates.bindings.some((b) => b.condition !== undefined)) await loadCel();
  const jwt = parseExternalJwt(token);
  if ("reason" in jwt) return { ok: false, refusals: [jwt] };
  if (jwt.iss === undefined) return { ok: false, refusals: [{ reason: "malformed", detail: "the token has no iss" }] };

  const policies = candidates.policies.filter((p) => p.issuer === jwt.iss).sort(byId);
  if (policies.length === 0) return { ok: false, refusals: [{ reason: "issuer_unknown", detail: `no trust policy for issuer ${JSON.stringify(jwt.iss)}` }] };

  const refusals: Refusal[] = [];
  const matches: Match[] = [];
  const runs: ConditionRuns = { spentMs: 0, results: new Map() };
  let accepted: Omit<Acceptance, "policy" | "binding"> | undefined;
  for (const policy of policies) {
    const v = await verifyExternalJwt(jwt, policy, keys, now / 1000);
    if (!v.ok) {
      refusals.push({ reason: v.reason, detail: v.detail, policyId: policy.id });
      continue;
    }
    accepted = { claims: v.claims, exp: v.exp, subject: v.subject, ...(v.jti !== undefined ? { jti: v.jti } : {}) };
    const bindings = candidates.bindings
      .filter((b) => b.policyId === policy.id && b.orgId === policy.orgId && (opts.userId === undefined || b.userId === opts.userId))
      .sort(byId);
    if (bindings.length === 0) {
      refusals.push({ reason: "no_binding", detail: opts.userId !== undefined ? "the policy has no binding for this user" : "the policy has no binding", policyId: policy.id });
      continue;
    }
    let input: Map<string, unknown> | string | undefined;
    const lazyInput = () => (input ??= claimsInput(v.claims));
    runs.spentMs = 0;
    for (const binding of bindings) {
      const r = bindingRefusal(binding, v.subject, lazyInput, runs);
      if (r) refusals.push(r);
      else matches.push({ policy, binding });
    }
  }

  if (matches.length === 0 || !accepted) return { ok: false, refusals };
  const users = [...new Set(matches.map((m) => m.binding.userId))];
  if (users.length > 1) {
    const ids = matches.map((m) => `${m.policy.id}/${m.binding.id}`).join(", ");
    // First: it is the reason the token is refused, the others only say which bindings did not match.
    return { ok: false, refusals: [{ reason: "ambiguous", detail: `bindings of ${users.length} users accept the token (${ids}); name the user` }, ...refusals] };
  }
  const rank = (m: Match) => (m.binding.subject !== undefined ? 0 : 1);
  matches.sort((a, b) => rank(a) - rank(b) || byId(a.policy, b.policy) || byId(a.binding, b.binding));
  const chosen = matches[0]!;
  return { ok: true, accepted: { ...accepted, policy: chosen.policy, binding: chosen.binding }, trace: refusals };
}
