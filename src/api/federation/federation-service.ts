import type { JsonObject } from "@bufbuild/protobuf";
import { seconds } from "../credentials/credential-service.js";
import * as dry from "../../app/federation/dry-run.js";
import * as fed from "../../app/federation/policies.js";
import { invalidArgument } from "../../domain/errors.js";
import type { PresetInput } from "../../domain/federation/presets.js";
import type { FederationAlgorithm } from "../../domain/federation/types.js";
import type { FederationBindingRow, FederationPolicyRow } from "../../app/federation/policies.js";
import type { ServiceHandlers } from "../pipeline.js";
import type * as bpb from "../proto/portcullis/v1/federation_binding_pb.js";
import type * as ppb from "../proto/portcullis/v1/federation_policy_pb.js";
import type { AddTrustPolicyFromPresetRequest } from "../proto/portcullis/v1/federation_preset_pb.js";
import { listDetails, objectDetails, readDetails } from "../users/mappers.js";

/**
 * portcullis.v1.FederationService (proto/portcullis/v1/federation.proto): thin adapters over
 * app/federation. The org is the caller's (or x-zitadel-orgid), as for the credential policy.
 */

function settings(p: ppb.TrustPolicySettings | undefined): fed.PolicyInput {
  if (!p) throw invalidArgument("FED-policy", "policy is required");
  return {
    name: p.name,
    issuer: p.issuer,
    jwksUri: p.jwksUri,
    jwks: p.jwks,
    audiences: p.audiences,
    algorithms: p.algorithms as FederationAlgorithm[],
    maxTokenAgeSeconds: seconds(p.maxTokenAge, "max_token_age"),
    requiredClaims: { ...p.requiredClaims },
    requireJti: p.requireJti,
  };
}

const policyMessage = (r: FederationPolicyRow) => ({
  id: r.id,
  details: readDetails(r.sequence, r.createdAt, r.changedAt, r.orgId),
  name: r.name,
  issuer: r.issuer,
  jwksUri: r.jwksUri,
  jwks: r.jwks,
  audiences: r.audiences,
  algorithms: r.algorithms,
  maxTokenAge: r.maxTokenAgeSeconds ? { seconds: BigInt(r.maxTokenAgeSeconds), nanos: 0 } : undefined,
  requiredClaims: r.requiredClaims,
  requireJti: r.requireJti,
});

const bindingMessage = (b: FederationBindingRow) => ({
  id: b.id,
  details: readDetails(b.sequence, b.createdAt, b.createdAt, b.orgId),
  policyId: b.policyId,
  userId: b.userId,
  subject: b.subject,
  condition: b.condition,
  description: b.description,
});

/** The request's preset in the shape of domain/federation/presets.ts (empty strings: not given). */
function presetOf(req: AddTrustPolicyFromPresetRequest): PresetInput {
  const opt = (s: string) => (s ? s : undefined);
  const keys = (p: { jwksUri: string; jwks: string }) => {
    if (p.jwks) {
      try {
        return { jwks: JSON.parse(p.jwks) as { keys: Record<string, unknown>[] } };
      } catch {
        throw invalidArgument("FED-jwks", "jwks is not JSON");
      }
    }
    return p.jwksUri ? { jwksUri: p.jwksUri } : {};
  };
  const p = req.preset;
  switch (p.case) {
    case "kubernetes":
      return { kind: "kubernetes", issuer: p.value.issuer, namespace: p.value.namespace, serviceAccount: p.value.serviceAccount, audience: p.value.audience, ...keys(p.value) };
    case "githubActions": {
      const v = p.value;
      return { kind: "github-actions", repository: v.repository, repositoryId: opt(v.repositoryId), ref: opt(v.ref), environment: opt(v.environment), audience: opt(v.audience) };
    }
    case "gitlabCi": {
      const v = p.value;
      if (v.refType && v.refType !== "branch" && v.refType !== "tag") throw invalidArgument("FED-preset", "ref_type must be branch or tag");
      return {
        kind: "gitlab-ci",
        issuer: opt(v.issuer),
        projectPath: v.projectPath,
        ref: opt(v.ref),
        refType: opt(v.refType) as "branch" | "tag" | undefined,
        audience: v.audience,
        ...keys(v),
      };
    }
    case "spiffe":
      return { kind: "spiffe", trustDomain: p.value.trustDomain, path: p.value.path, issuer: p.value.issuer, audience: p.value.audience, ...keys(p.value) };
    default:
      throw invalidArgument("FED-preset", "one of kubernetes, github_actions, gitlab_ci, spiffe is required");
  }
}

export const federationServiceHandlers: ServiceHandlers = {
  async addTrustPolicy(ctx, req: ppb.AddTrustPolicyRequest) {
    const r = await fed.addPolicy(ctx.deps, ctx.caller, settings(req.policy));
    return { policyId: r.policyId, details: objectDetails(r.details) };
  },
  async addTrustPolicyFromPreset(ctx, req: AddTrustPolicyFromPresetRequest) {
    const r = await dry.addPolicyFromPreset(ctx.deps, ctx.caller, presetOf(req), { userId: req.userId || undefined, name: req.name || undefined });
    const d = r.details;
    const row: FederationPolicyRow = { ...r.policy, id: r.policyId, orgId: d.resourceOwner, createdAt: d.creationDate!, changedAt: d.creationDate!, sequence: d.sequence };
    return { policyId: r.policyId, bindingId: r.bindingId, policy: policyMessage(row), details: objectDetails(d) };
  },
  async getTrustPolicy(ctx, req: ppb.GetTrustPolicyRequest) {
    return { policy: policyMessage(await fed.getPolicy(ctx.deps, ctx.caller, req.policyId)) };
  },
  async listTrustPolicies(ctx) {
    const r = await fed.listPolicies(ctx.deps, ctx.caller);
    return { details: listDetails(r.meta), result: r.items.map(policyMessage) };
  },
  async updateTrustPolicy(ctx, req: ppb.UpdateTrustPolicyRequest) {
    return { details: objectDetails(await fed.updatePolicy(ctx.deps, ctx.caller, req.policyId, settings(req.policy))) };
  },
  async removeTrustPolicy(ctx, req: ppb.RemoveTrustPolicyRequest) {
    return { details: objectDetails(await fed.removePolicy(ctx.deps, ctx.caller, req.policyId)) };
  },
  async addFederationBinding(ctx, req: bpb.AddFederationBindingRequest) {
    const r = await fed.addBinding(ctx.deps, ctx.caller, { userId: req.userId, policyId: req.policyId, subject: req.subject, condition: req.condition, description: req.description });
    return { bindingId: r.bindingId, details: objectDetails(r.details) };
  },
  async listFederationBindings(ctx, req: bpb.ListFederationBindingsRequest) {
    const r = await fed.listBindings(ctx.deps, ctx.caller, req.userId);
    return { details: listDetails(r.meta), result: r.items.map(bindingMessage) };
  },
  async removeFederationBinding(ctx, req: bpb.RemoveFederationBindingRequest) {
    return { details: objectDetails(await fed.removeBinding(ctx.deps, ctx.caller, req.userId, req.bindingId)) };
  },
  async dryRunFederation(ctx, req: bpb.DryRunFederationRequest) {
    if (!req.token) throw invalidArgument("FED-token", "token is required");
    const ev = await dry.dryRun(ctx.deps, ctx.caller, req.token, req.userId || undefined);
    const refusal = (r: { reason: string; detail: string; policyId?: string; bindingId?: string }) => ({ reason: r.reason, detail: r.detail, policyId: r.policyId ?? "", bindingId: r.bindingId ?? "" });
    if (!ev.ok) return { accepted: false, refusals: ev.refusals.map(refusal) };
    const a = ev.accepted;
    return { accepted: true, policyId: a.policy.id, bindingId: a.binding.id, userId: a.binding.userId, claims: a.claims as JsonObject, refusals: ev.trace.map(refusal) };
  },
};
