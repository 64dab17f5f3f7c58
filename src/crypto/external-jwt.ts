import { constants, verify, type KeyObject } from "node:crypto";
import type { FederationAlgorithm, Refusal, RefusalReason, TrustPolicy } from "../domain/federation/types.js";
import { isFederationAlgorithm, keyFitsAlgorithm } from "./jwks.js";
import { decodeJwt, type DecodedJwt } from "./jwt.js";

/**
 * Verification of an external JWT (a Kubernetes service-account token, a CI OIDC token, a SPIFFE
 * JWT-SVID) against one trust policy, with node:crypto. The algorithm must be one the policy
 * allows (asymmetric only: `none` and HMAC are never accepted, whatever a policy says) and must
 * fit the key's type; `exp` is required; `nbf`/`iat` get FEDERATION_LEEWAY_S of tolerance.
 * Nothing here logs, and refusal details name claims, never the token itself.
 */

/** Tolerated clock difference between the external issuer and this server, in seconds. */
export const FEDERATION_LEEWAY_S = 30;
/** Longer tokens are refused before anything is parsed (crypto/jwt.ts decodeJwt has the same bound). */
export const MAX_EXTERNAL_JWT_LENGTH = 16_384;
const MAX_JTI_LENGTH = 256;
const MAX_SUB_LENGTH = 1024;

/**
 * Where a policy's keys come from. `getKey` returns the key named by `kid` (or the only key fitting
 * `alg` when there is no kid), refreshing a fetched JWKS on an unknown kid at a bounded rate;
 * undefined when there is no such key; throws JwksUnavailableError when the keys cannot be had.
 */
export interface KeySource {
  getKey(policy: TrustPolicy, kid: string | undefined, alg: FederationAlgorithm): Promise<KeyObject | undefined>;
}

/** The policy's JWKS could not be fetched (and no earlier copy is at hand). The message names the URL, never a token. */
export class JwksUnavailableError extends Error {
  override readonly name = "JwksUnavailableError";
}

/** A token split and parsed, not yet trusted: what policy selection reads. */
export type ParsedExternalJwt = DecodedJwt & { iss?: string };

/** Splits and parses the token without trusting it; a refusal (`malformed`) when it is not a compact JWS of JSON objects. */
export function parseExternalJwt(token: unknown): ParsedExternalJwt | Refusal {
  if (typeof token !== "string" || token.length === 0) return { reason: "malformed", detail: "no token" };
  if (token.length > MAX_EXTERNAL_JWT_LENGTH) return { reason: "malformed", detail: `token longer than ${MAX_EXTERNAL_JWT_LENGTH} characters` };
  const jwt = decodeJwt(token);
  if (!jwt) return { reason: "malformed", detail: "not a compact JWS with a JSON header and payload" };
  const iss = jwt.payload.iss;
  return typeof iss === "string" && iss.length > 0 ? { ...jwt, iss } : jwt;
}

export type ExternalJwtResult =
  | { ok: true; claims: Record<string, unknown>; subject: string; exp: number; iat?: number; jti?: string }
  | { ok: false; reason: RefusalReason; detail: string };

const HASH: Record<string, string> = { "256": "sha256", "384": "sha384", "512": "sha512" };
const SIG_LENGTH: Partial<Record<FederationAlgorithm, number>> = { ES256: 64, ES384: 96, ES512: 132 };

/**
 * The signature check for an algorithm already known to fit the key, on libuv's pool (node:crypto's
 * callback form), as tokens are signed: the main thread keeps serving while an ES256 or RS256
 * verification (about 100 µs here) runs.
 */
function signatureValid(jwt: DecodedJwt, alg: FederationAlgorithm, key: KeyObject): Promise<boolean> {
  const data = Buffer.from(jwt.signingInput);
  return new Promise((resolve) => {
    const done = (err: Error | null, ok: boolean) => resolve(err === null && ok);
    try {
      if (alg === "EdDSA") return verify(null, data, key, jwt.signature, done);
      const hash = HASH[alg.slice(2)]!;
      if (alg.startsWith("ES")) {
        if (jwt.signature.length !== SIG_LENGTH[alg]) return resolve(false);
        return verify(hash, data, { key, dsaEncoding: "ieee-p1363" }, jwt.signature, done);
      }
      if (alg.startsWith("PS")) {
        return verify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, jwt.signature, done);
      }
      verify(hash, data, key, jwt.signature, done);
    } catch {
      resolve(false);
    }
  });
}

const isNumericDate = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** The rules that need no key: times, audience, required claims, subject. Cheapest first. */
export function checkExternalClaims(payload: Record<string, unknown>, policy: TrustPolicy, nowS: number): ExternalJwtResult {
  const fail = (reason: RefusalReason, detail: string) => ({ ok: false as const, reason, detail });
  const p = payload;
  if (p.iss !== policy.issuer) return fail("issuer_unknown", "iss is not the policy's issuer");
  if (p.exp === undefined) return fail("exp_missing", "the token has no exp");
  if (!isNumericDate(p.exp)) return fail("malformed", "exp is not a number");
  if (p.exp + FEDERATION_LEEWAY_S <= nowS) return fail("expired", `expired at ${p.exp} (now ${Math.floor(nowS)}, leeway ${FEDERATION_LEEWAY_S} s)`);
  if (p.nbf !== undefined && !isNumericDate(p.nbf)) return fail("malformed", "nbf is not a number");
  if (p.nbf !== undefined && p.nbf - FEDERATION_LEEWAY_S > nowS) return fail("not_yet_valid", `nbf ${p.nbf} is in the future (now ${Math.floor(nowS)})`);
  if (p.iat !== undefined && !isNumericDate(p.iat)) return fail("malformed", "iat is not a number");
  if (p.iat !== undefined && p.iat - FEDERATION_LEEWAY_S > nowS) return fail("not_yet_valid", `iat ${p.iat} is in the future (now ${Math.floor(nowS)})`);
  if (policy.maxTokenAgeSeconds !== undefined) {
    if (p.iat === undefined) return fail("too_old", "the token has no iat and the policy sets a maximum token age");
    const age = nowS - p.iat;
    if (age > policy.maxTokenAgeSeconds + FEDERATION_LEEWAY_S) return fail("too_old", `issued ${Math.floor(age)} s ago, the policy allows ${policy.maxTokenAgeSeconds} s`);
  }
  const aud = typeof p.aud === "string" ? [p.aud] : Array.isArray(p.aud) ? p.aud.filter((a): a is string => typeof a === "string") : [];
  if (!aud.some((a) => policy.audiences.includes(a))) return fail("audience", aud.length ? "aud names none of the policy's audiences" : "the token has no aud");
  for (const [name, want] of Object.entries(policy.requiredClaims)) {
    const got = p[name];
    if (got === undefined) return fail("required_claim", `claim ${name} is missing`);
    if (got !== want) return fail("required_claim", `claim ${name} is not ${JSON.stringify(want)}`);
  }
  if (typeof p.sub !== "string" || p.sub.length === 0 || p.sub.length > MAX_SUB_LENGTH) return fail("malformed", "sub is missing or not a string");
  if (p.jti !== undefined && (typeof p.jti !== "string" || p.jti.length === 0 || p.jti.length > MAX_JTI_LENGTH)) return fail("malformed", "jti is not a string of 1 to 256 characters");
  return {
    ok: true,
    claims: p,
    subject: p.sub,
    exp: p.exp,
    ...(p.iat !== undefined ? { iat: p.iat as number } : {}),
    ...(p.jti !== undefined ? { jti: p.jti as string } : {}),
  };
}

/**
 * Verifies a parsed external JWT against one trust policy: the header's algorithm, the claims
 * (checkExternalClaims: no key needed, so an expired or mis-addressed token costs no JWKS fetch),
 * then the key (from `keys`, fitting the algorithm) and the signature. `nowS` in seconds.
 */
export async function verifyExternalJwt(jwt: DecodedJwt, policy: TrustPolicy, keys: KeySource, nowS: number): Promise<ExternalJwtResult> {
  const fail = (reason: RefusalReason, detail: string) => ({ ok: false as const, reason, detail });
  const alg = jwt.header.alg;
  if (!isFederationAlgorithm(alg)) {
    const shown = typeof alg === "string" ? alg.slice(0, 20) : typeof alg;
    return fail("algorithm", `alg ${JSON.stringify(shown)} is never accepted (asymmetric algorithms only)`);
  }
  if (!policy.algorithms.includes(alg)) return fail("algorithm", `alg ${alg} is not among the policy's algorithms`);
  if ((jwt.header as Record<string, unknown>).crit !== undefined) return fail("malformed", "crit header parameters are not supported");
  const kid = jwt.header.kid;
  if (kid !== undefined && (typeof kid !== "string" || kid.length === 0 || kid.length > 256)) return fail("malformed", "kid is not a string");

  const claims = checkExternalClaims(jwt.payload, policy, nowS);
  if (!claims.ok) return claims;

  let key: KeyObject | undefined;
  try {
    key = await keys.getKey(policy, kid, alg);
  } catch (e) {
    if (e instanceof JwksUnavailableError) return fail("jwks_unavailable", e.message);
    throw e;
  }
  if (!key) return fail("key_not_found", kid !== undefined ? `no key with kid ${JSON.stringify(kid)} for ${alg}` : `no kid, and not exactly one key for ${alg}`);
  if (!keyFitsAlgorithm(key, alg)) return fail("algorithm", `the key is ${key.asymmetricKeyType}, which does not fit ${alg}`);
  if (!(await signatureValid(jwt, alg, key))) return fail("signature", "the signature does not verify");
  return claims;
}
