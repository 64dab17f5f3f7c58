import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createPrivateKey, randomBytes, randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { setCredentialPolicy } from "../src/app/credentials/policy.js";
import { addSecret, removeSecret, rotateSecret, updateSecret } from "../src/app/credentials/secrets.js";
import { runCommand } from "../src/app/core/command.js";
import { generateMachineSecret } from "../src/app/users/users.js";
import { CREDENTIAL_PATTERNS } from "../src/crypto/credential-formats.js";
import { keyedHash } from "../src/crypto/keys.js";
import { newPersonalAccessTokenAddedEvent } from "../src/domain/users/events.js";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";
import { errorOf, rest, tokenRequest, userServiceV2 } from "./helpers/clients.js";
import { myOrgId } from "./helpers/fixtures.js";
import { createTestDatabase } from "./helpers/pg.js";
import { systemCaller } from "./helpers/principals.js";
import { rebuildProjections } from "../src/store/rebuild.js";

const API = "urn:zitadel:iam:org:project:id:zitadel:aud";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The servers run on this clock; tests move it to expire credentials. */
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);
afterEach(() => {
  offsetMs = 0;
});

async function machine(s: TestServer, userName: string) {
  const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName, name: userName } });
  expect(add.status).toBe(200);
  return add.json.userId as string;
}

const token = (s: TestServer, clientId: string, secret: string) => tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: clientId, secret });

/**
 * A client that keeps asking for tokens (alternating between the servers given) with whatever
 * secret it holds now, until stopped; counts the answers that were not 200.
 */
function keepAsking(servers: TestServer[], clientId: string, initial: string) {
  const state = { secret: initial, ok: 0, failed: [] as string[], stop: false };
  const loop = (async () => {
    for (let i = 0; !state.stop; i++) {
      const secret = state.secret;
      const r = await token(servers[i % servers.length]!, clientId, secret);
      if (r.status === 200) state.ok++;
      else state.failed.push(`${r.status} ${JSON.stringify(r.json)}`);
      // A client, not a flood: well under the per-client token rate limit (100/s) on a fast machine.
      await sleep(10);
    }
  })();
  return {
    state,
    async stop() {
      state.stop = true;
      await loop;
      return state;
    },
  };
}

async function zeroDowntimeRotation(servers: [TestServer, ...TestServer[]], userName: string) {
  const a = servers[0];
  const orgId = await myOrgId(a);
  const caller = systemCaller(orgId);
  const userId = await machine(a, userName);
  const first = await rest(a.url, "PUT", `/management/v1/users/${userId}/secret`, { token: a.pat, body: {} });
  const client = keepAsking(servers, userName, first.json.clientSecret as string);
  await sleep(150);

  // One call: a new secret, the old one expires after the grace period; the client switches within it.
  const rotated = await rotateSecret(a.rt.deps, caller, { userId, gracePeriodSeconds: 2 });
  await sleep(300);
  client.state.secret = rotated.clientSecret;
  await sleep(150);

  // Add, roll out, remove the old one.
  const added = await addSecret(a.rt.deps, caller, { userId, description: "next" });
  await sleep(200);
  client.state.secret = added.clientSecret;
  await sleep(100);
  await removeSecret(a.rt.deps, caller, userId, rotated.secretId);
  await sleep(200);

  const done = await client.stop();
  expect(done.failed).toEqual([]);
  expect(done.ok).toBeGreaterThan(10);
  // The rotated-away secret is dead after its grace period, on every server; the removed one at once.
  await sleep(1700);
  for (const s of servers) {
    expect((await token(s, userName, first.json.clientSecret as string)).status).toBe(401);
    expect((await token(s, userName, rotated.clientSecret)).status).toBe(401);
    expect((await token(s, userName, added.clientSecret)).status).toBe(200);
  }
}

describe.each<Storage>(["pglite", "postgres"])("several secrets per machine (%s)", (storage) => {
  let s: TestServer;
  let orgId: string;
  beforeAll(async () => {
    s = await startTestServer({ storage, clock });
    orgId = await myOrgId(s);
  });
  afterAll(async () => {
    await s?.close();
  });

  it("rotates with zero failed token requests while a client keeps asking", async () => {
    await zeroDowntimeRotation([s], `rot-${storage}`);
  });

  it("v1 calls keep their meaning over a set: Generate replaces all, Remove removes all, hasSecret = at least one; every change is in ListUserChanges", async () => {
    const caller = systemCaller(orgId);
    const userId = await machine(s, `set-${storage}`);
    const one = await addSecret(s.rt.deps, caller, { userId });
    const two = await addSecret(s.rt.deps, caller, { userId });
    expect((await token(s, `set-${storage}`, one.clientSecret)).status).toBe(200);
    expect((await token(s, `set-${storage}`, two.clientSecret)).status).toBe(200);
    const get = await rest(s.url, "GET", `/management/v1/users/${userId}`, { token: s.pat });
    expect(get.json.user.machine.hasSecret).toBe(true);

    const gen = await rest(s.url, "PUT", `/management/v1/users/${userId}/secret`, { token: s.pat, body: {} });
    expect(gen.json.clientSecret).toMatch(/^pcs_[A-Za-z0-9]{64}$/);
    expect((await token(s, `set-${storage}`, one.clientSecret)).status).toBe(401);
    expect((await token(s, `set-${storage}`, two.clientSecret)).status).toBe(401);
    expect((await token(s, `set-${storage}`, gen.json.clientSecret as string)).status).toBe(200);

    await addSecret(s.rt.deps, caller, { userId });
    const del = await rest(s.url, "DELETE", `/management/v1/users/${userId}/secret`, { token: s.pat });
    expect(del.status).toBe(200);
    expect((await token(s, `set-${storage}`, gen.json.clientSecret as string)).status).toBe(401);
    expect((await rest(s.url, "GET", `/management/v1/users/${userId}`, { token: s.pat })).json.user.machine.hasSecret).toBeUndefined();
    expect((await rest(s.url, "DELETE", `/management/v1/users/${userId}/secret`, { token: s.pat })).status).toBe(400);

    const changes = await rest(s.url, "POST", `/management/v1/users/${userId}/changes/_search`, { token: s.pat, body: { query: { asc: true } } });
    expect(changes.json.result.map((c: { eventType: { key: string } }) => c.eventType.key)).toEqual([
      "EventTypes.user.machine.added",
      "EventTypes.user.machine.secret.added",
      "EventTypes.user.machine.secret.added",
      "EventTypes.user.machine.secret.set",
      "EventTypes.user.machine.secret.added",
      "EventTypes.user.machine.secret.removed",
    ]);
  });

  it("v2 calls keep their meaning over a set: AddSecret replaces all, RemoveSecret removes all, hasSecret = at least one", async () => {
    const caller = systemCaller(orgId);
    const name = `v2set-${storage}`;
    const userId = await machine(s, name);
    const v2 = userServiceV2(s.url, "connect", s.pat);
    const hasSecret = async () => {
      const t = (await v2.getUserByID({ userId })).user?.type;
      return t?.case === "machine" ? t.value.hasSecret : undefined;
    };
    expect(await hasSecret()).toBe(false);
    const one = await addSecret(s.rt.deps, caller, { userId });
    const two = await addSecret(s.rt.deps, caller, { userId });
    expect(await hasSecret()).toBe(true);

    const added = await v2.addSecret({ userId });
    expect(added.clientSecret).toMatch(/^pcs_[A-Za-z0-9]{64}$/);
    expect((await token(s, name, one.clientSecret)).status).toBe(401);
    expect((await token(s, name, two.clientSecret)).status).toBe(401);
    expect((await token(s, name, added.clientSecret)).status).toBe(200);
    const listed = await rest(s.url, "POST", `/portcullis/v1/users/${userId}/secrets/_search`, { token: s.pat, body: {} });
    expect(listed.json.result).toHaveLength(1);

    const third = await addSecret(s.rt.deps, caller, { userId });
    await v2.removeSecret({ userId });
    expect((await token(s, name, added.clientSecret)).status).toBe(401);
    expect((await token(s, name, third.clientSecret)).status).toBe(401);
    expect(await hasSecret()).toBe(false);
    expect((await rest(s.url, "POST", `/portcullis/v1/users/${userId}/secrets/_search`, { token: s.pat, body: {} })).json.result ?? []).toEqual([]);
    expect(await errorOf(v2.removeSecret({ userId }))).toBeDefined();
  });

  it("an expired secret is refused like a removed one, and no token outlives its secret", async () => {
    const caller = systemCaller(orgId);
    const userId = await machine(s, `exp-${storage}`);
    const exp = new Date(clock().getTime() + 600_000);
    const sec = await addSecret(s.rt.deps, caller, { userId, expirationDate: exp });
    const tok = await token(s, `exp-${storage}`, sec.clientSecret);
    expect(tok.status).toBe(200);
    expect(tok.json.expires_in).toBeLessThanOrEqual(600);
    expect(tok.json.expires_in).toBeGreaterThan(590);
    // Moving the expiry earlier ends the tokens it obtained, too.
    await updateSecret(s.rt.deps, caller, { userId, secretId: sec.secretId, expirationDate: new Date(clock().getTime() + 60_000) });
    offsetMs = 61_000;
    expect((await token(s, `exp-${storage}`, sec.clientSecret)).status).toBe(401);
    const info = await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${tok.json.access_token}` } });
    expect(info.status).toBe(401);
  });

  it("an access token is accepted only as issued: a character added, or a last character that decodes the same, is 401", async () => {
    const userinfo = async (t: string) => (await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${t}` } })).status;
    const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let twins = 0;
    // Login names of four lengths: the tokens (which carry the client id) end on every byte boundary.
    for (let i = 0; i < 4; i++) {
      const name = `spell${"x".repeat(i)}-${storage}`;
      const sec = await addSecret(s.rt.deps, systemCaller(orgId), { userId: await machine(s, name) });
      const t = (await token(s, name, sec.clientSecret)).json.access_token as string;
      expect(await userinfo(t)).toBe(200);
      for (const extra of ["A", "_"]) expect(await userinfo(t + extra)).toBe(401);
      if (t.length % 4 !== 0) {
        twins++;
        expect(await userinfo(t.slice(0, -1) + B64[B64.indexOf(t.at(-1)!) | 1])).toBe(401);
      }
    }
    expect(twins).toBeGreaterThan(0);
  });

  it("projections rebuild reproduces the secrets table", async () => {
    await expectRebuildAgrees(s);
  });
});

async function expectRebuildAgrees(s: TestServer) {
  const snap = async () => s.rt.sql.query(`SELECT * FROM proj_machine_secrets ORDER BY user_id, id`);
  const before = await snap();
  expect(before.length).toBeGreaterThan(0);
  await rebuildProjections(s.rt.sql);
  expect(await snap()).toEqual(before);
}

describe("two instances on one PostgreSQL", () => {
  let a: TestServer;
  let b: TestServer;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    a = await startTestServer({ databaseUrl: db.url, clock });
    b = await startTestServer({ databaseUrl: db.url, dataDir: a.dataDir, clock });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await drop?.();
  });

  it("rotation through one instance: zero failed token requests on either", async () => {
    await zeroDowntimeRotation([a, b], "rot-cluster");
  });

  it("last use is the latest either instance saw, whichever writes last", async () => {
    const orgId = await myOrgId(a);
    const userId = await machine(a, "lu-cluster");
    const sec = await addSecret(a.rt.deps, systemCaller(orgId), { userId });
    // a sees a use now, b one three minutes later (its clock ahead); b writes first, a after.
    expect((await token(a, "lu-cluster", sec.clientSecret)).status).toBe(200);
    offsetMs = 180_000;
    const from = clock().getTime();
    expect((await token(b, "lu-cluster", sec.clientSecret)).status).toBe(200);
    const to = clock().getTime();
    offsetMs = 0;
    await b.rt.deps.lastUsed.flush();
    await a.rt.deps.lastUsed.flush();
    const rows = await a.rt.sql.query<{ last_used: Date | string }>("SELECT last_used FROM credential_last_used WHERE cred_id = $1", [sec.secretId]);
    expect(rows).toHaveLength(1);
    const at = new Date(rows[0]!.last_used).getTime();
    expect(at >= from - (from % 60_000) && at <= to - (to % 60_000)).toBe(true);
  });
});

describe("expiry of keys and PATs, the org's credential policy, and formats", () => {
  let s: TestServer;
  let orgId: string;
  beforeAll(async () => {
    s = await startTestServer({ storage: "pglite", clock });
    orgId = await myOrgId(s);
  });
  afterAll(async () => {
    await s?.close();
  });

  it("a jwt-bearer token ends when its machine key expires", async () => {
    const userId = await machine(s, "key-cap");
    const expirationDate = new Date(clock().getTime() + 120_000).toISOString();
    const key = await rest(s.url, "POST", `/management/v1/users/${userId}/keys`, { token: s.pat, body: { type: "KEY_TYPE_JSON", expirationDate } });
    const kf = JSON.parse(Buffer.from(key.json.keyDetails, "base64").toString()) as { keyId: string; key: string };
    const now = Math.floor(clock().getTime() / 1000);
    const assertion = await new SignJWT({ iss: userId, sub: userId, aud: s.url, iat: now, exp: now + 60, jti: randomUUID() })
      .setProtectedHeader({ alg: "RS256", kid: kf.keyId })
      .sign(createPrivateKey(kf.key));
    const tok = await tokenRequest(s.url, { grant_type: JWT_BEARER, assertion, scope: `openid ${API}` });
    expect(tok.status).toBe(200);
    expect(tok.json.expires_in).toBeLessThanOrEqual(120);
    const idExp = JSON.parse(Buffer.from((tok.json.id_token as string).split(".")[1]!, "base64url").toString()).exp as number;
    expect(idExp).toBeLessThanOrEqual(Math.floor(Date.parse(expirationDate) / 1000));
  });

  it("the policy bounds new secrets, keys and PATs; ZITADEL calls without an expiration get the policy's limit", async () => {
    const caller = systemCaller(orgId);
    const userId = await machine(s, "policy-svc");
    await setCredentialPolicy(s.rt.deps, caller, { maxSecretLifetime: 86400, maxKeyLifetime: 7 * 86400, maxPatLifetime: 3600 });
    try {
      const far = new Date(clock().getTime() + 2 * 86400_000).toISOString();
      const pat = await rest(s.url, "POST", `/management/v1/users/${userId}/pats`, { token: s.pat, body: { expirationDate: far } });
      expect(pat.status).toBe(400);
      expect(pat.json.details?.[0]?.id).toBe("PORT-cred-policy");
      const key = await rest(s.url, "POST", `/management/v1/users/${userId}/keys`, { token: s.pat, body: { type: "KEY_TYPE_JSON", expirationDate: new Date(clock().getTime() + 8 * 86400_000).toISOString() } });
      expect(key.status).toBe(400);
      const okPat = await rest(s.url, "POST", `/management/v1/users/${userId}/pats`, { token: s.pat, body: {} });
      expect(okPat.status).toBe(200);
      const got = await rest(s.url, "GET", `/management/v1/users/${userId}/pats/${okPat.json.tokenId}`, { token: s.pat });
      expect(Math.abs(Date.parse(got.json.token.expirationDate) - (clock().getTime() + 3600_000))).toBeLessThan(5000);
      await expect(addSecret(s.rt.deps, caller, { userId, expirationDate: new Date(far) })).rejects.toMatchObject({ id: "PORT-cred-policy" });
      const gen = await rest(s.url, "PUT", `/management/v1/users/${userId}/secret`, { token: s.pat, body: {} });
      const tok = await token(s, "policy-svc", gen.json.clientSecret as string);
      expect(tok.json.expires_in).toBeLessThanOrEqual(43200);
      // An expired PAT is refused like a removed one.
      offsetMs = 3601_000;
      expect((await rest(s.url, "GET", "/management/v1/orgs/me", { token: okPat.json.token as string })).status).toBe(401);
    } finally {
      await setCredentialPolicy(s.rt.deps, caller, { maxSecretLifetime: 0, maxKeyLifetime: 0, maxPatLifetime: 0 });
    }
  });

  it("new secrets and PATs carry their prefix and checksum; a broken checksum is refused; old formats still work", async () => {
    const userId = await machine(s, "fmt-svc");
    const gen = await rest(s.url, "PUT", `/management/v1/users/${userId}/secret`, { token: s.pat, body: {} });
    const secret = gen.json.clientSecret as string;
    expect(secret).toMatch(CREDENTIAL_PATTERNS.clientSecret);
    const flip = (v: string) => v.slice(0, -1) + (v.endsWith("A") ? "B" : "A");
    expect(await token(s, "fmt-svc", flip(secret))).toMatchObject({ status: 401, json: { error: "invalid_client" } });

    const pat = await rest(s.url, "POST", `/management/v1/users/${userId}/pats`, { token: s.pat, body: {} });
    expect(pat.json.token).toMatch(CREDENTIAL_PATTERNS.personalAccessToken);
    expect(pat.json.token).toMatch(/^pcp_/);
    const badPat = await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${flip(pat.json.token as string)}` } });
    expect(badPat.status).toBe(401);
    expect((await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${pat.json.token}` } })).status).toBe(200);

    // ZITADEL's shape (the config switch) and a secret set before the formats: 64 alphanumerics, still accepted.
    const zitadelDeps = { ...s.rt.deps, config: { ...s.rt.deps.config, credentials: { ...s.rt.deps.config.credentials, secretFormat: "zitadel" as const } } };
    const legacy = await generateMachineSecret(zitadelDeps, systemCaller(orgId), userId);
    expect(legacy.clientSecret).toMatch(/^[A-Za-z0-9]{64}$/);
    expect((await token(s, "fmt-svc", legacy.clientSecret)).status).toBe(200);

    // A PAT in the format before the prefix (bare base64url), as an upgraded database holds it.
    const idBytes = Buffer.from("legacy-pat");
    const uid = Buffer.from(userId);
    const old = Buffer.concat([Buffer.of(2, idBytes.length), idBytes, Buffer.of(uid.length), uid, randomBytes(32)]).toString("base64url");
    await runCommand(s.rt.deps, "SYSTEM", async (load) => {
      const u = await load("user", userId);
      return {
        events: [newPersonalAccessTokenAddedEvent(u, { tokenId: "legacy-pat", expiration: new Date("9999-12-31T23:59:59Z"), scopes: ["openid"], tokenHash: keyedHash(s.rt.deps.keys.hmac, old) })],
        result: () => undefined,
      };
    });
    expect((await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${old}` } })).status).toBe(200);
  });
});
