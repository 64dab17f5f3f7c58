import { describe, expect, it } from "vitest";
import { envName, flagName } from "./schema.js";
import { loadConfig } from "./load.js";

describe("oauth settings", () => {
  it("default to the lifetime ZITADEL's SDKs mint (1 h) and an optional jti", () => {
    expect(loadConfig({ env: {} }).oauth).toEqual({ maxAssertionLifetime: 3600, requireAssertionJti: false });
  });

  it("are read from the environment and flags under their derived names", () => {
    expect(envName("oauth.maxAssertionLifetime")).toBe("PORTCULLIS_OAUTH_MAX_ASSERTION_LIFETIME");
    expect(envName("oauth.requireAssertionJti")).toBe("PORTCULLIS_OAUTH_REQUIRE_ASSERTION_JTI");
    expect(flagName("oauth.requireAssertionJti")).toBe("--oauth-require-assertion-jti");
    const c = loadConfig({ env: { PORTCULLIS_OAUTH_MAX_ASSERTION_LIFETIME: "300", PORTCULLIS_OAUTH_REQUIRE_ASSERTION_JTI: "true" } });
    expect(c.oauth).toEqual({ maxAssertionLifetime: 300, requireAssertionJti: true });
    expect(loadConfig({ env: {}, argv: ["--oauth-require-assertion-jti", "1"] }).oauth.requireAssertionJti).toBe(true);
  });

  it("refuses a lifetime that is not a positive number of seconds", () => {
    expect(() => loadConfig({ env: { PORTCULLIS_OAUTH_MAX_ASSERTION_LIFETIME: "0" } })).toThrow(/^invalid PORTCULLIS_OAUTH_MAX_ASSERTION_LIFETIME/);
    expect(() => loadConfig({ env: { PORTCULLIS_OAUTH_MAX_ASSERTION_LIFETIME: "1h" } })).toThrow(/^invalid PORTCULLIS_OAUTH_MAX_ASSERTION_LIFETIME/);
  });
});
