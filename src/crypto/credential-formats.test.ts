import { describe, expect, it } from "vitest";
import { CREDENTIAL_PATTERNS, SECRET_LENGTH, checksum62, classifySecret, crc32, formatPat, newClientSecret, patBody } from "./credential-formats.js";
import { newPersonalAccessToken, readPersonalAccessToken } from "./tokens.js";
import { deriveKeys } from "./keys.js";

describe("leak-detectable credential formats", () => {
  it("uses zlib's CRC-32, written as 6 base62 digits", () => {
    expect(crc32("123456789")).toBe(0xcbf43926);
    // 0xcbf43926 = 3421780262 = 3·62^5 + … : most significant digit first, zero-padded.
    let n = 0;
    for (const c of checksum62("123456789")) n = n * 62 + "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".indexOf(c);
    expect(n).toBe(0xcbf43926);
    expect(checksum62("")).toBe("000000");
  });

  it("mints secrets a scanner finds and checks; refuses a broken checksum, passes old values through", () => {
    const s = newClientSecret("portcullis");
    expect(s).toHaveLength(SECRET_LENGTH);
    expect(s).toMatch(CREDENTIAL_PATTERNS.clientSecret);
    expect(checksum62(s.slice(0, -6))).toBe(s.slice(-6));
    expect(classifySecret(s)).toBe("new");
    expect(classifySecret(s.slice(0, -1) + (s.endsWith("0") ? "1" : "0"))).toBe("broken");
    expect(classifySecret(s.slice(0, 10) + "_" + s.slice(11))).toBe("broken");
    expect(classifySecret(s + "x")).toBe("broken");
    const app = newClientSecret("portcullis", "app");
    expect(app).toMatch(/^pca_[A-Za-z0-9]{64}$/);
    expect(app).toMatch(CREDENTIAL_PATTERNS.appClientSecret);
    expect(app).not.toMatch(CREDENTIAL_PATTERNS.clientSecret);
    expect(classifySecret(app)).toBe("new");
    expect(classifySecret(app.slice(0, -1) + (app.endsWith("0") ? "1" : "0"))).toBe("broken");
    expect(newClientSecret("zitadel", "app")).toMatch(/^[A-Za-z0-9]{64}$/);
    const old = newClientSecret("zitadel");
    expect(old).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(classifySecret(old)).toBe("legacy");
  });

  it("wraps PATs; a wrong checksum reads as no PAT; the bare old format still reads", () => {
    const keys = deriveKeys("a master key of at least thirty-two characters");
    const { token } = newPersonalAccessToken(keys.hmac, "123", "user-1");
    expect(token).toMatch(/^pcp_/);
    expect(token).toMatch(CREDENTIAL_PATTERNS.personalAccessToken);
    expect(readPersonalAccessToken(token)).toEqual({ tokenId: "123", userId: "user-1" });
    const body = patBody(token)!;
    expect(formatPat(body)).toBe(token);
    expect(readPersonalAccessToken(token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"))).toBeUndefined();
    expect(readPersonalAccessToken(body)).toEqual({ tokenId: "123", userId: "user-1" });
  });
});
