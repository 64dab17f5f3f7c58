import { invalidArgument } from "../errors.js";
import type { FederationAlgorithm, FederationBinding, TrustPolicy } from "./types.js";

/**
 * Presets: a trust policy and a binding template for the common workload issuers, filled from a
 * few parameters. The caller adds ids, org and user (and may change anything before saving).
 *
 * - kubernetes: projected service-account tokens. `sub` = `system:serviceaccount:<ns>:<name>`
 *   (exact subject). Keys: the API server's `<issuer>/openid/v1/jwks` unless given (managed
 *   clusters publish elsewhere, e.g. EKS `<issuer>/keys`: pass jwksUri).
 * - github-actions: `iss` https://token.actions.githubusercontent.com, keys at its
 *   /.well-known/jwks; `aud` by default `https://github.com/<owner>` (GitHub's default); a
 *   condition on `repository` (and `repository_id`, `ref`, `environment` when given), not on `sub`,
 *   whose shape each org may customize.
 * - gitlab-ci: `id_tokens` of GitLab CI; `iss` https://gitlab.com unless given, keys at
 *   `<issuer>/oauth/discovery/keys`; a condition on `project_path` (and `ref` + `ref_type`); the
 *   audience is what the job's `id_tokens: … aud:` names (required: GitLab has no default).
 * - spiffe: JWT-SVIDs. `sub` = `spiffe://<trust domain>/<path>` (exact subject); keys from the
 *   trust domain's bundle endpoint (jwksUri) or an uploaded bundle (jwks).
 */

export type PresetKind = "kubernetes" | "github-actions" | "gitlab-ci" | "spiffe";

type Keys = { jwksUri?: string; jwks?: TrustPolicy["jwks"] };

export interface KubernetesPreset extends Keys {
  issuer: string;
  namespace: string;
  serviceAccount: string;
  audience: string;
}
export interface GithubActionsPreset {
  /** owner/name */
  repository: string;
  /** The numeric repository id: a deleted and re-created repository of the same name gets another. */
  repositoryId?: string;
  /** e.g. refs/heads/main */
  ref?: string;
  environment?: string;
  audience?: string;
}
export interface GitlabCiPreset extends Keys {
  issuer?: string;
  /** group/project */
  projectPath: string;
  /** A branch or tag name, e.g. main (GitLab's `ref` claim carries no refs/heads/). */
  ref?: string;
  refType?: "branch" | "tag";
  audience: string;
}
export interface SpiffePreset extends Keys {
  trustDomain: string;
  /** The SPIFFE ID's path, e.g. /ns/prod/sa/api (the leading slash may be left out). */
  path: string;
  issuer: string;
  audience: string;
}

export type PresetInput =
  | ({ kind: "kubernetes" } & KubernetesPreset)
  | ({ kind: "github-actions" } & GithubActionsPreset)
  | ({ kind: "gitlab-ci" } & GitlabCiPreset)
  | ({ kind: "spiffe" } & SpiffePreset);

export interface PresetResult {
  policy: Omit<TrustPolicy, "id" | "orgId">;
  binding: Pick<FederationBinding, "subject" | "condition">;
}

export const GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com";
export const GITLAB_ISSUER = "https://gitlab.com";

const RSA_EC: FederationAlgorithm[] = ["RS256", "ES256"];
const ALL: FederationAlgorithm[] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];

const bad = (message: string) => invalidArgument("FEDERATION-preset", message);

function need(value: unknown, name: string, pattern: RegExp, max = 255): string {
  if (typeof value !== "string" || value.length === 0 || value.length > max || !pattern.test(value)) throw bad(`${name} is missing or malformed`);
  return value;
}

/** An https URL without credentials, query or fragment (an issuer). */
function httpsUrl(value: unknown, name: string): string {
  const s = need(value, name, /^https:\/\/[^\s?#@]+$/, 2048);
  return s;
}

/** A CEL string literal: JSON's escapes are CEL's. */
const lit = (s: string) => JSON.stringify(s);

const trimSlash = (s: string) => s.replace(/\/+$/, "");

function keys(k: Keys, fallback?: string): Keys {
  if (k.jwks !== undefined) return { jwks: k.jwks };
  if (k.jwksUri !== undefined) return { jwksUri: httpsUrl(k.jwksUri, "jwksUri") };
  if (fallback === undefined) throw bad("jwksUri or jwks is required");
  return { jwksUri: fallback };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const audienceOf = (a: unknown) => need(a, "audience", /^\S+$/, 1024);

export function kubernetesPreset(p: KubernetesPreset): PresetResult {
  const issuer = httpsUrl(p.issuer, "issuer");
  const ns = need(p.namespace, "namespace", DNS_LABEL, 63);
  const sa = need(p.serviceAccount, "serviceAccount", DNS_SUBDOMAIN, 253);
  return {
    policy: {
      name: `Kubernetes ${issuer}`,
      issuer,
      ...keys(p, `${trimSlash(issuer)}/openid/v1/jwks`),
      audiences: [audienceOf(p.audience)],
      algorithms: RSA_EC,
      requiredClaims: {},
    },
    binding: { subject: `system:serviceaccount:${ns}:${sa}` },
  };
}

export function githubActionsPreset(p: GithubActionsPreset): PresetResult {
  const repository = need(p.repository, "repository", /^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/, 200);
  const owner = repository.split("/")[0]!;
  const terms = [`claims.repository == ${lit(repository)}`];
  if (p.repositoryId !== undefined) terms.push(`claims.repository_id == ${lit(need(p.repositoryId, "repositoryId", /^\d+$/, 20))}`);
  if (p.ref !== undefined) terms.push(`has(claims.ref) && claims.ref == ${lit(need(p.ref, "ref", /^refs\/\S+$/))}`);
  if (p.environment !== undefined) terms.push(`has(claims.environment) && claims.environment == ${lit(need(p.environment, "environment", /^[^\s'"]+( [^\s'"]+)*$/))}`);
  return {
    policy: {
      name: `GitHub Actions ${owner}`,
      issuer: GITHUB_ACTIONS_ISSUER,
      jwksUri: `${GITHUB_ACTIONS_ISSUER}/.well-known/jwks`,
      audiences: [p.audience !== undefined ? audienceOf(p.audience) : `https://github.com/${owner}`],
      algorithms: ["RS256"],
      requiredClaims: {},
    },
    binding: { condition: terms.join(" && ") },
  };
}

export function gitlabCiPreset(p: GitlabCiPreset): PresetResult {
  // GitLab's `iss` is its external URL without a trailing slash.
  const issuer = p.issuer === undefined ? GITLAB_ISSUER : trimSlash(httpsUrl(p.issuer, "issuer"));
  const projectPath = need(p.projectPath, "projectPath", /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/);
  const terms = [`claims.project_path == ${lit(projectPath)}`];
  if (p.ref !== undefined) {
    const ref = need(p.ref, "ref", /^[^\s]+$/);
    const refType = p.refType ?? "branch";
    if (refType !== "branch" && refType !== "tag") throw bad("refType must be branch or tag");
    terms.push(`has(claims.ref) && claims.ref == ${lit(ref)} && has(claims.ref_type) && claims.ref_type == ${lit(refType)}`);
  }
  return {
    policy: {
      name: `GitLab CI ${issuer}`,
      issuer,
      ...keys(p, `${trimSlash(issuer)}/oauth/discovery/keys`),
      audiences: [audienceOf(p.audience)],
      algorithms: ["RS256"],
      requiredClaims: {},
    },
    binding: { condition: terms.join(" && ") },
  };
}

export function spiffePreset(p: SpiffePreset): PresetResult {
  const td = need(p.trustDomain, "trustDomain", /^[a-z0-9._-]+$/);
  const raw = typeof p.path === "string" && !p.path.startsWith("/") ? `/${p.path}` : p.path;
  const path = need(raw, "path", /^(\/[A-Za-z0-9._-]+)+$/, 2048);
  if (path.split("/").some((seg) => seg === "." || seg === "..")) throw bad("path may not contain . or .. segments");
  return {
    policy: {
      name: `SPIFFE ${td}`,
      issuer: httpsUrl(p.issuer, "issuer"),
      ...keys(p),
      audiences: [audienceOf(p.audience)],
      algorithms: ALL,
      requiredClaims: {},
    },
    binding: { subject: `spiffe://${td}${path}` },
  };
}

/** The preset of that kind; InvalidArgument (FEDERATION-preset) naming the parameter that is missing or malformed. */
export function applyPreset(input: PresetInput): PresetResult {
  switch (input.kind) {
    case "kubernetes":
      return kubernetesPreset(input);
    case "github-actions":
      return githubActionsPreset(input);
    case "gitlab-ci":
      return gitlabCiPreset(input);
    case "spiffe":
      return spiffePreset(input);
    default:
      throw bad(`unknown preset ${JSON.stringify((input as { kind: unknown }).kind)}`);
  }
}
