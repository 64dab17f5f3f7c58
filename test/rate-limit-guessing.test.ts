import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { rest } from "./helpers/clients.js";

/** A token request (client_credentials, basic auth) from a chosen loopback source address. */
function tokenFrom(url: string, localAddress: string, id: string, secret: string): Promise<{ status: number; retryAfter: string | undefined }> {
  const u = new URL("/oauth/v2/token", url);
  const body = new URLSearchParams({ grant_type: "client_credentials", scope: "openid" }).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: "POST",
        localAddress,
        agent: false,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "content-length": Buffer.byteLength(body),
          authorization: "Basic " + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64"),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] as string | undefined }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("guessing a client's secret does not lock the client out (issue #19)", () => {
  let s: TestServer;
  const secrets: Record<string, string> = {};
  beforeAll(async () => {
    s = await startTestServer({
      storage: "pglite",
      env: {
        PORTCULLIS_RATE_LIMIT_FAILURES_PER_MINUTE: "3",
        PORTCULLIS_RATE_LIMIT_FAILURES_PER_MINUTE_PER_CLIENT: "6",
        PORTCULLIS_RATE_LIMIT_FAILURES_PER_MINUTE_PER_ADDRESS: "10",
      },
    });
    for (const name of ["victim", "target", "bystander"]) {
      const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: name, name } });
      secrets[name] = (await rest(s.url, "PUT", `/management/v1/users/${add.json.userId}/secret`, { token: s.pat })).json.clientSecret;
    }
  });
  afterAll(async () => {
    await s?.close();
  });

  it("throttles one address guessing while the real client keeps getting tokens", async () => {
    const answers: number[] = [];
    for (let i = 0; i < 20; i++) {
      answers.push((await tokenFrom(s.url, "127.0.0.2", "victim", `guess-${i}`)).status);
      // The real client, from an address it shares with other clients and from its own, all along.
      if (i % 5 === 4) {
        expect((await tokenFrom(s.url, "127.0.0.1", "victim", secrets.victim!)).status).toBe(200);
        expect((await tokenFrom(s.url, "127.0.0.3", "victim", secrets.victim!)).status).toBe(200);
        expect((await tokenFrom(s.url, "127.0.0.1", "bystander", secrets.bystander!)).status).toBe(200);
      }
    }
    // Three guesses were checked and answered 401; every other one 429 (the attacker's guesses are bounded).
    expect(answers.slice(0, 3)).toEqual([401, 401, 401]);
    expect(answers.slice(3).every((a) => a === 429)).toBe(true);
    const after = await tokenFrom(s.url, "127.0.0.2", "victim", "one-more");
    expect(after.status).toBe(429);
    expect(Number(after.retryAfter)).toBeGreaterThan(0);
    // Past the address's budget, even a correct secret from the attacker's own address waits.
    expect((await tokenFrom(s.url, "127.0.0.2", "bystander", secrets.bystander!)).status).toBe(429);
    // After the attack, the real client still works from everywhere else.
    expect((await tokenFrom(s.url, "127.0.0.1", "victim", secrets.victim!)).status).toBe(200);
    expect((await tokenFrom(s.url, "127.0.0.4", "victim", secrets.victim!)).status).toBe(200);
  });

  it("slows down a distributed guess on one client id without refusing its correct secret", async () => {
    const answers: number[] = [];
    for (let a = 10; a < 16; a++) for (let i = 0; i < 2; i++) answers.push((await tokenFrom(s.url, `127.0.0.${a}`, "target", `guess-${a}-${i}`)).status);
    // Six failures per minute for the client id over all addresses are answered 401, the rest 429.
    expect(answers.filter((a) => a === 401).length).toBeLessThanOrEqual(6);
    expect(answers.slice(6).every((a) => a === 429)).toBe(true);
    // The client's own secret still gets tokens, from a fresh address and from one that guessed.
    expect((await tokenFrom(s.url, "127.0.0.20", "target", secrets.target!)).status).toBe(200);
    expect((await tokenFrom(s.url, "127.0.0.10", "target", secrets.target!)).status).toBe(200);
    expect((await tokenFrom(s.url, "127.0.0.1", "target", secrets.target!)).status).toBe(200);
  });
});
