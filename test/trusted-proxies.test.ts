import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers/server.js";

/** A request from a chosen loopback source address with the given headers; the status. */
function send(url: string, localAddress: string, method: string, path: string, headers: Record<string, string>, body = ""): Promise<number> {
  const u = new URL(path, url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method, localAddress, agent: false, headers: { ...headers, "content-length": Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const guess = (url: string, from: string, headers: Record<string, string>) =>
  send(
    url,
    from,
    "POST",
    "/oauth/v2/token",
    { ...headers, "content-type": "application/x-www-form-urlencoded", authorization: "Basic " + Buffer.from("nobody:wrong").toString("base64") },
    "grant_type=client_credentials&scope=openid",
  );

describe("trusted proxies (issue #19)", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({
      storage: "pglite",
      env: { PORTCULLIS_TRUSTED_PROXIES: "127.0.0.1, 10.0.0.0/8", PORTCULLIS_RATE_LIMIT_FAILURES_PER_MINUTE_PER_ADDRESS: "3" },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("keys the OAuth limits by the forwarded address from a trusted proxy", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push(await guess(s.url, "127.0.0.1", { "x-forwarded-for": "203.0.113.1, 10.1.2.3" }));
    expect(statuses).toEqual([401, 401, 401, 429]);
    // Another forwarded client behind the same proxy is not affected; nor is the proxy's own address.
    expect(await guess(s.url, "127.0.0.1", { "x-forwarded-for": "203.0.113.2" })).toBe(401);
    expect(await guess(s.url, "127.0.0.1", { forwarded: "for=203.0.113.3" })).toBe(401);
    expect(await guess(s.url, "127.0.0.1", { forwarded: "for=203.0.113.1" })).toBe(429);
  });

  it("ignores the headers from an address that is not a trusted proxy", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push(await guess(s.url, "127.0.0.2", { "x-forwarded-for": `198.51.100.${i}` }));
    expect(statuses).toEqual([401, 401, 401, 429]);
    // Naming the exhausted address from an untrusted peer changes nothing for it.
    expect(await guess(s.url, "127.0.0.3", { "x-forwarded-for": "203.0.113.1" })).toBe(401);
  });

  it("keys the API's failed-token limit by the same address (REST and Connect)", async () => {
    const api = (xff: string) => send(s.url, "127.0.0.1", "GET", "/management/v1/orgs/me", { authorization: "Bearer not-a-token", "x-forwarded-for": xff });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push(await api("203.0.113.50"));
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect(await api("203.0.113.51")).toBe(401);
    const connect = (xff: string) =>
      send(s.url, "127.0.0.1", "POST", "/zitadel.management.v1.ManagementService/GetMyOrg", { authorization: "Bearer not-a-token", "content-type": "application/json", "x-forwarded-for": xff }, "{}");
    expect(await connect("203.0.113.50")).toBe(429);
    expect(await connect("203.0.113.52")).toBe(401);
  });
});
