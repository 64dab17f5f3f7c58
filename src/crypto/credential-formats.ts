import { generateSecret } from "./keys.js";

/**
 * Leak-detectable credential formats (in the spirit of GitHub's `ghp_…` tokens): a fixed prefix per
 * kind, a random body, and a CRC32 checksum of prefix and body, base62, 6 characters. A secret
 * scanner can find them with the regular expressions below (also in the README) and check the
 * checksum offline, so it reports few false positives; the server refuses a value whose checksum is
 * wrong before it looks anything up. The checksum is not a MAC: it detects typos and random strings,
 * the keyed hash still decides.
 *
 * - Client secret of a machine: `pcs_` + 58 [A-Za-z0-9] (≈345 bits) + checksum: 68 characters.
 * - Client secret of an API application: `pca_`, the same shape.
 * - Personal access token: `pcp_` + base64url(0x02 ‖ len ‖ tokenId ‖ len ‖ userId ‖ 32 random bytes) + checksum.
 *
 * Credentials minted before these formats (64 alphanumerics; a PAT's bare base64url, which always
 * starts with "A") keep working: a value without a known prefix takes the old path.
 */
export const SECRET_PREFIX = "pcs_";
export const APP_SECRET_PREFIX = "pca_";
export const PAT_PREFIX = "pcp_";
const CHECKSUM_CHARS = 6;
const SECRET_RANDOM_CHARS = 58;
export const SECRET_LENGTH = SECRET_PREFIX.length + SECRET_RANDOM_CHARS + CHECKSUM_CHARS;

/** For the README and the tests: what a scanner looks for. */
export const CREDENTIAL_PATTERNS = {
  clientSecret: /\bpcs_[A-Za-z0-9]{64}\b/,
  appClientSecret: /\bpca_[A-Za-z0-9]{64}\b/,
  personalAccessToken: /\bpcp_[A-Za-z0-9_-]{50,700}/,
} as const;

/** "portcullis" mints prefixed secrets; "zitadel" ZITADEL's exact shape (64 alphanumerics), for byte-for-byte compatibility. */
export type SecretFormat = "portcullis" | "zitadel";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as zlib's crc32) of the string's ASCII code units. */
export function crc32(s: string, end = s.length): number {
  let c = 0xffffffff;
  for (let i = 0; i < end; i++) c = CRC_TABLE[(c ^ s.charCodeAt(i)) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The CRC-32 as 6 base62 digits, most significant first, zero-padded (62^6 > 2^32). */
export function checksum62(s: string, end = s.length): string {
  let n = crc32(s, end);
  let out = "";
  for (let i = 0; i < CHECKSUM_CHARS; i++) {
    out = BASE62[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** Whether the last 6 characters are the checksum of everything before them (no allocation but the checksum). */
function checksumValid(value: string): boolean {
  const end = value.length - CHECKSUM_CHARS;
  if (end <= 0) return false;
  const sum = checksum62(value, end);
  let diff = 0;
  for (let i = 0; i < CHECKSUM_CHARS; i++) diff |= sum.charCodeAt(i) ^ value.charCodeAt(end + i);
  return diff === 0;
}

const withChecksum = (body: string) => body + checksum62(body);

/** A new client secret in the configured format: a machine's (`pcs_`) or an API application's (`pca_`). */
export function newClientSecret(format: SecretFormat, of: "machine" | "app" = "machine"): string {
  if (format === "zitadel") return generateSecret(64);
  return withChecksum((of === "app" ? APP_SECRET_PREFIX : SECRET_PREFIX) + generateSecret(SECRET_RANDOM_CHARS));
}

/**
 * How a presented client secret looks: "new" (one of our secret prefixes, checksum right), "broken"
 * (such a prefix, wrong length, characters or checksum: refuse without a lookup), "legacy" (no
 * prefix: check as before). Machine and app prefixes are both recognized wherever a secret is read.
 */
export function classifySecret(value: string): "new" | "broken" | "legacy" {
  if (!value.startsWith(SECRET_PREFIX) && !value.startsWith(APP_SECRET_PREFIX)) return "legacy";
  if (value.length !== SECRET_LENGTH) return "broken";
  for (let i = SECRET_PREFIX.length; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return "broken";
  }
  return checksumValid(value) ? "new" : "broken";
}

/** Wraps a PAT's base64url body in the documented format. */
export const formatPat = (body: string) => withChecksum(PAT_PREFIX + body);

/**
 * The base64url body of a PAT: unwrapped from the new format when its checksum is right, as is for
 * the old format (no prefix), undefined for a prefixed value with a wrong checksum.
 */
export function patBody(value: string): string | undefined {
  if (!value.startsWith(PAT_PREFIX)) return value;
  if (!checksumValid(value)) return undefined;
  return value.slice(PAT_PREFIX.length, value.length - CHECKSUM_CHARS);
}
