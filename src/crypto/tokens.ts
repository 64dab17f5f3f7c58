import { randomBytes, timingSafeEqual } from "node:crypto";
import { formatPat, patBody } from "./credential-formats.js";
import { hmacSha256, keyedHash, open, seal } from "./keys.js";

/**
 * Token formats. Every token this server issues is opaque to clients; the first decoded byte tells
 * the server which kind it is.
 *
 * - Opaque access token: base64url(0x03 ‖ claims ‖ tag), claims a positional JSON array, tag the first
 *   16 bytes of HMAC-SHA256(tokenMacKey, 0x03 ‖ claims). Self-contained: issuing one writes nothing;
 *   checking one needs the key, the clock and the user's in-memory state. The claims are
 *   authenticated, not encrypted: they are what introspection tells any resource server holding the
 *   token (ids, scopes, expiry), and clients must treat the token as opaque all the same.
 * - Opaque access token, first format: base64url(0x01 ‖ AES-256-GCM(tokenKey, JSON claims)). No longer
 *   issued (an AES-GCM cipher per token cost more than the rest of the token request); still accepted
 *   so that tokens issued before an upgrade stay valid until they expire.
 * - Personal access token: `pcp_` ‖ base64url(0x02 ‖ len ‖ tokenId ‖ len ‖ userId ‖ 32 random bytes) ‖
 *   checksum (credential-formats.ts; before that format, the bare base64url, still accepted). The ids
 *   only locate the record; the 256 random bits are the secret, and only HMAC(hmacKey, token) is stored.
 *
 * Ids are at most 255 bytes in a PAT; user ids are at most MAX_ID_BYTES (200) bytes of UTF-8
 * (domain/identifiers.ts, enforced by AddMachineUser), so every user has room in every format
 * (tokens.test.ts checks the longest ids against each).
 */
const KIND_ACCESS_SEALED = 0x01;
const KIND_PAT = 0x02;
const KIND_ACCESS = 0x03;
const TAG_BYTES = 16;

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
  scope: readonly string[];
  /** The credential: "secret:<sequence of the secret.set event>" or "key:<keyId>". */
  cred: string;
  clientId: string;
}

/** Issues an opaque access token (format 0x03). */
export function mintAccessToken(macKey: Buffer, c: AccessClaims): string {
  const payload = JSON.stringify([c.tid, c.sub, c.org, c.iat, c.exp, c.aud, c.scope, c.cred, c.clientId]);
  const n = Buffer.byteLength(payload);
  const buf = Buffer.allocUnsafe(1 + n + TAG_BYTES);
  buf[0] = KIND_ACCESS;
  buf.write(payload, 1, "utf8");
  hmacSha256(macKey, buf.subarray(0, 1 + n), "buffer").copy(buf, 1 + n, 0, TAG_BYTES);
  return buf.toString("base64url");
}

/** The first format, kept for tests of the upgrade path; the server no longer issues it. */
export function sealAccessToken(key: Buffer, claims: AccessClaims): string {
  const box = seal(key, Buffer.from(JSON.stringify(claims)), ACCESS_AAD);
  return Buffer.concat([Buffer.of(KIND_ACCESS_SEALED), box]).toString("base64url");
}

const ACCESS_AAD = Buffer.from("portcullis-at-v1");

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

/** The keys an opaque access token may be authenticated with: the current ones, then previous master keys' ones. */
export interface AccessTokenKeys {
  token: Buffer;
  tokenMac: Buffer;
  previous?: readonly { token: Buffer; tokenMac: Buffer }[];
}

/**
 * The claims of a valid opaque access token of either format, or undefined (never throws). The
 * current key is tried first; only a token it does not authenticate is tried with previous master
 * keys (tokens issued before a master-key rotation stay valid until they expire).
 */
export function openAccessToken(keys: AccessTokenKeys, raw: Buffer): AccessClaims | undefined {
  const claims = openWith(keys, raw);
  if (claims !== undefined || !keys.previous?.length) return claims;
  for (const k of keys.previous) {
    const c = openWith(k, raw);
    if (c) return c;
  }
  return undefined;
}

function openWith(keys: { token: Buffer; tokenMac: Buffer }, raw: Buffer): AccessClaims | undefined {
  if (raw[0] === KIND_ACCESS) {
    if (raw.length < 1 + 2 + TAG_BYTES) return undefined;
    const body = raw.subarray(0, raw.length - TAG_BYTES);
    const tag = hmacSha256(keys.tokenMac, body, "buffer").subarray(0, TAG_BYTES);
    if (!timingSafeEqual(tag, raw.subarray(raw.length - TAG_BYTES))) return undefined;
    try {
      const a = JSON.parse(body.toString("utf8", 1)) as unknown[];
      if (!Array.isArray(a) || a.length !== 9) return undefined;
      const [tid, sub, org, iat, exp, aud, scope, cred, clientId] = a;
      if (typeof tid !== "string" || typeof sub !== "string" || typeof org !== "string" || typeof iat !== "number" || typeof exp !== "number") return undefined;
      if (!isStrings(aud) || !isStrings(scope) || typeof cred !== "string" || typeof clientId !== "string") return undefined;
      return { tid, sub, org, iat, exp, aud, scope, cred, clientId };
    } catch {
      return undefined;
    }
  }
  if (raw[0] !== KIND_ACCESS_SEALED) return undefined;
  const plain = open(keys.token, raw.subarray(1), ACCESS_AAD);
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
  const token = formatPat(Buffer.concat([Buffer.of(KIND_PAT, t.length), t, Buffer.of(u.length), u, randomBytes(32)]).toString("base64url"));
  return { token, hash: keyedHash(hmacKey, token) };
}

export function parsePersonalAccessToken(raw: Buffer): { tokenId: string; userId: string } | undefined {
  if (raw[0] !== KIND_PAT || raw.length < 3) return undefined;
  const tl = raw[1]!;
  const ul = raw[2 + tl];
  if (ul === undefined || raw.length !== 3 + tl + ul + 32) return undefined;
  return { tokenId: raw.subarray(2, 2 + tl).toString(), userId: raw.subarray(3 + tl, 3 + tl + ul).toString() };
}

/**
 * The ids of a PAT given as presented, in the current format (prefix, checksum) or the old one (bare
 * base64url); undefined when it is neither (a prefixed value with a wrong checksum among them).
 */
export function readPersonalAccessToken(token: string): { tokenId: string; userId: string } | undefined {
  const body = patBody(token);
  const raw = body === undefined ? undefined : decodeOpaque(body);
  return raw && parsePersonalAccessToken(raw);
}

const B64URL = /^[A-Za-z0-9_-]+$/;

/** The 6-bit value of a base64url character (one of [A-Za-z0-9_-], checked before). */
function sextet(c: number): number {
  if (c >= 97) return c - 71; // a-z: 26-51
  if (c >= 65) return c - 65; // A-Z: 0-25
  if (c >= 48) return c + 4; // 0-9: 52-61
  return c === 45 ? 62 : 63; // "-", "_"
}

/**
 * Whether an unpadded base64url string is the one spelling of its bytes: Node's decoder ignores a
 * lone last character and the unused low bits of the last one, so `<token>A` or a token with another
 * last character would decode to the same bytes, and the same token would have several spellings.
 */
function canonicalBase64url(s: string): boolean {
  const rest = s.length % 4;
  if (rest === 0) return true;
  if (rest === 1) return false;
  // Two characters carry one byte (4 bits unused), three carry two (2 bits unused).
  return (sextet(s.charCodeAt(s.length - 1)) & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/** Decodes a bearer string into bytes if it can be one of our opaque tokens, in its one spelling (never throws). */
export function decodeOpaque(token: string): Buffer | undefined {
  if (token.length < 8 || token.length > 4096 || !B64URL.test(token) || !canonicalBase64url(token)) return undefined;
  return Buffer.from(token, "base64url");
}
