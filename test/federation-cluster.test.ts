import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { rest, tokenRequest } from "./helpers/clients.js";
import { createTestDatabase } from "./helpers/pg.js";
import { githubClaims, kubernetesClaims, startIssuer, type TestIssuer } from "./helpers/issuer.js";

/**
 * Workload federation on PostgreSQL with two instances on one database: an external token is used
 * once across both, and removing a binding or a policy on one ends the tokens the other issued at
 * once (the user aggregate's invalidation, as for secrets).
 */

const API = "urn:zitadel:iam:org:project:id:zitadel:aud";
const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";
const AUD = "portcullis";
const ENV = { PORTCULLIS_FEDERATION_ALLOW_HTTP_LOOPBACK: "true" };

let a: TestServer;
let b: TestServer;
let iss: TestIssuer;
let drop: () => Promise<void>;

const call = (s: TestServer, method: string, path: string, body?: unknown) => rest(s.url, method, `/portcullis/v1${path}`, { token: a.pat, body });
const exchange = (s: TestServer, token: string) => tokenRequest(s.url, { grant_type: TOKEN_EXCHANGE, subject_token: token, subject_token_type: JWT_TYPE, scope: API });
const userinfo = (s: TestServer, token: string) => fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

async function machine(s: TestServer, userName: string) {
  const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: a.pat, body: { userName, name: userName } });
  expect(add.status).toBe(200);
  return add.json.userId as string;
}

async function policy(s: TestServer, issuer: TestIssuer) {
  const r = await call(s, "POST", "/federation/policies", { policy: { name: "c", issuer: issuer.url, jwksUri: issuer.jwksUri, audiences: [AUD], algorithms: ["RS256"] } });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json.policyId as string;
}

beforeAll(async () => {
  iss = await startIssuer();
  const db = await createTestDatabase();
  drop = db.drop;
  a = await startTestServer({ databaseUrl: db.url, env: ENV });
  b = await startTestServer({ databaseUrl: db.url, dataDir: a.dataDir, env: ENV });
}, 90_000);

afterAll(async () => {
  await b?.close();
  await a?.close();
  await drop?.();
  await iss?.close();
});

describe("two instances on one PostgreSQL", () => {
  let policyId: string;
  let userId: string;

  it("a policy and binding made on one instance accept tokens on the other; a token is used once across both", async () => {
    userId = await machine(a, "cluster-k8s");
    policyId = await policy(a, iss);
    expect((await call(a, "POST", `/users/${userId}/federation/bindings`, { policyId, subject: "system:serviceaccount:prod:api" })).status).toBe(200);
    const token = await iss.mint(kubernetesClaims("prod", "api", AUD));
    const first = await exchange(b, token);
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    const replay = await exchange(a, token);
    expect(replay.status).toBe(400);
    expect(replay.json.error_description).toBe("external token refused (replayed)");
    // The same token at the same time on both: exactly one wins.
    const racing = await iss.mint(kubernetesClaims("prod", "api", AUD));
    const both = await Promise.all([exchange(a, racing), exchange(b, racing)]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 400]);
  });

  it("a binding removed on one instance: the token the other issued is refused there at once", async () => {
    const svc = await machine(a, "cluster-ci");
    const bindingId = (await call(a, "POST", `/users/${svc}/federation/bindings`, { policyId, condition: 'claims.repository == "acme/api"' })).json.bindingId as string;
    const t = await tokenRequest(b.url, { grant_type: JWT_BEARER, assertion: await iss.mint(githubClaims("acme/api", "refs/heads/main", AUD)), scope: API });
    expect(t.status, JSON.stringify(t.json)).toBe(200);
    expect(await userinfo(b, t.json.access_token)).toBe(200);
    expect((await call(a, "DELETE", `/users/${svc}/federation/bindings/${bindingId}`)).status).toBe(200);
    expect(await userinfo(b, t.json.access_token)).toBe(401);
    expect(await userinfo(a, t.json.access_token)).toBe(401);
  });

  it("a policy changed on one instance: the other applies the new rules at once (its cached candidates are dropped)", async () => {
    // Both caches trusted (a process reads through to the database until it is), so b keeps candidates:
    // a cache keeps (and peek shows) an aggregate only once it is trusted.
    for (const s of [a, b]) {
      const { cache, instanceId } = s.rt.deps;
      for (let t0 = Date.now(); (await cache.get(instanceId, "user", userId)) && !cache.peek(instanceId, "user", userId); ) {
        if (Date.now() - t0 > 15_000) throw new Error("cache never trusted");
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect((await exchange(b, await iss.mint(kubernetesClaims("prod", "api", AUD)))).status).toBe(200);
    const settings = (audiences: string[]) => ({ policy: { name: "c", issuer: iss.url, jwksUri: iss.jwksUri, audiences, algorithms: ["RS256"] } });
    expect((await call(a, "PUT", `/federation/policies/${policyId}`, settings(["elsewhere"]))).status).toBe(200);
    const refused = await exchange(b, await iss.mint(kubernetesClaims("prod", "api", AUD)));
    expect(refused.json.error_description).toBe("external token refused (audience)");
    expect((await call(a, "PUT", `/federation/policies/${policyId}`, settings([AUD]))).status).toBe(200);
    expect((await exchange(b, await iss.mint(kubernetesClaims("prod", "api", AUD)))).status).toBe(200);
  });

  it("a policy removed on one instance ends the tokens of its bindings on both", async () => {
    const t = await exchange(a, await iss.mint(kubernetesClaims("prod", "api", AUD)));
    expect(t.status, JSON.stringify(t.json)).toBe(200);
    expect(await userinfo(b, t.json.access_token)).toBe(200);
    expect((await call(b, "DELETE", `/federation/policies/${policyId}`)).status).toBe(200);
    expect(await userinfo(a, t.json.access_token)).toBe(401);
    expect(await userinfo(b, t.json.access_token)).toBe(401);
    expect((await exchange(a, await iss.mint(kubernetesClaims("prod", "api", AUD)))).json.error_description).toBe("external token refused (issuer_unknown)");
  });
});
