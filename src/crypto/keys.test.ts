import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deriveKeys, hashesEqual, hmacSha256, keyedHash } from "./keys.js";
import { mintAccessToken, openAccessToken, sealAccessToken, type AccessClaims } from "./tokens.js";

describe("hmacSha256", () => {
  it("is byte for byte createHmac for any key length and any value", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.oneof(fc.string({ unit: "grapheme", maxLength: 300 }), fc.uint8Array({ maxLength: 5000 })), (k, v) => {
        const key = Buffer.from(k);
        const value = typeof v === "string" ? v : Buffer.from(v);
        expect(hmacSha256(key, value, "buffer").equals(createHmac("sha256", key).update(value).digest())).toBe(true);
        expect(hmacSha256(key, value, "base64url")).toBe(createHmac("sha256", key).update(value).digest("base64url"));
      }),
      { numRuns: 500, seed: 20261129 },
    );
  });

  it("keeps hashes stored by earlier versions valid (keyedHash = HMAC-SHA256, base64url)", () => {
    const key = deriveKeys("a-master-key-of-at-least-32-characters!!").hmac;
    const secret = "A".repeat(64);
    expect(keyedHash(key, secret)).toBe(createHmac("sha256", key).update(secret).digest("base64url"));
    // A value longer than the reused scratch buffer.
    const long = "x".repeat(10_000);
    expect(keyedHash(key, long)).toBe(createHmac("sha256", key).update(long).digest("base64url"));
  });
});

describe("hashesEqual", () => {
  it("is true exactly for equal strings", () => {
    const key = deriveKeys("a-master-key-of-at-least-32-characters!!").hmac;
    const h = keyedHash(key, "secret");
    expect(hashesEqual(h, keyedHash(key, "secret"))).toBe(true);
    expect(hashesEqual(h, keyedHash(key, "secreT"))).toBe(false);
    for (let i = 0; i < h.length; i++) expect(hashesEqual(h, h.slice(0, i) + (h[i] === "A" ? "B" : "A") + h.slice(i + 1))).toBe(false);
    expect(hashesEqual(h, h.slice(1))).toBe(false);
    expect(hashesEqual("", "")).toBe(true);
  });
});

describe("opaque access tokens", () => {
  const keys = deriveKeys("a-master-key-of-at-least-32-characters!!");
  const claims: AccessClaims = {
    tid: "312345678901234567",
    sub: "312345678901234500",
    org: "312345678901234400",
    iat: 1_800_000_000,
    exp: 1_800_043_200,
    aud: ["312345678901234300"],
    scope: ["openid", "urn:zitadel:iam:org:project:id:zitadel:aud"],
    cred: "secret:7",
    clientId: "svc-ümlaut",
  };
  const open = (t: string) => openAccessToken(keys, Buffer.from(t, "base64url"));

  it("round-trips the claims and is opaque base64url", () => {
    const t = mintAccessToken(keys.tokenMac, claims);
    expect(t).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(open(t)).toEqual(claims);
  });

  it("refuses any changed byte, a truncated token, another key and a token of the other key's purpose", () => {
    const raw = Buffer.from(mintAccessToken(keys.tokenMac, claims), "base64url");
    for (let i = 0; i < raw.length; i++) {
      const bad = Buffer.from(raw);
      bad[i]! ^= 0x01;
      expect(openAccessToken(keys, bad)).toBeUndefined();
    }
    expect(openAccessToken(keys, raw.subarray(0, raw.length - 1))).toBeUndefined();
    expect(openAccessToken(keys, raw.subarray(0, 10))).toBeUndefined();
    const other = deriveKeys("another-master-key-of-at-least-32-chars!");
    expect(openAccessToken(other, raw)).toBeUndefined();
    // A token MACed with the HMAC key for secrets (another purpose) is not a token.
    expect(open(mintAccessToken(keys.hmac, claims))).toBeUndefined();
  });

  it("refuses well-MACed payloads of the wrong shape", () => {
    const forge = (payload: string) => {
      const body = Buffer.concat([Buffer.of(0x03), Buffer.from(payload)]);
      return Buffer.concat([body, hmacSha256(keys.tokenMac, body, "buffer").subarray(0, 16)]);
    };
    expect(openAccessToken(keys, forge('["a","b","c",1,2,[],[],"secret:1","x"]'))).toBeDefined();
    for (const p of ["{}", "[]", '["a","b","c",1,2,[],[],"secret:1"]', '["a","b","c","1",2,[],[],"secret:1","x"]', '["a","b","c",1,2,[1],[],"secret:1","x"]', "not json"])
      expect(openAccessToken(keys, forge(p))).toBeUndefined();
  });

  it("still accepts tokens of the first (AES-GCM) format, so an upgrade does not end live tokens", () => {
    const old = sealAccessToken(keys.token, claims);
    expect(open(old)).toEqual(claims);
    const raw = Buffer.from(old, "base64url");
    raw[raw.length - 1]! ^= 1;
    expect(openAccessToken(keys, raw)).toBeUndefined();
  });

  it("never shows the MAC key or the secret HMAC key in a token", () => {
    const t = Buffer.from(mintAccessToken(keys.tokenMac, claims), "base64url");
    expect(t.includes(keys.tokenMac)).toBe(false);
    expect(t.includes(keys.hmac)).toBe(false);
  });
});
