import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { authorizationServerMetadata } from "../src/api/oauth/metadata-8414.js";

/** RFC 8414 authorization server metadata next to OIDC discovery, agreeing with it. */
describe("RFC 8414 metadata", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ storage: "postgres" });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("is served at /.well-known/oauth-authorization-server with discovery's values for every member they share", async () => {
    const r = await fetch(`${s.url}/.well-known/oauth-authorization-server`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(r.headers.get("cache-control")).toBe("public, max-age=300");
    const metadata = (await r.json()) as Record<string, unknown>;
    const discovery = (await (await fetch(`${s.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;

    // RFC 8414 §2: issuer is required (and §3.3: identical to the issuer it was fetched for), as are these for our grants.
    expect(metadata.issuer).toBe(s.url);
    for (const member of ["issuer", "token_endpoint", "jwks_uri", "response_types_supported", "grant_types_supported", "token_endpoint_auth_methods_supported", "introspection_endpoint", "revocation_endpoint"])
      expect(metadata[member], member).toBeDefined();
    for (const [member, value] of Object.entries(metadata)) expect(value, member).toEqual(discovery[member]);
    // OIDC-only members stay in discovery.
    for (const member of ["userinfo_endpoint", "id_token_signing_alg_values_supported", "subject_types_supported", "claims_supported"]) expect(metadata).not.toHaveProperty(member);
    expect(metadata.grant_types_supported).toEqual(["client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer", "urn:ietf:params:oauth:grant-type:token-exchange"]);
  });

  it("is built from the discovery document, member order as in RFC 8414 §2", () => {
    const doc = authorizationServerMetadata({ jwks_uri: "https://x/keys", userinfo_endpoint: "https://x/u", issuer: "https://x", token_endpoint: "https://x/t" });
    expect(doc).toBe('{"issuer":"https://x","token_endpoint":"https://x/t","jwks_uri":"https://x/keys"}');
    expect(authorizationServerMetadata(JSON.stringify({ issuer: "https://y" }))).toBe('{"issuer":"https://y"}');
  });
});
