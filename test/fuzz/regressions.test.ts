/**
 * Minimal reproductions of what the fuzz properties found, one deterministic test each, so a fix can
 * be checked directly and stays fixed. The expectations are the criterion, not one particular fix:
 * a 4xx in the endpoint's own error format, never a 5xx.
 */
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectConnectAnswer,
  expectOAuthAnswer,
  expectRestAnswer,
  rawExchangeSegmented,
  rawRequest,
  serialiseRequest,
  startFuzzTarget,
  type FuzzTarget,
  type RawRequest,
  type RawResponse,
} from "./support.js";

const FORM: [string, string] = ["Content-Type", "application/x-www-form-urlencoded"];
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
/** A PAT-shaped token (kind 0x02, empty token id, user id "\0", 32 zero bytes): passes the format check, reaches the user lookup. */
const NUL_PAT = Buffer.concat([Buffer.of(0x02, 0, 1, 0), Buffer.alloc(32)]).toString("base64url");

describe("fuzz findings (regressions)", () => {
  let t: FuzzTarget;
  beforeAll(async () => {
    t = await startFuzzTarget();
  });
  afterAll(async () => {
    await t?.s.close();
  });

  async function send(r: RawRequest): Promise<RawResponse> {
    const a = await rawRequest(t.s.port, r);
    if (a.kind === "closed") throw new Error("connection closed without an answer");
    return a;
  }
  const body = (s: string) => Buffer.from(s, "utf8");
  const bearer = (tok: string): [string, string] => ["Authorization", `Bearer ${tok}`];

  describe("U+0000 in a value that reaches SQL (PostgreSQL rejects it: 22021, answered as Internal)", () => {
    it("a bearer token whose user id is NUL is refused as an invalid token (REST 401), not 500", async () => {
      expect(NUL_PAT).toBe("AgABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
      const r = await send({ method: "GET", target: "/management/v1/orgs/me", headers: [bearer(NUL_PAT)] });
      expectRestAnswer(r);
      expect(r.status).toBe(401);
    });

    it("userinfo with that token answers 401 invalid_token, not 500", async () => {
      const r = await send({ method: "GET", target: "/oidc/v1/userinfo", headers: [bearer(NUL_PAT)] });
      expectOAuthAnswer(r);
      expect(r.status).toBe(401);
    });

    it("REST path, query and body strings with NUL get a 4xx, not 500", async () => {
      const auth = bearer(t.fuzzer.pat);
      const json: [string, string] = ["Content-Type", "application/json"];
      for (const req of [
        { method: "GET", target: "/management/v1/users/%00", headers: [auth] },
        { method: "GET", target: "/management/v1/users/_is_unique?userName=a%00", headers: [auth] },
        { method: "POST", target: "/management/v1/users/_search", headers: [auth, json], body: body('{"queries":[{"userNameQuery":{"userName":"a\\u0000"}}]}') },
        { method: "POST", target: "/management/v1/users/machine", headers: [auth, json], body: body('{"userName":"nul\\u0000user","name":"x"}') },
        { method: "POST", target: "/management/v1/orgs/me/members", headers: [auth, json], body: body('{"userId":"\\u0000","roles":["ORG_OWNER"]}') },
      ] satisfies RawRequest[]) {
        const r = await send(req);
        expectRestAnswer(r);
        expect(r.status, `${req.method} ${req.target}`).toBeLessThan(500);
      }
    });

    it("the token endpoint answers a NUL client id (post or basic) with 401 invalid_client, not 500", async () => {
      const post = await send({ method: "POST", target: "/oauth/v2/token", headers: [FORM], body: body("grant_type=client_credentials&scope=openid&client_id=%00&client_secret=x") });
      expectOAuthAnswer(post);
      expect(post.status).toBe(401);
      const basic = await send({
        method: "POST",
        target: "/oauth/v2/token",
        headers: [FORM, ["Authorization", "Basic " + Buffer.from("a%00:x").toString("base64")]],
        body: body("grant_type=client_credentials&scope=openid"),
      });
      expectOAuthAnswer(basic);
      expect(basic.status).toBe(401);
      const revoke = await send({ method: "POST", target: "/oauth/v2/revoke", headers: [FORM], body: body("client_id=%00&client_secret=x&token=x") });
      expectOAuthAnswer(revoke);
      expect(revoke.status).toBe(401);
    });

    it("a JWT assertion with a NUL issuer is refused (invalid_grant / invalid_client), not 500", async () => {
      const now = Math.floor(Date.now() / 1000);
      const jwt = `${b64url({ alg: "RS256", kid: "k1" })}.${b64url({ iss: "a\u0000", sub: "a\u0000", aud: t.s.url, exp: now + 60, iat: now })}.c2ln`;
      const grant = await send({ method: "POST", target: "/oauth/v2/token", headers: [FORM], body: body(`grant_type=${encodeURIComponent("urn:ietf:params:oauth:grant-type:jwt-bearer")}&scope=openid&assertion=${jwt}`) });
      expectOAuthAnswer(grant);
      expect(grant.status).toBe(400);
      const client = await send({
        method: "POST",
        target: "/oauth/v2/introspect",
        headers: [FORM],
        body: body(`client_assertion_type=${encodeURIComponent("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")}&client_assertion=${jwt}&token=x`),
      });
      expectOAuthAnswer(client);
      expect(client.status).toBe(401);
    });
  });

  it("userinfo with a form body over 64 KiB answers 413 like the other OAuth endpoints, not 500", async () => {
    const r = await send({ method: "POST", target: "/oidc/v1/userinfo", headers: [FORM], body: body("access_token=" + "x".repeat(70_000)) });
    expectOAuthAnswer(r);
    expect(r.status).toBe(413);
  });

  it("an HTTP/1.1 request whose first TCP segment is just \"P\" (of POST/PUT/PATCH) is answered, not taken for HTTP/2", async () => {
    // server.ts decides HTTP/2 vs HTTP/1.1 on the first segment: "P" is a prefix of "PRI * HTTP/2.0".
    const bytes = serialiseRequest({ method: "PUT", target: "/management/v1/orgs/me", headers: [["Content-Type", "application/json"]], body: Buffer.from("{}") });
    const r = await rawExchangeSegmented(t.s.port, bytes, [1], 30);
    if (r.kind === "closed") throw new Error("connection closed without an answer");
    expectRestAnswer(r);
    expect(r.status).toBe(401);
  });

  describe("Connect requests whose payload cannot be decoded (connect-es: Internal, HTTP 500)", () => {
    const target = "/zitadel.management.v1.ManagementService/GetMyOrg";
    it("a binary body that is not protobuf gets a Connect client error, not 500 internal", async () => {
      // 0x00 is field number 0: "parse binary: illegal tag: field no 0 wire type 0".
      const r = await send({ method: "POST", target, headers: [["Content-Type", "application/proto"], bearer(t.fuzzer.pat)], body: Uint8Array.of(0) });
      expectConnectAnswer(r);
    });

    it("Content-Encoding: gzip with a body that is not gzip gets a Connect client error, not 500 internal", async () => {
      const r = await send({ method: "POST", target, headers: [["Content-Type", "application/proto"], ["Content-Encoding", "gzip"], bearer(t.fuzzer.pat)], body: Uint8Array.of(0) });
      expectConnectAnswer(r);
      // A well-formed gzip of a valid message is fine (control).
      const ok = await send({ method: "POST", target, headers: [["Content-Type", "application/proto"], ["Content-Encoding", "gzip"], bearer(t.fuzzer.pat)], body: gzipSync(Buffer.alloc(0)) });
      expect(ok.status).toBe(200);
    });
  });

  it("a change query with a uint64 sequence beyond bigint answers an empty list, not 500", async () => {
    for (const target of ["/management/v1/orgs/me/changes/_search", `/management/v1/users/${t.fuzzer.userId}/changes/_search`]) {
      const r = await send({
        method: "POST",
        target,
        headers: [["Content-Type", "application/json"], bearer(t.fuzzer.pat)],
        body: Buffer.from(JSON.stringify({ query: { sequence: "18446744073709551615" } })),
      });
      expectRestAnswer(r);
      expect(r.status, target).toBe(200);
    }
  });
});
