import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hmacJwt, makeKey, signJwt, startJwksServer, unsignedJwt, type JwksServer } from "../../test/helpers/jwt-issuer.js";
import { evaluateFederatedToken, type FederationCandidates } from "../app/federation/evaluate.js";
import { applyPreset } from "../domain/federation/presets.js";
import type { Evaluation, FederationBinding, RefusalReason, TrustPolicy } from "../domain/federation/types.js";
import { createJwksFetcher } from "./jwks-fetcher.js";

/**
 * The whole engine: local issuers (node:crypto keys served from loopback JWKS endpoints) minting
 * tokens shaped like Kubernetes projected service-account tokens, GitHub Actions OIDC tokens and
 * SPIFFE JWT-SVIDs, evaluated against presets' policies and bindings with the real fetcher.
 */

const NOW_MS = Date.now();
const NOW = Math.floor(NOW_MS / 1000);

let k8s: JwksServer, gh: JwksServer, spire: JwksServer;
const k8sKey = makeKey("RS256", "k8s-2026");
const ghKey = makeKey("RS256", "gh-a");
const spireKey = makeKey("ES256", "spire-1");
let clockMs = NOW_MS;
const fetcher = createJwksFetcher({ allowHttpLoopback: true, clock: () => clockMs });

beforeAll(async () => {
  [k8s, gh, spire] = await Promise.all([startJwksServer([k8sKey]), startJwksServer([ghKey]), startJwksServer([spireKey])]);
});
afterAll(() => Promise.all([k8s.close(), gh.close(), spire.close()]));

const K8S_ISS = "https://oidc.cluster-1.example";
const SPIFFE_ISS = "https://oidc.spire.example";

function candidates(): FederationCandidates {
  const kube = applyPreset({ kind: "kubernetes", issuer: K8S_ISS, namespace: "ci", serviceAccount: "builder", audience: "portcullis", jwksUri: "https://placeholder" });
  const github = applyPreset({ kind: "github-actions", repository: "acme/api", ref: "refs/heads/main", audience: "portcullis" });
  const svid = applyPreset({ kind: "spiffe", trustDomain: "acme.example", path: "/ns/pay/sa/api", issuer: SPIFFE_ISS, audience: "portcullis", jwksUri: "https://placeholder" });
  const policies: TrustPolicy[] = [
    { ...kube.policy, id: "pol-k8s", orgId: "org", jwksUri: k8s.url, maxTokenAgeSeconds: 3600 },
    { ...github.policy, id: "pol-gh", orgId: "org", jwksUri: gh.url, requiredClaims: { repository_owner: "acme" } },
    { ...svid.policy, id: "pol-spiffe", orgId: "org", jwksUri: spire.url },
  ];
  const bindings: FederationBinding[] = [
    { ...kube.binding, id: "b-k8s", policyId: "pol-k8s", orgId: "org", userId: "m-k8s" },
    { ...github.binding, id: "b-gh", policyId: "pol-gh", orgId: "org", userId: "m-gh" },
    { ...svid.binding, id: "b-spiffe", policyId: "pol-spiffe", orgId: "org", userId: "m-spiffe" },
  ];
  return { policies, bindings };
}

/** A projected service-account token (kubelet-minted, bound to a pod). */
const kubeClaims = (over: Record<string, unknown> = {}) => ({
  aud: ["portcullis"],
  exp: NOW + 3600,
  iat: NOW - 60,
  nbf: NOW - 60,
  iss: K8S_ISS,
  jti: "2b0c3f3e-k8s",
  "kubernetes.io": {
    namespace: "ci",
    node: { name: "node-1", uid: "n-uid" },
    pod: { name: "builder-7d9f", uid: "p-uid" },
    serviceaccount: { name: "builder", uid: "sa-uid" },
  },
  sub: "system:serviceaccount:ci:builder",
  ...over,
});
const ghClaims = (over: Record<string, unknown> = {}) => ({
  jti: "gh-jti-1",
  sub: "repo:acme/api:ref:refs/heads/main",
  aud: "portcullis",
  ref: "refs/heads/main",
  repository: "acme/api",
  repository_owner: "acme",
  repository_id: "123",
  event_name: "push",
  iss: "https://token.actions.githubusercontent.com",
  nbf: NOW - 20,
  iat: NOW - 10,
  exp: NOW + 290,
  ...over,
});
/** A JWT-SVID: sub is the SPIFFE ID; iss as SPIRE's OIDC provider sets it. */
const svidClaims = (over: Record<string, unknown> = {}) => ({ sub: "spiffe://acme.example/ns/pay/sa/api", aud: ["portcullis"], exp: NOW + 300, iat: NOW - 5, iss: SPIFFE_ISS, ...over });

const evaluate = (token: string, c = candidates(), opts: { userId?: string } = {}) => evaluateFederatedToken(token, c, fetcher, clockMs, opts);
const reasons = (e: Evaluation) => (e.ok ? ["accepted"] : e.refusals.map((r) => r.reason));

describe("federation engine over loopback issuers", () => {
  it("accepts a Kubernetes, a GitHub Actions and a SPIFFE token for their machines", async () => {
    const a = await evaluate(signJwt(k8sKey, kubeClaims()));
    expect(a.ok && [a.accepted.binding.userId, a.accepted.subject, a.accepted.jti]).toEqual(["m-k8s", "system:serviceaccount:ci:builder", "2b0c3f3e-k8s"]);
    const b = await evaluate(signJwt(ghKey, ghClaims()));
    expect(b.ok && b.accepted.binding.userId).toBe("m-gh");
    const c = await evaluate(signJwt(spireKey, svidClaims()));
    expect(c.ok && [c.accepted.binding.userId, c.accepted.jti]).toEqual(["m-spiffe", undefined]);
  });

  it("refuses with every reason, each named precisely", async () => {
    const seen = new Set<RefusalReason>();
    const expectReason = async (token: string, reason: RefusalReason, c?: FederationCandidates, detail?: RegExp) => {
      const e = await evaluate(token, c);
      expect(reasons(e), reason).toEqual([reason]);
      if (detail && !e.ok) expect(e.refusals[0]!.detail).toMatch(detail);
      seen.add(reason);
    };
    await expectReason("eyJhbGciOiJSUzI1NiJ9.bm9wZQ", "malformed");
    await expectReason(signJwt(k8sKey, kubeClaims({ iss: "https://oidc.cluster-2.example" })), "issuer_unknown");
    await expectReason(unsignedJwt(kubeClaims(), "k8s-2026"), "algorithm", undefined, /"none"/);
    await expectReason(hmacJwt("secret", kubeClaims(), "k8s-2026"), "algorithm", undefined, /HS256/);
    await expectReason(signJwt(k8sKey, kubeClaims(), { kid: "k8s-unknown" }), "key_not_found");
    await expectReason(signJwt(makeKey("RS256", "k8s-2026"), kubeClaims()), "signature");
    await expectReason(signJwt(k8sKey, kubeClaims({ exp: NOW - 120 })), "expired");
    await expectReason(signJwt(k8sKey, kubeClaims({ exp: undefined })), "exp_missing");
    await expectReason(signJwt(k8sKey, kubeClaims({ nbf: NOW + 600 })), "not_yet_valid");
    await expectReason(signJwt(k8sKey, kubeClaims({ iat: NOW - 7200, exp: NOW + 60 })), "too_old");
    await expectReason(signJwt(k8sKey, kubeClaims({ aud: ["https://kubernetes.default.svc"] })), "audience");
    await expectReason(signJwt(ghKey, ghClaims({ repository_owner: "evil" })), "required_claim", undefined, /repository_owner/);
    await expectReason(signJwt(k8sKey, kubeClaims({ sub: "system:serviceaccount:ci:default" })), "subject_mismatch");
    await expectReason(signJwt(ghKey, ghClaims({ ref: "refs/heads/feature" })), "condition_false", undefined, /refs\/heads\/main/);
    const c = candidates();
    await expectReason(signJwt(ghKey, ghClaims()), "no_binding", { ...c, bindings: c.bindings.filter((b) => b.policyId !== "pol-gh") });
    const broken = { ...c, bindings: c.bindings.map((b) => (b.id === "b-gh" ? { ...b, condition: "claims.workflow_ref.startsWith('x')" } : b)) };
    await expectReason(signJwt(ghKey, ghClaims()), "condition_error", broken, /workflow_ref/);
    const down = { ...c, policies: c.policies.map((p) => (p.id === "pol-gh" ? { ...p, jwksUri: `http://127.0.0.1:${gh.port}/down` } : p)) };
    gh.handler = (_q, res) => res.writeHead(503).end();
    await expectReason(signJwt(ghKey, ghClaims()), "jwks_unavailable", down, /HTTP 503/);
    delete gh.handler;
    const twoOrgs = {
      policies: [...c.policies, { ...c.policies[0]!, id: "pol-k8s-b", orgId: "org-b" }],
      bindings: [...c.bindings, { ...c.bindings[0]!, id: "b-k8s-b", policyId: "pol-k8s-b", orgId: "org-b", userId: "m-other" }],
    };
    await expectReason(signJwt(k8sKey, kubeClaims()), "ambiguous", twoOrgs);
    expect((await evaluate(signJwt(k8sKey, kubeClaims()), twoOrgs, { userId: "m-other" })).ok).toBe(true);

    const all: Record<RefusalReason, true> = {
      malformed: true, issuer_unknown: true, algorithm: true, key_not_found: true, signature: true, expired: true, exp_missing: true,
      not_yet_valid: true, too_old: true, audience: true, required_claim: true, no_binding: true, subject_mismatch: true,
      condition_false: true, condition_error: true, jwks_unavailable: true, ambiguous: true,
    };
    expect([...seen].sort()).toEqual(Object.keys(all).sort());
  });

  it("picks up the issuer's key rotation without restart, and a storm of forged kids costs one fetch per interval", async () => {
    const before = k8s.hits;
    clockMs += 10_000;
    const next = makeKey("ES256", "k8s-2027");
    k8s.keys = [k8sKey.jwk, next.jwk];
    const c = candidates();
    c.policies[0] = { ...c.policies[0]!, algorithms: ["RS256", "ES256"] };
    const e = await evaluate(signJwt(next, kubeClaims()), c);
    expect(e.ok).toBe(true);
    expect(k8s.hits).toBe(before + 1);

    clockMs += 10_000;
    const forged = await Promise.all(Array.from({ length: 100 }, (_, i) => evaluate(signJwt(makeKey("ES256", `x${i}`), kubeClaims()), c)));
    expect(forged.every((f) => reasons(f)[0] === "key_not_found")).toBe(true);
    expect(k8s.hits).toBe(before + 2);
    k8s.keys = [next.jwk]; // the old key retired
    clockMs += 6 * 60_000;
    expect(reasons(await evaluate(signJwt(k8sKey, kubeClaims()), c))).toEqual(["key_not_found"]);
    expect((await evaluate(signJwt(next, kubeClaims()), c)).ok).toBe(true);
  });
});
