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
