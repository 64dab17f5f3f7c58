import { describe, expect, it } from "vitest";
import { KNOWN_EVENT_TYPES, publicPayload, REDACTED } from "./public-events.js";

describe("event payloads shown outside the server", () => {
  it("withholds the secret and PAT verifiers, keeps public keys and ids", () => {
    expect(publicPayload("user.machine.secret.set", { hashedSecret: "abc" })).toEqual({ hashedSecret: REDACTED });
    expect(publicPayload("user.pat.added", { tokenId: "t1", expiration: "2030-01-01T00:00:00.000Z", scopes: ["openid"], tokenHash: "h" })).toEqual({
      tokenId: "t1",
      expiration: "2030-01-01T00:00:00.000Z",
      scopes: ["openid"],
      tokenHash: REDACTED,
    });
    const key = { keyId: "k", type: 1, expirationDate: "2030-01-01T00:00:00Z", publicKey: "LS0t" };
    expect(publicPayload("user.machine.key.added", key)).toEqual(key);
  });

  it("withholds fields named like secrets in any event type, so a new one cannot leak by default", () => {
    expect(publicPayload("user.machine.secret.added", { secretId: "s1", hashedSecret: "h", description: "ci" })).toEqual({ secretId: "s1", hashedSecret: REDACTED, description: "ci" });
    expect(publicPayload("some.future.event", { clientSecret: "s", privateKey: "p", password: "x", accessToken: "t", name: "n" })).toEqual({
      clientSecret: REDACTED,
      privateKey: REDACTED,
      password: REDACTED,
      accessToken: REDACTED,
      name: "n",
    });
  });

  it("lists every event type the server writes", () => {
    expect(KNOWN_EVENT_TYPES).toContain("user.machine.secret.set");
    expect(KNOWN_EVENT_TYPES).toContain("project.role.added");
    expect(KNOWN_EVENT_TYPES).toContain("instance.member.added");
  });
});
