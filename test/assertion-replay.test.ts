import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrivateKey, randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { SignJWT } from "jose";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { rest, tokenRequest } from "./helpers/clients.js";
import { addMachine, oauthPost } from "./helpers/fixtures.js";

/**
 * jwt-bearer assertions are single-use with or without a jti, on every process sharing the database
 * and across restarts, and may not live longer than oauth.maxAssertionLifetime (issue #19, item 4).
 */

const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const API_SCOPE = "openid urn:zitadel:iam:org:project:id:zitadel:aud";
const INVALID_GRANT = { error: "invalid_grant", error_description: "invalid assertion" };

interface KeyFile {
  keyId: string;
  key: string;
  userId: string;
}

async function newKeyFile(s: TestServer, userId: string): Promise<KeyFile> {
  const r = await rest(s.url, "POST", `/management/v1/users/${userId}/keys`, { token: s.pat, body: { type: "KEY_TYPE_JSON" } });
  expect(r.status).toBe(200);
  return JSON.parse(Buffer.from(r.json.keyDetails, "base64").toString("utf8")) as KeyFile;
}

/**
 * An assertion as ZITADEL's SDKs mint it (zitadel/oidc SignedJWTProfileAssertion, the Python and Java
 * clients): iss = sub = the user id, aud the issuer, iat now, exp an hour later, no jti.
 */
function sdkAssertion(kf: KeyFile, issuer: string, opts: { jti?: string; lifetime?: number } = {}): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(opts.jti ? { jti: opts.jti } : {})
    .setProtectedHeader({ alg: "RS256", kid: kf.keyId })
    .setIssuer(kf.userId)
    .setSubject(kf.userId)
    .setAudience([issuer])
    .setIssuedAt(iat)
    .setExpirationTime(iat + (opts.lifetime ?? 3600));
  return jwt.sign(createPrivateKey(kf.key));
}

const grant = (s: TestServer, assertion: string) => tokenRequest(s.url, { grant_type: JWT_BEARER, assertion, scope: API_SCOPE });

describe("jwt-bearer on one process (PGlite)", () => {
  let s: TestServer;
  let kf: KeyFile;
  beforeAll(async () => {
    s = await startTestServer({ storage: "pglite" });
    kf = await newKeyFile(s, await addMachine(s, "replay-svc"));
  });
  let dataDir: string | undefined;
  afterAll(async () => {
    await s?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("the official clients' flow works, and its assertion (no jti) is refused when replayed", async () => {
    const jwt = await sdkAssertion(kf, s.url);
    const tok = await grant(s, jwt);
    expect(tok.status).toBe(200);
    expect((await rest(s.url, "GET", "/management/v1/iam", { token: tok.json.access_token })).status).toBe(200);
    const again = await grant(s, jwt);
    expect(again.status).toBe(400);
    expect(again.json).toEqual(INVALID_GRANT);
    // Any other assertion is a new one (here: another exp; the SDK's next one has a later iat).
    expect((await grant(s, await sdkAssertion(kf, s.url, { lifetime: 3599 }))).status).toBe(200);
  });

  it("refuses an assertion living longer than an hour (oauth.maxAssertionLifetime), as a grant and as client authentication", async () => {
    const long = await grant(s, await sdkAssertion(kf, s.url, { lifetime: 3601, jti: randomUUID() }));
    expect(long.status).toBe(400);
    expect(long.json).toEqual(INVALID_GRANT);
    const tok = await grant(s, await sdkAssertion(kf, s.url, { jti: randomUUID() }));
    expect(tok.status).toBe(200);
    const intro = await oauthPost(s.url, "/oauth/v2/introspect", {
      token: tok.json.access_token,
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await sdkAssertion(kf, s.url, { lifetime: 24 * 3600, jti: randomUUID() }),
    });
    expect(intro.status).toBe(401);
    expect(intro.json).toEqual({ error: "invalid_client", error_description: "client authentication failed" });
  });

  it("client authentication without jti stays repeatable (zitadel/oidc's resource server mints one per introspection)", async () => {
    const tok = await grant(s, await sdkAssertion(kf, s.url, { jti: randomUUID() }));
    const form = { token: tok.json.access_token as string, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await sdkAssertion(kf, s.url) };
    for (let i = 0; i < 3; i++) expect((await oauthPost(s.url, "/oauth/v2/introspect", form)).json).toMatchObject({ active: true });
  });

  it("still refuses the replay after a restart (the marks are on disk)", async () => {
    const jwt = await sdkAssertion(kf, s.url, { lifetime: 3598 });
    expect((await grant(s, jwt)).status).toBe(200);
    await s.stop();
    const issuer = s.url;
    dataDir = s.dataDir;
    s = await startTestServer({ storage: "pglite", dataDir, env: { PORTCULLIS_EXTERNAL_URL: issuer } });
    const again = await grant(s, jwt);
    expect(again.status).toBe(400);
    expect(again.json).toEqual(INVALID_GRANT);
    expect((await grant(s, await sdkAssertion(kf, issuer, { lifetime: 3597 }))).status).toBe(200);
  });
});

describe("jwt-bearer on two processes sharing one PostgreSQL", () => {
  let a: TestServer;
  let b: TestServer;
  let kf: KeyFile;
  let issuer: string;
  beforeAll(async () => {
    a = await startTestServer({ storage: "postgres" });
    issuer = a.url;
    // One issuer for both (they stand behind one address in production).
    b = await startTestServer({ databaseUrl: a.databaseUrl, dataDir: a.dataDir, env: { PORTCULLIS_EXTERNAL_URL: issuer } });
    kf = await newKeyFile(a, await addMachine(a, "cluster-replay-svc"));
  });
  afterAll(async () => {
    await b?.stop();
    await a?.close();
  });

  it("an assertion spent on one process is refused by the other, with or without jti", async () => {
    const noJti = await sdkAssertion(kf, issuer);
    expect((await grant(a, noJti)).status).toBe(200);
    const onB = await grant(b, noJti);
    expect(onB.status).toBe(400);
    expect(onB.json).toEqual(INVALID_GRANT);

    const withJti = await sdkAssertion(kf, issuer, { jti: randomUUID() });
    expect((await grant(b, withJti)).status).toBe(200);
    expect((await grant(a, withJti)).json).toEqual(INVALID_GRANT);
  });

  it("of the same assertion sent to both processes at once, exactly one gets a token", async () => {
    for (let i = 0; i < 8; i++) {
      const jwt = await sdkAssertion(kf, issuer, { jti: randomUUID() });
      const answers = await Promise.all([grant(a, jwt), grant(b, jwt), grant(a, jwt), grant(b, jwt)]);
      expect(answers.map((r) => r.status).sort()).toEqual([200, 400, 400, 400]);
    }
  });

  it("a client assertion with a jti used on one process is refused by the other", async () => {
    const tok = await grant(a, await sdkAssertion(kf, issuer, { jti: randomUUID() }));
    const form = { token: tok.json.access_token as string, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await sdkAssertion(kf, issuer, { jti: randomUUID() }) };
    expect((await oauthPost(a.url, "/oauth/v2/introspect", form)).status).toBe(200);
    expect((await oauthPost(b.url, "/oauth/v2/introspect", form)).status).toBe(401);
  });

  it("prunes marks that have ended", async () => {
    const used = a.rt.deps.usedAssertions;
    const count = async () => Number((await a.rt.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM used_assertions"))[0]!.n);
    expect(await count()).toBeGreaterThan(0);
    // Every mark ends at the latest an hour and a minute after its assertion was issued.
    expect(await used.prune(Date.now() + 2 * 3600_000)).toBeGreaterThan(0);
    expect(await count()).toBe(0);
  });
});
