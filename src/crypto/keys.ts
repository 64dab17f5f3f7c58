import * as nodeCrypto from "node:crypto";
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomFillSync, randomInt } from "node:crypto";

/**
 * Key material derived from one master key. One master key, several purposes, each its own
 * HKDF-derived subkey so that no key is used for two things.
 */
export interface KeySet {
  /** HMAC-SHA256 key for client secrets and PATs (keyed hashes, never the clear value). */
  hmac: Buffer;
  /** AES-256-GCM key of the first opaque access-token format (still accepted, no longer issued). */
  token: Buffer;
  /** HMAC-SHA256 key authenticating self-contained opaque access tokens. */
  tokenMac: Buffer;
  /** AES-256-GCM key wrapping private keys stored in the database (the OIDC signing key). */
  wrap: Buffer;
  /** A public fingerprint of the master key, stored to detect a wrong PORTCULLIS_MASTERKEY. */
  check: string;
}

/**
 * The master key ring: the current key (its subkeys at the top level, so that the hot path reads
 * them directly) makes everything new; previous keys (PORTCULLIS_MASTERKEY_PREVIOUS) are only
 * tried when the current key does not verify or open something made before a rotation.
 */
export interface ServerKeys extends KeySet {
  previous: readonly KeySet[];
}

export function deriveKeys(masterkey: string | Buffer, previous: readonly (string | Buffer)[] = []): ServerKeys {
  return { ...deriveKeySet(masterkey), previous: previous.map(deriveKeySet) };
}

function deriveKeySet(masterkey: string | Buffer): KeySet {
  const ikm = typeof masterkey === "string" ? Buffer.from(masterkey, "utf8") : masterkey;
  const sub = (info: string) => Buffer.from(hkdfSync("sha256", ikm, "portcullis", info, 32));
  return {
    hmac: sub("secret-hmac-v1"),
    token: sub("access-token-v1"),
    tokenMac: sub("access-token-mac-v2"),
    wrap: sub("key-wrap-v1"),
    check: sub("check-v1").toString("base64url"),
  };
}

/**
 * HMAC-SHA256 (RFC 2104) computed with two one-shot hashes over precomputed pads: byte for byte the
 * same as `createHmac("sha256", key)`, without creating an Hmac object per call (which cost more than
 * the hashing on the token path). Falls back to createHmac where `crypto.hash` is missing (Node < 20.12).
 */
type OneShotHash = (algorithm: string, data: Buffer, outputEncoding: "buffer" | "base64url") => Buffer | string;
const oneShot = (nodeCrypto as unknown as { hash?: OneShotHash }).hash;

interface Pads {
  ipad: Buffer;
  /** opad ‖ room for the inner digest. */
  outer: Buffer;
}
const padsByKey = new WeakMap<Buffer, Pads>();
/** Reused for the inner hash's input (values up to 4 KiB); larger values get their own buffer. */
const scratch = Buffer.allocUnsafe(64 + 4096);

function padsOf(key: Buffer): Pads {
  let p = padsByKey.get(key);
  if (!p) {
    const k = key.length > 64 ? createHash("sha256").update(key).digest() : key;
    const ipad = Buffer.alloc(64, 0x36);
    const outer = Buffer.alloc(96, 0x5c);
    for (let i = 0; i < k.length; i++) {
      ipad[i]! ^= k[i]!;
      outer[i]! ^= k[i]!;
    }
    padsByKey.set(key, (p = { ipad, outer }));
  }
  return p;
}

/** HMAC-SHA256 of `value` (a string, UTF-8 encoded, or bytes). */
export function hmacSha256(key: Buffer, value: string | Buffer, encoding: "buffer"): Buffer;
export function hmacSha256(key: Buffer, value: string | Buffer, encoding: "base64url"): string;
export function hmacSha256(key: Buffer, value: string | Buffer, encoding: "buffer" | "base64url"): Buffer | string {
  if (!oneShot) {
    const h = createHmac("sha256", key).update(value);
    return encoding === "buffer" ? h.digest() : h.digest("base64url");
  }
  const { ipad, outer } = padsOf(key);
  const n = typeof value === "string" ? Buffer.byteLength(value) : value.length;
  const inner = 64 + n <= scratch.length ? scratch : Buffer.allocUnsafe(64 + n);
  ipad.copy(inner, 0);
  if (typeof value === "string") inner.write(value, 64, "utf8");
  else value.copy(inner, 64);
  (oneShot("sha256", inner.subarray(0, 64 + n), "buffer") as Buffer).copy(outer, 64);
  return oneShot("sha256", outer, encoding);
}

export const keyedHash = (key: Buffer, value: string): string => hmacSha256(key, value, "base64url");

/**
 * Whether `stored` is the keyed hash of `value` under the current master key or, failing that,
 * under a previous one (hashes made before a master-key rotation cannot be re-keyed without the
 * secret). The current key is tried first, so without a rotation this costs one HMAC; on a mismatch
 * every previous key is tried, also after a match, so that the time does not tell which key matched.
 */
export function keyedHashMatches(keys: ServerKeys, value: string, stored: string): boolean {
  if (hashesEqual(keyedHash(keys.hmac, value), stored)) return true;
  let match = false;
  for (const k of keys.previous) if (hashesEqual(keyedHash(k.hmac, value), stored)) match = true;
  return match;
}

/** The sealed box opened with the current wrap key or a previous one; which one opened it (0 = current). */
export function openWithAnyKey(keys: ServerKeys, box: Buffer, aad?: Buffer): { plain: Buffer; keyIndex: number } | undefined {
  const wraps = [keys.wrap, ...keys.previous.map((k) => k.wrap)];
  for (let i = 0; i < wraps.length; i++) {
    const plain = open(wraps[i]!, box, aad);
    if (plain) return { plain, keyIndex: i };
  }
  return undefined;
}

/**
 * Comparison of two keyed hashes (base64url, equal length by construction) whose time does not
 * depend on where they differ: every character is looked at. No buffers are allocated for it (it
 * runs on every authenticated request).
 */
export function hashesEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** 64 characters of [A-Za-z0-9] from the CSPRNG (≈381 bits), as ZITADEL's client-secret generator. */
export function generateSecret(length = 64): string {
  let s = "";
  for (let i = 0; i < length; i++) s += ALNUM[randomInt(ALNUM.length)];
  return s;
}

/**
 * Random IVs drawn from a pool refilled 4 KiB at a time: one CSPRNG call per 340 tokens instead of
 * one per token (it showed up at 9 µs per request in the token endpoint's profile).
 */
const ivPool = Buffer.alloc(4096);
let ivOffset = ivPool.length;
function nextIv(): Buffer {
  if (ivOffset + 12 > ivPool.length) {
    randomFillSync(ivPool);
    ivOffset = 0;
  }
  const iv = Buffer.from(ivPool.subarray(ivOffset, ivOffset + 12));
  ivOffset += 12;
  return iv;
}

export function seal(key: Buffer, plaintext: Buffer, aad?: Buffer): Buffer {
  const iv = nextIv();
  const c = createCipheriv("aes-256-gcm", key, iv);
  if (aad) c.setAAD(aad);
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([iv, body, c.getAuthTag()]);
}

/** Returns undefined for anything that is not a valid sealed box under this key. */
export function open(key: Buffer, box: Buffer, aad?: Buffer): Buffer | undefined {
  if (box.length < 12 + 16) return undefined;
  try {
    const d = createDecipheriv("aes-256-gcm", key, box.subarray(0, 12));
    if (aad) d.setAAD(aad);
    d.setAuthTag(box.subarray(box.length - 16));
    return Buffer.concat([d.update(box.subarray(12, box.length - 16)), d.final()]);
  } catch {
    return undefined;
  }
}
