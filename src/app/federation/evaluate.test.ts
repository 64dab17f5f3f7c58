import { beforeAll, describe, expect, it } from "vitest";
import { keysOf, makeKey, signJwt } from "../../../test/helpers/jwt-issuer.js";
import { applyPreset } from "../../domain/federation/presets.js";
import type { FederationBinding, TrustPolicy } from "../../domain/federation/types.js";
import { compileCondition, loadCel, MAX_CLAIM_ITEMS } from "./condition.js";
import { CONDITION_BUDGET_MS, evaluateFederatedToken } from "./evaluate.js";

const NOW_MS = 1_800_000_000_000;
const NOW = NOW_MS / 1000;
const GH = "https://token.actions.githubusercontent.com";

const key = makeKey("RS256", "gh-1");
const keys = keysOf(key);

const policy = (id: string, over: Partial<TrustPolicy> = {}): TrustPolicy => ({
  id,
  orgId: "org-a",
  name: id,
  issuer: GH,
  jwksUri: `${GH}/.well-known/jwks`,
  audiences: ["portcullis"],
  algorithms: ["RS256"],
  requiredClaims: {},
  ...over,
});
const binding = (id: string, policyId: string, over: Partial<FederationBinding>): FederationBinding => ({ id, policyId, orgId: "org-a", userId: "machine-1", ...over });

/** Claims shaped like a GitHub Actions OIDC token. */
const ghClaims = (over: Record<string, unknown> = {}) => ({
  jti: "6f4e0f4e-1",
  sub: "repo:acme/api:ref:refs/heads/main",
  aud: "portcullis",
  ref: "refs/heads/main",
  sha: "a".repeat(40),
  repository: "acme/api",
  repository_owner: "acme",
  repository_id: "123",
  run_id: "42",
  workflow: "deploy",
  event_name: "push",
  ref_type: "branch",
  job_workflow_ref: "acme/api/.github/workflows/deploy.yml@refs/heads/main",
  iss: GH,
  nbf: NOW - 70,
  iat: NOW - 10,
  exp: NOW + 290,
  ...over,
});

describe("evaluateFederatedToken", () => {
  it("accepts with the policy and binding that match, and the claims, exp, jti and subject", async () => {
    const p = policy("p1");
    const b = binding("b1", "p1", { condition: 'claims.repository == "acme/api"' });
    const r = await evaluateFederatedToken(signJwt(key, ghClaims()), { policies: [p], bindings: [b] }, keys, NOW_MS);
    expect(r).toEqual({
      ok: true,
      accepted: { policy: p, binding: b, claims: ghClaims(), exp: NOW + 290, jti: "6f4e0f4e-1", subject: "repo:acme/api:ref:refs/heads/main" },
      trace: [],
    });
  });

  it("refuses malformed tokens and unknown issuers before any policy", async () => {
    const c = { policies: [policy("p1")], bindings: [] };
    expect(await evaluateFederatedToken("not-a-jwt", c, keys, NOW_MS)).toEqual({ ok: false, refusals: [{ reason: "malformed", detail: expect.any(String) }] });
    expect(await evaluateFederatedToken(signJwt(key, ghClaims({ iss: undefined })), c, keys, NOW_MS)).toEqual({ ok: false, refusals: [{ reason: "malformed", detail: "the token has no iss" }] });
    expect(await evaluateFederatedToken(signJwt(key, ghClaims({ iss: `${GH}/` })), c, keys, NOW_MS)).toEqual({
      ok: false,
      refusals: [{ reason: "issuer_unknown", detail: `no trust policy for issuer "${GH}/"` }],
    });
  });

  it("says for every policy and binding tried why it does not accept", async () => {
    const c = {
      policies: [policy("p1", { audiences: ["other"] }), policy("p2"), policy("p3"), policy("p4", { issuer: "https://elsewhere" })],
      bindings: [
        binding("b1", "p2", { subject: "repo:acme/web:ref:refs/heads/main" }),
        binding("b2", "p2", { condition: 'claims.ref == "refs/heads/release"' }),
        binding("b3", "p2", { condition: 'claims.environment == "prod"' }),
        binding("b4", "p2", { condition: "claims.repository +" }),
        binding("b5", "p2", {}),
        binding("b6", "p4", { subject: "repo:acme/api:ref:refs/heads/main" }),
      ],
    };
    const r = await evaluateFederatedToken(signJwt(key, ghClaims()), c, keys, NOW_MS);
    expect(r).toEqual({
      ok: false,
      refusals: [
        { reason: "audience", detail: "aud names none of the policy's audiences", policyId: "p1" },
        { reason: "subject_mismatch", detail: 'sub is not "repo:acme/web:ref:refs/heads/main"', policyId: "p2", bindingId: "b1" },
        { reason: "condition_false", detail: 'the condition is false: claims.ref == "refs/heads/release"', policyId: "p2", bindingId: "b2" },
        { reason: "condition_error", detail: expect.stringMatching(/environment/), policyId: "p2", bindingId: "b3" },
        { reason: "condition_error", detail: expect.stringMatching(/^the condition does not compile: syntax error/), policyId: "p2", bindingId: "b4" },
        { reason: "no_binding", detail: "the binding names neither a subject nor a condition", policyId: "p2", bindingId: "b5" },
        { reason: "no_binding", detail: "the policy has no binding", policyId: "p3" },
      ],
    });
  });

  it("keeps to the user asked for and to bindings of the policy's own org", async () => {
    const c = {
      policies: [policy("p1")],
      bindings: [binding("b1", "p1", { subject: "repo:acme/api:ref:refs/heads/main", userId: "machine-2" }), binding("b2", "p1", { subject: "repo:acme/api:ref:refs/heads/main", orgId: "org-b" })],
    };
    const token = signJwt(key, ghClaims());
    expect(await evaluateFederatedToken(token, c, keys, NOW_MS, { userId: "machine-1" })).toEqual({
      ok: false,
      refusals: [{ reason: "no_binding", detail: "the policy has no binding for this user", policyId: "p1" }],
    });
    const r = await evaluateFederatedToken(token, c, keys, NOW_MS, { userId: "machine-2" });
    expect(r.ok && r.accepted.binding.id).toBe("b1");
  });

  it("chooses deterministically: exact-subject bindings first, then by policy id, then binding id; the others stay in the trace", async () => {
    const c = {
      policies: [policy("p2"), policy("p1")],
      bindings: [
        binding("a-cond", "p1", { condition: "true" }),
        binding("z-sub", "p2", { subject: "repo:acme/api:ref:refs/heads/main" }),
        binding("y-sub", "p2", { subject: "repo:acme/api:ref:refs/heads/main" }),
        binding("x-miss", "p1", { subject: "nope" }),
      ],
    };
    const r = await evaluateFederatedToken(signJwt(key, ghClaims()), c, keys, NOW_MS);
    expect(r.ok && [r.accepted.policy.id, r.accepted.binding.id]).toEqual(["p2", "y-sub"]);
    expect(r.ok && r.trace).toEqual([{ reason: "subject_mismatch", detail: 'sub is not "nope"', policyId: "p1", bindingId: "x-miss" }]);
  });

  it("refuses a token that bindings of two users accept unless the request names the user", async () => {
    const c = {
      policies: [policy("pa"), policy("pb", { orgId: "org-b" })],
      bindings: [
        binding("ba", "pa", { condition: 'claims.repository == "acme/api"' }),
        binding("bb", "pb", { orgId: "org-b", userId: "machine-b", subject: "repo:acme/api:ref:refs/heads/main" }),
        binding("bc", "pb", { orgId: "org-b", userId: "machine-c", subject: "repo:acme/web:ref:refs/heads/main" }),
      ],
    };
    const token = signJwt(key, ghClaims());
    expect(await evaluateFederatedToken(token, c, keys, NOW_MS)).toEqual({
      ok: false,
      refusals: [
        { reason: "ambiguous", detail: "bindings of 2 users accept the token (pa/ba, pb/bb); name the user" },
        { reason: "subject_mismatch", detail: 'sub is not "repo:acme/web:ref:refs/heads/main"', policyId: "pb", bindingId: "bc" },
      ],
    });
    const r = await evaluateFederatedToken(token, c, keys, NOW_MS, { userId: "machine-1" });
    expect(r.ok && r.accepted.binding.id).toBe("ba");
  });

  it("the presets' bindings accept tokens shaped like their issuers' and refuse look-alikes", async () => {
    const gh = applyPreset({ kind: "github-actions", repository: "acme/api", ref: "refs/heads/main", audience: "portcullis" });
    const c = { policies: [{ ...gh.policy, id: "gh", orgId: "org-a" }], bindings: [{ ...gh.binding, id: "b", policyId: "gh", orgId: "org-a", userId: "m" }] };
    expect((await evaluateFederatedToken(signJwt(key, ghClaims()), c, keys, NOW_MS)).ok).toBe(true);
    const fork = await evaluateFederatedToken(signJwt(key, ghClaims({ repository: "evil/api", sub: "repo:evil/api:ref:refs/heads/main" })), c, keys, NOW_MS);
    expect(fork.ok === false && fork.refusals.map((x) => x.reason)).toEqual(["condition_false"]);
    const pr = await evaluateFederatedToken(signJwt(key, ghClaims({ ref: "refs/pull/7/merge" })), c, keys, NOW_MS);
    expect(pr.ok === false && pr.refusals.map((x) => x.reason)).toEqual(["condition_false"]);

    const gl = applyPreset({ kind: "gitlab-ci", projectPath: "acme/api", ref: "main", audience: "portcullis" });
    const glKey = makeKey("RS256", "gl-1");
    const glc = { policies: [{ ...gl.policy, id: "gl", orgId: "org-a" }], bindings: [{ ...gl.binding, id: "b", policyId: "gl", orgId: "org-a", userId: "m" }] };
    const glClaims = {
      namespace_path: "acme",
      project_path: "acme/api",
      project_id: "22",
      ref: "main",
      ref_type: "branch",
      ref_protected: "true",
      pipeline_source: "push",
      iss: "https://gitlab.com",
      sub: "project_path:acme/api:ref_type:branch:ref:main",
      aud: "portcullis",
      iat: NOW - 5,
      nbf: NOW - 10,
      exp: NOW + 300,
      jti: "gl-jti",
    };
    expect((await evaluateFederatedToken(signJwt(glKey, glClaims), glc, keysOf(glKey), NOW_MS)).ok).toBe(true);
    const tag = await evaluateFederatedToken(signJwt(glKey, { ...glClaims, ref_type: "tag" }), glc, keysOf(glKey), NOW_MS);
    expect(tag.ok === false && tag.refusals.map((x) => x.reason)).toEqual(["condition_false"]);
  });

  describe("the conditions' cost per token", () => {
    // As costly as a condition may be: 8 comprehensions over a 64-item claim list, each scanning the
    // list again as often as the node bound allows, and one term that makes it distinct.
    const l = Array.from({ length: MAX_CLAIM_ITEMS }, (_, i) => `v${i}`);
    const costly = (k: number, i: number) => `${Array(8).fill(`claims.l.exists(x, ${Array(k).fill('"zz" in claims.l').join(" || ")})`).join(" || ")} || claims.ref == "x${i}"`;
    let k = 1;
    const token = signJwt(key, ghClaims({ l }));
    beforeAll(async () => {
      await loadCel();
      while (compileCondition(costly(k + 1, 99)).ok) k++;
    });

    it("stops running conditions once they took the budget: the rest are refused unevaluated, a subject binding still accepts", async () => {
      const bindings = Array.from({ length: 40 }, (_, i) => binding(`b${String(i).padStart(2, "0")}`, "p1", { condition: costly(k, i) }));
      bindings.push(binding("z-subject", "p1", { subject: "repo:acme/api:ref:refs/heads/main" }));
      const t0 = performance.now();
      const r = await evaluateFederatedToken(token, { policies: [policy("p1")], bindings }, keys, NOW_MS);
      const ms = performance.now() - t0;
      expect(r.ok).toBe(true);
      const trace = r.ok ? r.trace : [];
      const unevaluated = trace.filter((x) => x.detail.startsWith("not evaluated"));
      const evaluated = trace.filter((x) => x.reason === "condition_false");
      expect(evaluated.length + unevaluated.length).toBe(40);
      expect(evaluated.length).toBeGreaterThan(0);
      expect(unevaluated.length).toBeGreaterThan(0);
      expect(unevaluated[0]).toMatchObject({ reason: "condition_error", detail: `not evaluated: this policy's conditions already took ${CONDITION_BUDGET_MS} ms for this token` });
      // Loose (a loaded machine), but far below the 40 evaluations' cost the budget saves.
      expect(ms).toBeLessThan(40 * CONDITION_BUDGET_MS);
    });

    it("gives each policy (each org) its own budget: one org's costly conditions leave another's evaluated", async () => {
      const policies = [policy("p1"), policy("p2", { orgId: "org-b" })];
      const bindings = Array.from({ length: 40 }, (_, i) => binding(`b${String(i).padStart(2, "0")}`, "p1", { condition: costly(k, i) }));
      bindings.push(binding("other-org", "p2", { orgId: "org-b", userId: "machine-2", condition: 'claims.repository == "acme/api"' }));
      const r = await evaluateFederatedToken(token, { policies, bindings }, keys, NOW_MS);
      expect(r.ok && [r.accepted.policy.id, r.accepted.binding.id]).toEqual(["p2", "other-org"]);
    });

    it("runs a condition shared by many bindings once per token", async () => {
      const same = costly(k, 0);
      const bindings = Array.from({ length: 100 }, (_, i) => binding(`b${String(i).padStart(3, "0")}`, "p1", { condition: same }));
      const r = await evaluateFederatedToken(token, { policies: [policy("p1")], bindings }, keys, NOW_MS);
      expect(r.ok === false && r.refusals.map((x) => x.reason)).toEqual(Array(100).fill("condition_false"));
    });
  });
});
