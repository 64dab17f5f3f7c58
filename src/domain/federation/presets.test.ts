import { describe, expect, it } from "vitest";
import { DomainError } from "../errors.js";
import { applyPreset, GITHUB_ACTIONS_ISSUER } from "./presets.js";

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof DomainError) return `${e.kind} ${e.id}: ${e.message}`;
    throw e;
  }
  return "accepted";
};

describe("federation presets", () => {
  it("kubernetes: the cluster's issuer and JWKS, the exact service-account subject", () => {
    expect(applyPreset({ kind: "kubernetes", issuer: "https://oidc.example/cluster-1", namespace: "ci", serviceAccount: "builder", audience: "portcullis" })).toEqual({
      policy: {
        name: "Kubernetes https://oidc.example/cluster-1",
        issuer: "https://oidc.example/cluster-1",
        jwksUri: "https://oidc.example/cluster-1/openid/v1/jwks",
        audiences: ["portcullis"],
        algorithms: ["RS256", "ES256"],
        requiredClaims: {},
      },
      binding: { subject: "system:serviceaccount:ci:builder" },
    });
    const eks = applyPreset({ kind: "kubernetes", issuer: "https://oidc.eks.example/id/ABC", namespace: "a", serviceAccount: "b.c", audience: "x", jwksUri: "https://oidc.eks.example/id/ABC/keys" });
    expect(eks.policy.jwksUri).toBe("https://oidc.eks.example/id/ABC/keys");
    const airGapped = applyPreset({ kind: "kubernetes", issuer: "https://k", namespace: "a", serviceAccount: "b", audience: "x", jwks: { keys: [] } });
    expect(airGapped.policy).toMatchObject({ jwks: { keys: [] } });
    expect(airGapped.policy.jwksUri).toBeUndefined();
  });

  it("github-actions: GitHub's issuer, its default audience, a condition on repository, ref and environment", () => {
    const r = applyPreset({ kind: "github-actions", repository: "acme/api", ref: "refs/heads/main", environment: "prod" });
    expect(r.policy).toMatchObject({ issuer: GITHUB_ACTIONS_ISSUER, jwksUri: `${GITHUB_ACTIONS_ISSUER}/.well-known/jwks`, audiences: ["https://github.com/acme"], algorithms: ["RS256"] });
    expect(r.binding).toEqual({
      condition: 'claims.repository == "acme/api" && has(claims.ref) && claims.ref == "refs/heads/main" && has(claims.environment) && claims.environment == "prod"',
    });
    const minimal = applyPreset({ kind: "github-actions", repository: "acme/api", repositoryId: "123", audience: "portcullis" });
    expect(minimal.binding.condition).toBe('claims.repository == "acme/api" && claims.repository_id == "123"');
    expect(minimal.policy.audiences).toEqual(["portcullis"]);
  });

  it("gitlab-ci: gitlab.com unless given, a condition on project_path and ref with its type", () => {
    const r = applyPreset({ kind: "gitlab-ci", projectPath: "acme/backend/api", ref: "main", audience: "https://portcullis.example" });
    expect(r.policy).toMatchObject({ issuer: "https://gitlab.com", jwksUri: "https://gitlab.com/oauth/discovery/keys", audiences: ["https://portcullis.example"] });
    expect(r.binding.condition).toBe('claims.project_path == "acme/backend/api" && has(claims.ref) && claims.ref == "main" && has(claims.ref_type) && claims.ref_type == "branch"');
    const own = applyPreset({ kind: "gitlab-ci", issuer: "https://gitlab.acme.example/", projectPath: "g/p", ref: "v1", refType: "tag", audience: "a" });
    expect(own.policy).toMatchObject({ issuer: "https://gitlab.acme.example", jwksUri: "https://gitlab.acme.example/oauth/discovery/keys" });
    expect(own.binding.condition).toContain('claims.ref_type == "tag"');
  });

  it("spiffe: the exact SPIFFE ID subject, keys from the bundle endpoint or an uploaded bundle", () => {
    const r = applyPreset({ kind: "spiffe", trustDomain: "prod.acme.example", path: "ns/payments/sa/api", issuer: "https://oidc.prod.acme.example", audience: "portcullis", jwksUri: "https://spire.acme.example/keys" });
    expect(r.binding).toEqual({ subject: "spiffe://prod.acme.example/ns/payments/sa/api" });
    expect(r.policy).toMatchObject({ issuer: "https://oidc.prod.acme.example", jwksUri: "https://spire.acme.example/keys", audiences: ["portcullis"] });
    expect(r.policy.algorithms).not.toContain("EdDSA");
  });

  it("refuses missing or malformed parameters with InvalidArgument naming them, and values that would escape a condition", () => {
    expect(refusal(() => applyPreset({ kind: "kubernetes", issuer: "http://k", namespace: "a", serviceAccount: "b", audience: "x" }))).toBe("InvalidArgument FEDERATION-preset: issuer is missing or malformed");
    expect(refusal(() => applyPreset({ kind: "kubernetes", issuer: "https://k", namespace: "Bad_NS", serviceAccount: "b", audience: "x" }))).toMatch(/namespace/);
    expect(refusal(() => applyPreset({ kind: "github-actions", repository: 'acme/api" || true || "' }))).toMatch(/repository/);
    expect(refusal(() => applyPreset({ kind: "github-actions", repository: "acme/api", ref: "main" }))).toMatch(/ref is/);
    expect(refusal(() => applyPreset({ kind: "github-actions", repository: "acme/api", environment: 'p" || true' }))).toMatch(/environment/);
    expect(refusal(() => applyPreset({ kind: "gitlab-ci", projectPath: "acme", audience: "a" }))).toMatch(/projectPath/);
    expect(refusal(() => applyPreset({ kind: "spiffe", trustDomain: "td", path: "/a/../b", issuer: "https://i", audience: "a", jwksUri: "https://k" }))).toMatch(/\.\./);
    expect(refusal(() => applyPreset({ kind: "spiffe", trustDomain: "td", path: "/a", issuer: "https://i", audience: "a" }))).toMatch(/jwksUri or jwks/);
    expect(refusal(() => applyPreset({ kind: "nope" } as never))).toMatch(/unknown preset "nope"/);
  });
});
