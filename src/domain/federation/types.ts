/**
 * Workload identity federation: the contract between the verification engine
 * (crypto/external-jwt, server/jwks-fetcher, app/federation/evaluate) and the
 * store/API/grant wiring. Pure types, no behaviour.
 */

/** Asymmetric JWS algorithms a trust policy may allow (never `none`, never HMAC). */
export type FederationAlgorithm =
  | "RS256"
  | "RS384"
  | "RS512"
  | "PS256"
  | "PS384"
  | "PS512"
  | "ES256"
  | "ES384"
  | "ES512"
  | "EdDSA";

export interface TrustPolicy {
  id: string;
  orgId: string;
  name: string;
  /** Exact `iss` the token must carry. */
  issuer: string;
  /** Fetched JWKS, or */
  jwksUri?: string;
  /** uploaded JWKS (air-gapped). */
  jwks?: { keys: Record<string, unknown>[] };
  /** The token's `aud` must name at least one of these, exact match. */
  audiences: string[];
  /** Asymmetric only. */
  algorithms: FederationAlgorithm[];
  /** `now - iat` must not exceed it. */
  maxTokenAgeSeconds?: number;
  /** Each claim must equal the value exactly (string compare). */
  requiredClaims: Record<string, string>;
}

export interface FederationBinding {
  id: string;
  policyId: string;
  orgId: string;
  userId: string;
  /** Exact `sub`, or */
  subject?: string;
  /** a CEL expression over `claims` (a map) that must evaluate to true. */
  condition?: string;
}

export type RefusalReason =
  | "malformed"
  | "issuer_unknown"
  | "algorithm"
  | "key_not_found"
  | "signature"
  | "expired"
  | "exp_missing"
  | "not_yet_valid"
  | "too_old"
  | "audience"
  | "required_claim"
  | "no_binding"
  | "subject_mismatch"
  | "condition_false"
  | "condition_error"
  | "jwks_unavailable"
  /** Bindings of more than one user accept the token and the request named none (evaluate.ts). */
  | "ambiguous";

export interface Refusal {
  reason: RefusalReason;
  detail: string;
  policyId?: string;
  bindingId?: string;
}

export interface Acceptance {
  policy: TrustPolicy;
  binding: FederationBinding;
  claims: Record<string, unknown>;
  exp: number;
  jti?: string;
  subject: string;
}

export type Evaluation =
  | { ok: true; accepted: Acceptance; trace: Refusal[] }
  | { ok: false; refusals: Refusal[] };
