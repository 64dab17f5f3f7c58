import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_ID_BYTES } from "../domain/identifiers.js";
import { deriveKeys } from "./keys.js";
import { decodeOpaque, mintAccessToken, newPersonalAccessToken, openAccessToken, readPersonalAccessToken } from "./tokens.js";

// Every token format must carry every id AddMachineUser accepts (at most MAX_ID_BYTES of UTF-8) and
// every username the proto allows (200 characters, up to 800 bytes): a credential that can be issued
// but never used, or not issued at all, is what issue #19 found (a PAT for a 256-byte id: 500).

const keys = deriveKeys("tokens test master key material, 32+ chars");
/** Ids of at most MAX_ID_BYTES bytes, from any script, emoji and JSON-escaped characters included. */
const maxId = fc
  .array(fc.constantFrom("a", "é", "€", "😀", '"', "\\", "/", "ж"), { minLength: 1, maxLength: MAX_ID_BYTES })
  .map((cs) => {
    let id = "";
    for (const c of cs) if (Buffer.byteLength(id + c) <= MAX_ID_BYTES) id += c;
    return id;
  });

describe("token formats hold the longest ids", () => {
  it("a PAT carries any id of at most MAX_ID_BYTES bytes and parses back to it", () => {
    fc.assert(
      fc.property(maxId, (userId) => {
        const { token } = newPersonalAccessToken(keys.hmac, "123456789012345678", userId);
        expect(readPersonalAccessToken(token)).toEqual({ tokenId: "123456789012345678", userId });
      }),
      { numRuns: 300, seed: 20261129 },
    );
    for (const userId of ["a".repeat(MAX_ID_BYTES), "😀".repeat(MAX_ID_BYTES / 4), '"'.repeat(MAX_ID_BYTES)])
      expect(readPersonalAccessToken(newPersonalAccessToken(keys.hmac, "1", userId).token)?.userId).toBe(userId);
  });

  it("an opaque access token with the longest ids and a 200-character username decodes and opens", () => {
    const worst = {
      tid: "123456789012345678",
      sub: '"'.repeat(MAX_ID_BYTES), // each escaped in JSON: twice the bytes
      org: "\\".repeat(MAX_ID_BYTES),
      iat: 1_700_000_000,
      exp: 1_700_043_200,
      aud: ["123456789012345678"],
      scope: ["openid", "profile", "urn:zitadel:iam:org:project:id:zitadel:aud", "urn:zitadel:iam:user:metadata", "urn:zitadel:iam:user:resourceowner"],
      cred: "key:123456789012345678",
      clientId: "😀".repeat(200),
    };
    const token = mintAccessToken(keys.tokenMac, worst);
    const raw = decodeOpaque(token);
    expect(raw, `${token.length} characters`).toBeDefined();
    expect(openAccessToken(keys, raw!)).toEqual(worst);
  });
});

describe("a token has one spelling", () => {
  const claims = { tid: "1", sub: "2", org: "3", iat: 1_700_000_000, exp: 1_700_043_200, aud: ["4"], scope: ["openid"], cred: "secret:5", clientId: "c" };

  it("decodes exactly the base64url strings that are their bytes' own encoding", () => {
    // Every length and every last character: accepted exactly when re-encoding gives the same string.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 40 }), fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 2 }), (bytes, last, cut) => {
        const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const enc = Buffer.from(bytes).toString("base64url");
        const s = enc.slice(0, enc.length - cut - 1) + alphabet[last]!;
        const raw = decodeOpaque(s);
        if (raw) expect(raw.toString("base64url")).toBe(s);
        else if (s.length >= 8) expect(Buffer.from(s, "base64url").toString("base64url")).not.toBe(s);
      }),
      { numRuns: 2000, seed: 20261205 },
    );
  });

  it("refuses an issued token with a character appended or its last character changed", () => {
    // Node's decoder ignores a lone last character and the unused bits of the last one: without the
    // check, both variants below decoded to the issued token's bytes and authenticated.
    let checked = 0;
    for (let i = 0; i < 12; i++) {
      const token = mintAccessToken(keys.tokenMac, { ...claims, tid: String(10 ** i) });
      expect(openAccessToken(keys, decodeOpaque(token)!)).toBeDefined();
      const authenticates = (s: string) => {
        const raw = decodeOpaque(s);
        return raw !== undefined && openAccessToken(keys, raw) !== undefined;
      };
      for (const extra of ["A", "_", "0"]) expect(authenticates(token + extra)).toBe(false);
      if (token.length % 4 !== 0) {
        // A last character that differs only in the unused low bits.
        const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const v = alphabet.indexOf(token.at(-1)!);
        const twin = token.slice(0, -1) + alphabet[v | 1]!;
        expect(Buffer.from(twin, "base64url").equals(Buffer.from(token, "base64url"))).toBe(true);
        expect(decodeOpaque(twin)).toBeUndefined();
        expect(authenticates(twin)).toBe(false);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});
