import { createVerify, sign, type KeyObject } from "node:crypto";

const b64url = (s: string | Buffer) => Buffer.from(s).toString("base64url");

/**
 * A compact RS256 JWS. The header is encoded once per key and type. The RSA operation runs on
 * libuv's thread pool (crypto.sign with a callback), so signing uses the other cores while the
 * event loop serves the next requests.
 */
export function signRs256(privateKey: KeyObject, encodedHeader: string, claims: object): Promise<string> {
  const input = `${encodedHeader}.${b64url(JSON.stringify(claims))}`;
  return new Promise((resolve, reject) =>
    sign("sha256", Buffer.from(input), privateKey, (err, sig) => (err ? reject(err) : resolve(`${input}.${sig.toString("base64url")}`))),
  );
}

/** An RS256 key pair of the server, for JWT access tokens and id tokens; the JWKS publishes `publicJwk`. */
export interface SigningKey {
  id: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: Record<string, unknown>;
}

export const encodeHeader = (kid: string, typ: string) => b64url(JSON.stringify({ alg: "RS256", kid, typ }));

export interface DecodedJwt {
  header: { alg?: unknown; kid?: unknown; typ?: unknown };
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

/** Splits and parses a compact JWS without verifying it; undefined for anything malformed. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  if (token.length > 16_384) return undefined;
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, "base64url").toString()) as unknown;
    const payload = JSON.parse(Buffer.from(parts[1]!, "base64url").toString()) as unknown;
    if (!isObject(header) || !isObject(payload)) return undefined;
    return { header, payload, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2]!, "base64url") };
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** RS256 only: the algorithm is fixed by the key, never taken from the token (no `none`, no HS256 confusion). */
export function verifyRs256(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  if (jwt.header.alg !== "RS256") return false;
  try {
    return createVerify("RSA-SHA256").update(jwt.signingInput).verify(publicKey, jwt.signature);
  } catch {
    return false;
  }
}
