import { describe, expect, it } from "vitest";
import { deriveKeys, keyedHash, keyedHashMatches, openWithAnyKey, seal } from "./keys.js";
import { mintAccessToken, openAccessToken, type AccessClaims } from "./tokens.js";

const A = "master-key-A-of-at-least-32-characters!!";
const B = "master-key-B-of-at-least-32-characters!!";
const C = "master-key-C-of-at-least-32-characters!!";

describe("the master key ring", () => {
  const old = deriveKeys(A);
  const ring = deriveKeys(B, [A]);

  it("derives the current key at the top level, unchanged by previous keys", () => {
    expect(ring.hmac.equals(deriveKeys(B).hmac)).toBe(true);
    expect(ring.check).toBe(deriveKeys(B).check);
    expect(ring.previous.map((p) => p.check)).toEqual([old.check]);
    expect(deriveKeys(B).previous).toEqual([]);
  });

  it("verifies a keyed hash under the current key, then under previous ones", () => {
    expect(keyedHashMatches(ring, "new", keyedHash(ring.hmac, "new"))).toBe(true);
    expect(keyedHashMatches(ring, "old", keyedHash(old.hmac, "old"))).toBe(true);
    expect(keyedHashMatches(ring, "old", keyedHash(old.hmac, "other"))).toBe(false);
    expect(keyedHashMatches(ring, "x", keyedHash(deriveKeys(C).hmac, "x"))).toBe(false);
    // Without the previous key, a hash made under it no longer verifies.
    expect(keyedHashMatches(deriveKeys(B), "old", keyedHash(old.hmac, "old"))).toBe(false);
  });

  it("opens opaque access tokens MACed with a previous key", () => {
    const claims: AccessClaims = { tid: "1", sub: "2", org: "3", iat: 1, exp: 2, aud: [], scope: ["openid"], cred: "secret:1", clientId: "c" };
    const before = Buffer.from(mintAccessToken(old.tokenMac, claims), "base64url");
    const after = Buffer.from(mintAccessToken(ring.tokenMac, claims), "base64url");
    expect(openAccessToken(ring, before)).toEqual(claims);
    expect(openAccessToken(ring, after)).toEqual(claims);
    expect(openAccessToken(deriveKeys(B), before)).toBeUndefined();
    expect(openAccessToken(old, after)).toBeUndefined();
  });

  it("opens a sealed box with whichever key sealed it and says which", () => {
    const aad = Buffer.from("kid");
    expect(openWithAnyKey(ring, seal(ring.wrap, Buffer.from("x"), aad), aad)).toEqual({ plain: Buffer.from("x"), keyIndex: 0 });
    expect(openWithAnyKey(ring, seal(old.wrap, Buffer.from("y"), aad), aad)).toEqual({ plain: Buffer.from("y"), keyIndex: 1 });
    expect(openWithAnyKey(ring, seal(old.wrap, Buffer.from("y"), aad), Buffer.from("other"))).toBeUndefined();
    expect(openWithAnyKey(deriveKeys(B), seal(old.wrap, Buffer.from("y"), aad), aad)).toBeUndefined();
  });
});
