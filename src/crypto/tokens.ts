import { randomBytes } from "node:crypto";
import { keyedHash, open, seal } from "./keys.js";

/**
 * Token formats. Every token this server issues is opaque to clients; the first decoded byte tells
 * the server which kind it is.
 *
 * - Opaque access token: base64url(0x01 ‖ AES-256-GCM(tokenKey, claims)). Self-contained: issuing one
 *   writes nothing; checking one needs the key, the clock and the user's in-memory state.
 * - Personal access token: base64url(0x02 ‖ len ‖ tokenId ‖ len ‖ userId ‖ 32 random bytes). The ids
 *   only locate the record; the 256 random bits are the secret, and only HMAC(hmacKey, token) is stored.
 */
const KIND_ACCESS = 0x01;
const KIND_PAT = 0x02;

/** What an access token asserts; `cred` binds it to the credential that obtained it. */
export interface AccessClaims {
  /** Token id (jti). */
  tid: string;
  sub: string;
  /** Org of the user at issuance. */
  org: string;
  iat: number;
  exp: number;
  aud: string[];
  scope: string[];
  /** The credential: "secret:<sequence of the secret.set event>" or "key:<keyId>". */
  cred: string;
  clientId: string;
}

export function sealAccessToken(key: Buffer, claims: AccessClaims): string {
  const box = seal(key, Buffer.from(JSON.stringify(claims)), ACCESS_AAD);
  return Buffer.concat([Buffer.of(KIND_ACCESS), box]).toString("base64url");
}

const ACCESS_AAD = Buffer.from("portcullis-at-v1");

export function openAccessToken(key: Buffer, raw: Buffer): AccessClaims | undefined {
  if (raw[0] !== KIND_ACCESS) return undefined;
  const plain = open(key, raw.subarray(1), ACCESS_AAD);
  if (!plain) return undefined;
  try {
    const c = JSON.parse(plain.toString()) as AccessClaims;
    return typeof c.tid === "string" && typeof c.sub === "string" && typeof c.exp === "number" ? c : undefined;
  } catch {
    return undefined;
  }
}

export function newPersonalAccessToken(hmacKey: Buffer, tokenId: string, userId: string): { token: string; hash: string } {
  const t = Buffer.from(tokenId);
  const u = Buffer.from(userId);
  if (t.length > 255 || u.length > 255) throw new Error("id too long for a PAT");
  const token = Buffer.concat([Buffer.of(KIND_PAT, t.length), t, Buffer.of(u.length), u, randomBytes(32)]).toString("base64url");
  return { token, hash: keyedHash(hmacKey, token) };
}

export function parsePersonalAccessToken(raw: Buffer): { tokenId: string; userId: string } | undefined {
  if (raw[0] !== KIND_PAT || raw.length < 3) return undefined;
  const tl = raw[1]!;
  const ul = raw[2 + tl];
  if (ul === undefined || raw.length !== 3 + tl + ul + 32) return undefined;
  return { tokenId: raw.subarray(2, 2 + tl).toString(), userId: raw.subarray(3 + tl, 3 + tl + ul).toString() };
}

const B64URL = /^[A-Za-z0-9_-]+$/;

/** Decodes a bearer string into bytes if it can be one of our opaque tokens (never throws). */
export function decodeOpaque(token: string): Buffer | undefined {
  if (token.length < 8 || token.length > 4096 || !B64URL.test(token)) return undefined;
  return Buffer.from(token, "base64url");
}
