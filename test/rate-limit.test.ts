import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { rest, tokenRequest } from "./helpers/clients.js";

describe("brute-force protection", () => {
  let s: TestServer;
  let secrets: Record<string, string>;
  beforeAll(async () => {
    s = await startTestServer({
      storage: "pglite",
      env: {
        PORTCULLIS_RATE_LIMIT_FAILURES_PER_MINUTE: "3",
        PORTCULLIS_RATE_LIMIT_FAILURES_PER_MINUTE_PER_ADDRESS: "8",
        PORTCULLIS_RATE_LIMIT_TOKEN_PER_SECOND: "2",
      },
    });
    secrets = {};
    for (const name of ["victim", "bystander", "busy", "revoker"]) {
      const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: name, name } });
      secrets[name] = (await rest(s.url, "PUT", `/management/v1/users/${add.json.userId}/secret`, { token: s.pat })).json.clientSecret;
    }
  });
  afterAll(async () => {
    await s?.close();
  });

  it("limits token requests per client id with 429 and Retry-After", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await tokenRequest(s.url, { grant_type: "client_credentials", scope: "openid" }, { id: "busy", secret: secrets.busy! })).status);
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]); // a burst of twice the rate
    expect(statuses).toContain(429);
    const limited = await tokenRequest(s.url, { grant_type: "client_credentials", scope: "openid" }, { id: "busy", secret: secrets.busy! });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(limited.json.error).toBe("too_many_requests");
  });

  it("limits revocations per client id like token requests (issue #19): 429 with Retry-After", async () => {
    const basic = "Basic " + Buffer.from(`revoker:${encodeURIComponent(secrets.revoker!)}`).toString("base64");
    const revoke = () =>
      fetch(`${s.url}/oauth/v2/revoke`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic }, body: "token=not-a-token" });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await revoke()).status);
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]); // a burst of twice the rate
    expect(statuses).toContain(429);
    const limited = await revoke();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await limited.json()) as { error: string }).error).toBe("too_many_requests");
  });

  it("stops guessing a client's secret after the failure limit, then the address's", async () => {
    for (let i = 0; i < 3; i++) expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: "openid" }, { id: "victim", secret: `guess-${i}` })).status).toBe(401);
    // Issue #19: failures no longer lock the client out; its correct secret still gets a token
    // (this asserted 429 before: the lock-out was the bug).
    const real = await tokenRequest(s.url, { grant_type: "client_credentials", scope: "openid" }, { id: "victim", secret: secrets.victim! });
    expect(real.status).toBe(200);
    // Client ids are case-insensitive, so is the limit: past it, guesses are answered 429.
    const guess = await tokenRequest(s.url, { grant_type: "client_credentials", scope: "openid" }, { id: "VICTIM", secret: "x" });
    expect(guess.status).toBe(429);
    expect(Number(guess.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // Another client from the same address is still served until the address limit.
    expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: "openid" }, { id: "bystander", secret: secrets.bystander! })).status).toBe(200);
    for (let i = 0; i < 5; i++) await tokenRequest(s.url, { grant_type: "client_credentials", scope: "openid" }, { id: `nobody-${i}`, secret: "x" });
    expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: "openid" }, { id: "bystander", secret: secrets.bystander! })).status).toBe(429);
    // Failed bearer tokens on the API count against the address too: ResourceExhausted, 429.
    const api = await rest(s.url, "GET", "/management/v1/orgs/me", { token: "not-a-token" });
    expect(api.status).toBe(429);
    expect(api.json).toMatchObject({ code: 8, details: [{ id: "AUTH-rate" }] });
    expect(Number(api.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});
