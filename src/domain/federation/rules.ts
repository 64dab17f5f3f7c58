import { invalidArgument } from "../errors.js";
import type { UniqueClaim } from "../events.js";
import type { PolicyPayload } from "./events.js";

/**
 * Pure rules of trust policies and bindings. What needs crypto or the CEL compiler (algorithm names,
 * an uploaded JWKS, a condition) is checked by app/federation/validate.ts with these.
 */

export const MAX_NAME = 200;
export const MAX_AUDIENCES = 20;
export const MAX_REQUIRED_CLAIMS = 20;
export const MAX_URL = 2048;
export const MAX_SUBJECT = 1024;
/** Bindings one machine may hold (many machines may bind one policy). */
export const MAX_BINDINGS_PER_MACHINE = 100;

const bad = (id: string, message: string) => invalidArgument(id, message);

/** Loopback host names and addresses (for `federation.allowHttpLoopbackIssuers`). */
export const isLoopbackHost = (host: string) => host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

function absoluteUrl(v: string, field: string): URL {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw bad("FED-url", `${field} must be an absolute URL`);
  }
  if (v.length > MAX_URL) throw bad("FED-url", `${field} is longer than ${MAX_URL} characters`);
  if (u.username || u.password) throw bad("FED-url", `${field} must not carry credentials`);
  return u;
}

/** The issuer is an absolute URL (https; http for loopback issuers when allowed; spiffe:// trust domains). */
export function checkIssuer(issuer: string, allowHttpLoopback: boolean): void {
  const u = absoluteUrl(issuer, "issuer");
  if (u.protocol === "https:" || u.protocol === "spiffe:") return;
  if (u.protocol === "http:" && allowHttpLoopback && isLoopbackHost(u.hostname)) return;
  throw bad("FED-issuer", "issuer must be an https URL (or spiffe://); plain http only for loopback issuers with federation.allowHttpLoopbackIssuers");
}

/** The JWKS URL is https (http only for loopback with allowHttpLoopback), without a fragment. */
export function checkJwksUri(uri: string, allowHttpLoopback: boolean): void {
  const u = absoluteUrl(uri, "jwks_uri");
  if (u.hash) throw bad("FED-jwks-uri", "jwks_uri must not have a fragment");
  if (u.protocol === "https:") return;
  if (u.protocol === "http:" && allowHttpLoopback && isLoopbackHost(u.hostname)) return;
  throw bad("FED-jwks-uri", "jwks_uri must be an https URL (plain http only for loopback with federation.allowHttpLoopbackIssuers)");
}

/** Every pure rule of a policy: name, issuer, exactly one key source, audiences, claims, max age. */
export function checkPolicy(p: PolicyPayload, allowHttpLoopback: boolean): void {
  const name = p.name.trim();
  if (!name || name.length > MAX_NAME) throw bad("FED-name", `name must be 1 to ${MAX_NAME} characters`);
  checkIssuer(p.issuer, allowHttpLoopback);
  if (!p.jwksUri === !p.jwks) throw bad("FED-keys", "exactly one of jwks_uri and jwks must be given");
  if (p.jwksUri) checkJwksUri(p.jwksUri, allowHttpLoopback);
  if (p.audiences.length === 0) throw bad("FED-aud", "audiences must name at least one audience");
  if (p.audiences.length > MAX_AUDIENCES) throw bad("FED-aud", `at most ${MAX_AUDIENCES} audiences`);
  if (p.audiences.some((a) => !a || a.length > MAX_URL)) throw bad("FED-aud", "an audience must be 1 to 2048 characters");
  if (p.algorithms.length === 0) throw bad("FED-alg", "algorithms must name at least one asymmetric algorithm");
  const claims = Object.entries(p.requiredClaims);
  if (claims.length > MAX_REQUIRED_CLAIMS) throw bad("FED-claims", `at most ${MAX_REQUIRED_CLAIMS} required claims`);
  if (claims.some(([k, v]) => !k || k.length > 200 || v.length > MAX_SUBJECT)) throw bad("FED-claims", "a required claim needs a name (up to 200 characters) and a value up to 1024");
  if (!Number.isSafeInteger(p.maxTokenAgeSeconds) || p.maxTokenAgeSeconds < 0) throw bad("FED-age", "max_token_age must be a whole number of seconds, at least 0");
}

/** A binding names exactly one of an exact subject and a condition. */
export function checkBindingShape(subject: string, condition: string, description: string): void {
  if (!subject === !condition) throw bad("FED-binding", "a binding needs exactly one of subject and condition");
  if (subject.length > MAX_SUBJECT) throw bad("FED-binding", `subject is longer than ${MAX_SUBJECT} characters`);
  if (description.length > MAX_NAME) throw bad("FED-binding", `description is longer than ${MAX_NAME} characters`);
}

/**
 * One policy per issuer in an org (several orgs may trust one issuer, e.g. GitHub Actions'): the
 * token's `iss` picks the policies, and a binding says which machine of which org.
 */
export const issuerClaim = (orgId: string, issuer: string, action: "add" | "remove"): UniqueClaim => ({
  action,
  type: "federation_issuer",
  field: `${orgId}:${issuer}`,
  error: { kind: "AlreadyExists", id: "FED-issuer-taken", message: "The organization already has a trust policy for this issuer" },
});
