import { createPublicKey, type KeyObject } from "node:crypto";
import type { FederationAlgorithm } from "../domain/federation/types.js";

/**
 * Public keys of an external issuer's JWKS (RFC 7517), for workload identity federation: what
 * verifies a JWS of which algorithm (RFC 7518 §3, RFC 8037). A key is taken only if it is a public
 * signing key Portcullis can use; the rest is listed in `skipped` (so an upload can be refused with
 * a reason, and a fetched set with foreign entries still works).
 */

export const FEDERATION_ALGORITHMS: readonly FederationAlgorithm[] = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
];

export const isFederationAlgorithm = (v: unknown): v is FederationAlgorithm =>
  typeof v === "string" && (FEDERATION_ALGORITHMS as readonly string[]).includes(v);

/** RSA keys shorter than this are refused (as for machine keys). */
export const MIN_RSA_BITS = 2048;
/** At most this many keys are read from one JWKS. */
export const MAX_JWKS_KEYS = 100;

export interface ImportedKey {
  kid?: string;
  /** The JWK's `alg`, when it names one: then the key verifies only that algorithm. */
  alg?: string;
  key: KeyObject;
}

export interface ImportedJwks {
  keys: ImportedKey[];
  /** Why an entry was not taken (by position in `keys`), for upload validation and logs. */
  skipped: string[];
}

const CURVE_OF: Partial<Record<FederationAlgorithm, string>> = { ES256: "prime256v1", ES384: "secp384r1", ES512: "secp521r1" };

/** Whether the key's type (and curve, size) fits the algorithm: an RS256 header never verifies with an EC key. */
export function keyFitsAlgorithm(key: KeyObject, alg: FederationAlgorithm): boolean {
  const type = key.asymmetricKeyType;
  if (alg.startsWith("RS") || alg.startsWith("PS")) {
    return (type === "rsa" || (type === "rsa-pss" && alg.startsWith("PS"))) && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= MIN_RSA_BITS;
  }
  if (alg === "EdDSA") return type === "ed25519" || type === "ed448";
  return type === "ec" && key.asymmetricKeyDetails?.namedCurve === CURVE_OF[alg];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** One JWK → a public key, or why not. */
function importJwk(jwk: unknown): ImportedKey | string {
  if (!isObject(jwk)) return "not a JSON object";
  const { kty, kid, alg, use } = jwk;
  if (kty !== "RSA" && kty !== "EC" && kty !== "OKP") return `kty ${JSON.stringify(kty)} is not an asymmetric signing key type`;
  if ("d" in jwk || "p" in jwk || "q" in jwk) return "contains private key material";
  if (kid !== undefined && (typeof kid !== "string" || kid.length === 0 || kid.length > 256)) return "kid is not a string of 1 to 256 characters";
  if (alg !== undefined && !isFederationAlgorithm(alg)) return `alg ${JSON.stringify(alg)} is not an accepted asymmetric algorithm`;
  // "sig" (RFC 7517) or "jwt-svid" (a SPIFFE bundle); X.509-SVID and encryption keys are not for JWTs.
  if (use !== undefined && use !== "sig" && use !== "jwt-svid") return `use ${JSON.stringify(use)} is not a signature use`;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes("verify"))) return "key_ops does not include verify";
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as import("node:crypto").JsonWebKey, format: "jwk" });
  } catch (e) {
    return `not a valid ${kty} key (${(e as Error).message})`;
  }
  if (!FEDERATION_ALGORITHMS.some((a) => keyFitsAlgorithm(key, a))) return `a ${key.asymmetricKeyType} key no accepted algorithm fits (RSA needs ${MIN_RSA_BITS} bits)`;
  if (isFederationAlgorithm(alg) && !keyFitsAlgorithm(key, alg)) return `the key does not fit its own alg ${alg}`;
  return { ...(kid !== undefined ? { kid: kid as string } : {}), ...(alg !== undefined ? { alg: alg as string } : {}), key };
}

/** A JWKS document (`{"keys":[…]}`) → its usable keys; `error` when the document itself is unusable. */
export function importJwks(doc: unknown): ImportedJwks | { error: string } {
  if (!isObject(doc) || !Array.isArray(doc.keys)) return { error: 'not a JWKS (a JSON object with a "keys" array)' };
  if (doc.keys.length > MAX_JWKS_KEYS) return { error: `more than ${MAX_JWKS_KEYS} keys` };
  const keys: ImportedKey[] = [];
  const skipped: string[] = [];
  doc.keys.forEach((jwk, i) => {
    const k = importJwk(jwk);
    if (typeof k === "string") skipped.push(`key ${i}: ${k}`);
    else keys.push(k);
  });
  return { keys, skipped };
}

/**
 * The key for a JWS header: with a kid, the key of that kid unless its JWK names another `alg`
 * (whether its type fits the header's algorithm is the verifier's check, so that a mismatch is
 * reported as one); without a kid, the only key that fits the algorithm (several fitting keys and
 * no kid: none, rather than a guess).
 */
export function selectKey(keys: readonly ImportedKey[], kid: string | undefined, alg: FederationAlgorithm): KeyObject | undefined {
  if (kid !== undefined) return keys.find((k) => k.kid === kid && (k.alg === undefined || k.alg === alg))?.key;
  const candidates = keys.filter((k) => (k.alg === undefined || k.alg === alg) && keyFitsAlgorithm(k.key, alg));
  return candidates.length === 1 ? candidates[0]!.key : undefined;
}

/** Whether a kid is known at all (whatever its algorithm): a miss is what makes a fetched JWKS refresh. */
export const hasKid = (keys: readonly ImportedKey[], kid: string | undefined) => kid === undefined || keys.some((k) => k.kid === kid);
