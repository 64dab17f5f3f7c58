import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrivateKey, randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { rest, tokenRequest } from "./helpers/clients.js";
import { githubClaims, kubernetesClaims, spiffeClaims, startIssuer, type TestIssuer } from "./helpers/issuer.js";
import { hmacJwt, unsignedJwt } from "./helpers/jwt-issuer.js";

/**
 * Workload identity federation over the wire (PGlite): an issuer made in the test serves its JWKS
 * on loopback; Kubernetes-, GitHub-Actions- and SPIFFE-shaped tokens become Portcullis tokens for
 * the bound machine through the three grant forms; each refusal is an OAuth error.
 */

const API = "urn:zitadel:iam:org:project:id:zitadel:aud";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const AUD = "portcullis";

let s: TestServer;
let k8s: TestIssuer;
let gh: TestIssuer;
let machineId: string;
let ciMachineId: string;

const call = (method: string, path: string, body?: unknown) => rest(s.url, method, `/portcullis/v1${path}`, { token: s.pat, body });

async function machine(userName: string, accessTokenType?: string) {
  const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName, name: userName, ...(accessTokenType ? { accessTokenType } : {}) } });
  expect(add.status).toBe(200);
  return add.json.userId as string;
}

async function policy(issuer: TestIssuer, extra: Record<string, unknown> = {}) {
  const r = await call("POST", "/federation/policies", {
    policy: { name: `issuer ${issuer.url}`, issuer: issuer.url, jwksUri: issuer.jwksUri, audiences: [AUD], algorithms: ["RS256", "ES256"], ...extra },
  });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json.policyId as string;
}

async function bind(userId: string, policyId: string, match: { subject?: string; condition?: string }) {
  const r = await call("POST", `/users/${userId}/federation/bindings`, { policyId, ...match });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json.bindingId as string;
}

const exchange = (subjectToken: string, scope = API) =>
  tokenRequest(s.url, { grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: JWT_TYPE, scope });
const bearer = (assertion: string, scope = API) => tokenRequest(s.url, { grant_type: JWT_BEARER, assertion, scope });
const clientAssertion = (assertion: string, scope = API) =>
  tokenRequest(s.url, { grant_type: "client_credentials", client_assertion_type: ASSERTION_TYPE, client_assertion: assertion, scope });
const userinfo = (token: string) => fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${token}` } });
const payloadOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;

beforeAll(async () => {
  k8s = await startIssuer();
  gh = await startIssuer();
  s = await startTestServer({ storage: "pglite", env: { PORTCULLIS_FEDERATION_ALLOW_HTTP_LOOPBACK: "true", PORTCULLIS_FEDERATION_JWKS_REFRESH_INTERVAL_MS: "1000" } });
  machineId = await machine("k8s-workload");
  ciMachineId = await machine("ci-deployer", "ACCESS_TOKEN_TYPE_JWT");
  await bind(machineId, await policy(k8s), { subject: "system:serviceaccount:prod:api" });
  await bind(ciMachineId, await policy(gh), { condition: 'claims.repository == "acme/api" && claims.ref == "refs/heads/main"' });
}, 60_000);

afterAll(async () => {
  await s?.close();
  await k8s?.close();
  await gh?.close();
});

describe("the three ways in", () => {
  it("token exchange: a Kubernetes service-account token for the bound machine's token", async () => {
    const t = await exchange(await k8s.mint(kubernetesClaims("prod", "api", AUD)));
    expect(t.status, JSON.stringify(t.json)).toBe(200);
    expect(t.json).toMatchObject({ token_type: "Bearer", issued_token_type: "urn:ietf:params:oauth:token-type:access_token" });
    const info = await userinfo(t.json.access_token);
    expect(info.status).toBe(200);
    expect(((await info.json()) as { sub: string }).sub).toBe(machineId);
  });

  it("jwt-bearer (RFC 7523) with a GitHub Actions token: a JWT access token as the machine's own credentials give, capped at the external exp", async () => {
    const t = await bearer(await gh.mint(githubClaims("acme/api", "refs/heads/main", AUD), { expSeconds: 300 }), `openid ${API}`);
    expect(t.status, JSON.stringify(t.json)).toBe(200);
    expect(t.json.expires_in).toBeLessThanOrEqual(300);
    expect(t.json.expires_in).toBeGreaterThan(250);
    const at = payloadOf(t.json.access_token);
    expect(at).toMatchObject({ sub: ciMachineId, client_id: "ci-deployer", iss: s.url });
    expect(String(at.cred)).toMatch(/^fed:/);
    expect(payloadOf(t.json.id_token).sub).toBe(ciMachineId);
  });

  it("the same claims and roles as the machine's own secret gives, for a project audience with roles", async () => {
    const mgmt = (method: string, path: string, body?: unknown) => rest(s.url, method, `/management/v1${path}`, { token: s.pat, body });
    const projectId = (await mgmt("POST", "/projects", { name: "deploy-target" })).json.id as string;
    expect((await mgmt("POST", `/projects/${projectId}/roles/_bulk`, { roles: [{ key: "deployer", displayName: "Deployer" }] })).status).toBe(200);
    expect((await mgmt("POST", `/users/${ciMachineId}/grants`, { projectId, roleKeys: ["deployer"] })).status).toBe(200);
    const secret = (await mgmt("PUT", `/users/${ciMachineId}/secret`, {})).json.clientSecret as string;
    const scope = `openid urn:zitadel:iam:org:project:id:${projectId}:aud urn:zitadel:iam:org:projects:roles`;
    const own = await tokenRequest(s.url, { grant_type: "client_credentials", scope }, { id: "ci-deployer", secret });
    const fed = await exchange(await gh.mint(githubClaims("acme/api", "refs/heads/main", AUD)), scope);
    expect(own.status).toBe(200);
    expect(fed.status, JSON.stringify(fed.json)).toBe(200);
    // What differs by issuing (times, ids, the credential, the at_hash of a different token, amr "pwd" of a secret).
    const PER_ISSUING = new Set(["jti", "iat", "exp", "nbf", "cred", "auth_time", "at_hash", "amr"]);
    const strip = (t: string) => Object.fromEntries(Object.entries(payloadOf(t)).filter(([k]) => !PER_ISSUING.has(k)));
    expect(strip(fed.json.access_token)).toEqual(strip(own.json.access_token));
    expect(strip(fed.json.id_token)).toEqual(strip(own.json.id_token));
    expect(strip(fed.json.access_token)[`urn:zitadel:iam:org:project:${projectId}:roles`]).toHaveProperty("deployer");
  });

  it("client_credentials with the external token as client assertion (ES256 key of the issuer)", async () => {
    const t = await clientAssertion(await k8s.mint(kubernetesClaims("prod", "api", AUD), { alg: "ES256" }));
    expect(t.status, JSON.stringify(t.json)).toBe(200);
    expect((await userinfo(t.json.access_token)).status).toBe(200);
  });

  it("client_credentials with private_key_jwt signed by the machine's own key still works", async () => {
    const key = await rest(s.url, "POST", `/management/v1/users/${machineId}/keys`, { token: s.pat, body: { type: "KEY_TYPE_JSON" } });
    const kf = JSON.parse(Buffer.from(key.json.keyDetails, "base64").toString()) as { keyId: string; key: string };
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ iss: machineId, sub: machineId, aud: s.url, iat: now, exp: now + 60, jti: randomUUID() })
      .setProtectedHeader({ alg: "RS256", kid: kf.keyId })
      .sign(createPrivateKey(kf.key));
    const t = await clientAssertion(assertion);
    expect(t.status, JSON.stringify(t.json)).toBe(200);
    const again = await clientAssertion(assertion);
    expect(again.status).toBe(401);
  });

  it("discovery advertises token exchange", async () => {
    const doc = (await (await fetch(`${s.url}/.well-known/openid-configuration`)).json()) as { grant_types_supported: string[] };
    expect(doc.grant_types_supported).toEqual(["client_credentials", JWT_BEARER, TOKEN_EXCHANGE]);
  });
});

describe("refusals", () => {
  const k8sToken = (opts?: Parameters<TestIssuer["mint"]>[1], claims = kubernetesClaims("prod", "api", AUD)) => k8s.mint(claims, opts);

  it.each([
    ["exp missing", () => k8sToken({ expSeconds: null }), "exp_missing"],
    ["expired", () => k8sToken({ expSeconds: -600 }), "expired"],
    ["wrong audience", () => k8s.mint(kubernetesClaims("prod", "api", "someone-else")), "audience"],
    ["no binding for the subject", () => k8s.mint(kubernetesClaims("prod", "other", AUD)), "subject_mismatch"],
    ["condition false", () => gh.mint(githubClaims("acme/api", "refs/heads/feature", AUD)), "condition_false"],
  ])("%s: invalid_grant naming the reason, never the token", async (_name, mint, reason) => {
    const token = await mint();
    const t = await exchange(token);
    expect(t.status).toBe(400);
    expect(t.json.error).toBe("invalid_grant");
    expect(t.json.error_description).toContain(reason);
    expect(t.json.error_description).not.toContain("serviceaccount");
    expect(t.json.error_description).not.toContain("acme");
  });

  it("alg none and HS256 are refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: k8s.url, ...kubernetesClaims("prod", "api", AUD), iat: now, exp: now + 300, jti: randomUUID() };
    for (const token of [unsignedJwt(claims, k8s.kid), hmacJwt("shared-secret", claims, k8s.kid)]) {
      const t = await exchange(token);
      expect(t.status).toBe(400);
      expect(t.json).toMatchObject({ error: "invalid_grant", error_description: "external token refused (algorithm)" });
    }
    // The client-assertion form answers invalid_client.
    const c = await clientAssertion(unsignedJwt(claims));
    expect(c.status).toBe(401);
    expect(c.json.error).toBe("invalid_client");
  });

  it("a token is used once (jti), whichever grant form presents it again", async () => {
    const token = await k8sToken();
    expect((await exchange(token)).status).toBe(200);
    const again = await bearer(token);
    expect(again.status).toBe(400);
    expect(again.json).toMatchObject({ error: "invalid_grant", error_description: "external token refused (replayed)" });
  });

  it("an issuer without a trust policy: invalid_grant", async () => {
    const stranger = await startIssuer();
    try {
      const t = await exchange(await stranger.mint(spiffeClaims("example.org", "/ns/prod/sa/api", AUD)));
      expect(t.status).toBe(400);
      expect(t.json).toMatchObject({ error: "invalid_grant", error_description: "external token refused (issuer_unknown)" });
    } finally {
      await stranger.close();
    }
  });

  it("token exchange checks its own parameters", async () => {
    const token = await k8sToken();
    const wrongType = await tokenRequest(s.url, { grant_type: TOKEN_EXCHANGE, subject_token: token, subject_token_type: "urn:ietf:params:oauth:token-type:saml2", scope: API });
    expect(wrongType.json.error).toBe("invalid_request");
    const noToken = await tokenRequest(s.url, { grant_type: TOKEN_EXCHANGE, subject_token_type: JWT_TYPE, scope: API });
    expect(noToken.json.error).toBe("invalid_request");
  });
});

describe("lifecycle", () => {
  it("a rotated issuer key (new kid) is picked up without a restart", async () => {
    expect((await exchange(await k8s.mint(kubernetesClaims("prod", "api", AUD)))).status).toBe(200);
    k8s.rotate();
    const fetches = k8s.fetches;
    // A kid miss refreshes the JWKS at most once per federation.jwksRefreshIntervalMs (1 s here).
    await new Promise((r) => setTimeout(r, 1100));
    const t = await exchange(await k8s.mint(kubernetesClaims("prod", "api", AUD)));
    expect(t.status, JSON.stringify(t.json)).toBe(200);
    expect(k8s.fetches).toBe(fetches + 1);
  });

  it("removing the binding ends the tokens it issued at once; the change is in ListUserChanges", async () => {
    const svc = await machine("spiffe-svc");
    const spiffe = await startIssuer();
    try {
      const policyId = await policy(spiffe);
      const bindingId = await bind(svc, policyId, { subject: "spiffe://example.org/ns/prod/sa/api" });
      const t = await exchange(await spiffe.mint(spiffeClaims("example.org", "/ns/prod/sa/api", AUD)));
      expect(t.status, JSON.stringify(t.json)).toBe(200);
      expect((await userinfo(t.json.access_token)).status).toBe(200);
      expect((await call("DELETE", `/users/${svc}/federation/bindings/${bindingId}`)).status).toBe(200);
      expect((await userinfo(t.json.access_token)).status).toBe(401);
      const changes = await rest(s.url, "POST", `/management/v1/users/${svc}/changes/_search`, { token: s.pat, body: { query: { asc: true } } });
      expect(changes.json.result.map((c: { eventType: { key: string } }) => c.eventType.key.replace("EventTypes.", ""))).toEqual([
        "user.machine.added",
        "user.machine.federation.binding.added",
        "user.machine.federation.binding.removed",
      ]);
    } finally {
      await spiffe.close();
    }
  });

  it("removing the policy removes its bindings and ends their tokens", async () => {
    const svc = await machine("policy-cascade");
    const iss = await startIssuer();
    try {
      const policyId = await policy(iss);
      await bind(svc, policyId, { subject: "job-1" });
      const t = await bearer(await iss.mint({ sub: "job-1", aud: AUD }));
      expect(t.status, JSON.stringify(t.json)).toBe(200);
      expect((await call("DELETE", `/federation/policies/${policyId}`)).status).toBe(200);
      expect((await userinfo(t.json.access_token)).status).toBe(401);
      const list = await call("POST", `/users/${svc}/federation/bindings/_search`, {});
      expect(list.json.result ?? []).toEqual([]);
      expect((await bearer(await iss.mint({ sub: "job-1", aud: AUD }))).status).toBe(400);
    } finally {
      await iss.close();
    }
  });
});
