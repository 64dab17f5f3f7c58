import { decodeJwt } from "../../crypto/jwt.js";
import { trustPolicyOf } from "../../domain/federation/policy.js";
import type { Evaluation, FederationBinding, TrustPolicy } from "../../domain/federation/types.js";
import type { Deps } from "../core/context.js";
import { evaluateFederatedToken } from "./evaluate.js";

/**
 * An external token (a Kubernetes service-account token, a CI OIDC token, a JWT-SVID) checked
 * against the trust policies of its issuer and their bindings (read models), by F2's engine
 * (evaluate.ts, with the process's JWKS key source `deps.federationKeys`). Used by the token
 * endpoint's federated grants and by DryRun; neither logs anything of the token.
 */

export interface Candidates {
  policies: TrustPolicy[];
  bindings: FederationBinding[];
  /** Per policy, whether it refuses tokens without a jti. */
  requireJti: ReadonlySet<string>;
}

/** The unverified `iss` of a compact JWS, if it has one (for routing only; nothing is trusted). */
export function issuerOf(token: string | ReturnType<typeof decodeJwt>): string | undefined {
  const jwt = typeof token === "string" ? decodeJwt(token) : token;
  const iss = jwt?.payload.iss;
  return typeof iss === "string" && iss.length > 0 && iss.length <= 2048 ? iss : undefined;
}

/**
 * The policies for the token's issuer (of one org when `orgId` is given) and their bindings (of one
 * machine when `userId` is given). No policy: undefined, so the caller can try its other ways.
 */
export async function candidatesFor(deps: Deps, issuer: string, scope: { orgId?: string; userId?: string } = {}): Promise<Candidates | undefined> {
  const all = await deps.cache.federation(deps.instanceId, issuer, () => loadCandidates(deps, issuer));
  if (!all) return undefined;
  if (!scope.orgId && !scope.userId) return all;
  const policies = all.policies.filter((p) => !scope.orgId || p.orgId === scope.orgId);
  if (policies.length === 0) return undefined;
  const kept = new Set(policies.map((p) => p.id));
  const bindings = all.bindings.filter((b) => kept.has(b.policyId) && (!scope.userId || b.userId === scope.userId));
  return { policies, bindings, requireJti: all.requireJti };
}

/** Every policy naming the issuer and all their bindings, from the read models (cached by the caller). */
async function loadCandidates(deps: Deps, issuer: string): Promise<Candidates | undefined> {
  const rows = await deps.reads.federation.policiesByIssuer(deps.instanceId, issuer);
  if (rows.length === 0) return undefined;
  const bindings = (await deps.reads.federation.bindingsOfPolicies(deps.instanceId, rows.map((r) => r.id))).map(
    (b): FederationBinding => ({
      id: b.id,
      policyId: b.policyId,
      orgId: b.orgId,
      userId: b.userId,
      ...(b.subject ? { subject: b.subject } : {}),
      ...(b.condition ? { condition: b.condition } : {}),
    }),
  );
  return { policies: rows.map(trustPolicyOf), bindings, requireJti: new Set(rows.filter((r) => r.requireJti).map((r) => r.id)) };
}

/** The engine's verdict on the token, then Portcullis's own rule on top: a policy may require a jti. */
export async function evaluate(deps: Deps, token: string, c: Candidates, userId?: string): Promise<Evaluation> {
  const ev = await evaluateFederatedToken(token, { policies: c.policies, bindings: c.bindings }, deps.federationKeys, deps.clock().getTime(), userId === undefined ? {} : { userId });
  if (ev.ok && ev.accepted.jti === undefined && c.requireJti.has(ev.accepted.policy.id))
    return { ok: false, refusals: [...ev.trace, { reason: "malformed", detail: "the token has no jti and the trust policy requires one", policyId: ev.accepted.policy.id }] };
  return ev;
}
