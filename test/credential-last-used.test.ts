import { createPrivateKey, randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { regenerateApiClientSecret } from "../src/app/projects/apps.js";
import { addProjectMember } from "../src/app/projects/project-members.js";
import { addProject } from "../src/app/projects/projects.js";
import { CREDENTIAL_PATTERNS } from "../src/crypto/credential-formats.js";
import { migrate } from "../src/store/migrations.js";
import { Tables } from "../src/store/read-models/tables.js";
import { CredentialService } from "../src/api/proto/portcullis/v1/credentials_pb.js";
import { CredentialKind } from "../src/api/proto/portcullis/v1/expiring_pb.js";
import { rest, tokenRequest } from "./helpers/clients.js";
import { myOrgId, oauthPost } from "./helpers/fixtures.js";
import { createOrg, createPrincipal, systemCaller } from "./helpers/principals.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

/**
 * The last use of every credential — machine secrets, machine keys, PATs, API-app secrets and app
 * keys — over the wire: gathered in memory where each authenticates, written by the timer (here every
 * second, so a test sees it without calling flush; the default is a minute), at most once per
 * credential per minute, shown by ListUserCredentials / ListAppCredentials / ListExpiringCredentials,
 * kept across a graceful restart. ZITADEL's own key and PAT messages stay as they are.
 */

const API = "urn:zitadel:iam:org:project:id:zitadel:aud";
const V = "/portcullis/v1";
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const settings = { projectRoleAssertion: false, projectRoleCheck: false, hasProjectCheck: false, privateLabelingSetting: 0 };
const env = { PORTCULLIS_CREDENTIALS_LAST_USED_WRITE_INTERVAL: "1000" };
const minute = (ms: number) => ms - (ms % 60_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const basic = (id: string, secret: string) => ({ authorization: "Basic " + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64") });

interface WireCredential {
  kind: string;
  id: string;
  creationDate: string;
  expirationDate?: string;
  lastUsed?: string;
  description?: string;
}

function signed(kf: { keyId: string; key: string }, iss: string, aud: string, jti?: string) {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...(jti ? { jti } : {}) })
    .setProtectedHeader({ alg: "RS256", kid: kf.keyId })
    .setIssuer(iss)
    .setSubject(iss)
    .setAudience(aud)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 60)
    .sign(createPrivateKey(kf.key));
}

describe("last use of every credential", () => {
  let s: TestServer;
  let orgId: string;
  let dataDir: string | undefined;
  const call = (method: string, path: string, body?: unknown) => rest(s.url, method, path, { token: s.pat, body });
  /** Polls until `ok` holds for the answer (the timer writes every second), at most 10 s. */
  async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
    let v = await read();
    for (let i = 0; i < 40 && !ok(v); i++) {
      await sleep(250);
      v = await read();
    }
    return v;
  }

  beforeAll(async () => {
    s = await startTestServer({ storage: "pglite", env });
    orgId = await myOrgId(s);
  });
  afterAll(async () => {
    await s?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("secrets, machine keys and PATs: ListUserCredentials shows each one's last use, written by the timer; ZITADEL's messages are unchanged", async () => {
    const add = await call("POST", "/management/v1/users/machine", { userName: "every-cred", name: "every" });
    const userId = add.json.userId as string;
    const list = (body: unknown = {}) => call("POST", `${V}/users/${userId}/credentials/_search`, body);
    const sec = await call("POST", `${V}/users/${userId}/secrets`, { description: "ci" });
    const key = await call("POST", `/management/v1/users/${userId}/keys`, { type: "KEY_TYPE_JSON", expirationDate: new Date(Date.now() + 86400_000).toISOString() });
    const pat = await call("POST", `/management/v1/users/${userId}/pats`, {});
    const kf = JSON.parse(Buffer.from(key.json.keyDetails as string, "base64").toString()) as { keyId: string; key: string };

    const before = await list();
    expect(before.status).toBe(200);
    expect(before.json.details.totalResult).toBe("3");
    const kinds = Object.fromEntries((before.json.result as WireCredential[]).map((c) => [c.kind, c]));
    expect(Object.keys(kinds).sort()).toEqual(["CREDENTIAL_KIND_MACHINE_KEY", "CREDENTIAL_KIND_PERSONAL_ACCESS_TOKEN", "CREDENTIAL_KIND_SECRET"]);
    expect(kinds.CREDENTIAL_KIND_SECRET).toMatchObject({ id: sec.json.secretId, description: "ci" });
    expect(kinds.CREDENTIAL_KIND_MACHINE_KEY).toMatchObject({ id: kf.keyId, expirationDate: expect.any(String) });
    expect(kinds.CREDENTIAL_KIND_PERSONAL_ACCESS_TOKEN).toMatchObject({ id: pat.json.tokenId });
    for (const c of before.json.result as WireCredential[]) expect(c.lastUsed).toBeUndefined();

    const from = Date.now();
    expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "every-cred", secret: sec.json.clientSecret })).status).toBe(200);
    const assertion = await signed(kf, userId, s.url, randomUUID());
    expect((await tokenRequest(s.url, { grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion, scope: API })).status).toBe(200);
    expect((await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${pat.json.token}` } })).status).toBe(200);

    // No flush: the timer writes them.
    const after = await eventually(list, (r) => (r.json.result as WireCredential[]).every((c) => c.lastUsed !== undefined));
    for (const c of after.json.result as WireCredential[]) {
      const at = Date.parse(c.lastUsed!);
      expect(at % 60_000).toBe(0);
      expect(at).toBeGreaterThanOrEqual(minute(from));
      expect(at).toBeLessThanOrEqual(Date.now());
    }

    // One kind, one id (a get), an unknown kind.
    const keysOnly = await list({ kind: "CREDENTIAL_KIND_MACHINE_KEY" });
    expect((keysOnly.json.result as WireCredential[]).map((c) => c.id)).toEqual([kf.keyId]);
    const one = await list({ credentialId: pat.json.tokenId });
    expect((one.json.result as WireCredential[]).map((c) => c.kind)).toEqual(["CREDENTIAL_KIND_PERSONAL_ACCESS_TOKEN"]);
    const appKind = await list({ kind: "CREDENTIAL_KIND_APP_KEY" });
    expect([appKind.status, appKind.json.details.totalResult ?? "0"]).toEqual([200, "0"]);
    const bad = await list({ kind: 99 });
    expect([bad.status, bad.json.details?.[0]?.id]).toEqual([400, "PORT-cred-kind"]);

    // ZITADEL's v1 key and PAT messages carry no such field.
    const v1Keys = await call("POST", `/management/v1/users/${userId}/keys/_search`, {});
    expect(Object.keys(v1Keys.json.result[0]).sort()).toEqual(["details", "expirationDate", "id", "type"]);
    const v1Pats = await call("POST", `/management/v1/users/${userId}/pats/_search`, {});
    expect(v1Pats.json.result[0].lastUsed).toBeUndefined();

    // The same over gRPC, and another org's view of the user is empty.
    const grpc = createClient(CredentialService, createGrpcTransport({ baseUrl: s.url, interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${s.pat}`), next(req))] }));
    const viaGrpc = await grpc.listUserCredentials({ userId, kind: CredentialKind.SECRET });
    expect(viaGrpc.result.map((c) => [c.id, c.lastUsed !== undefined])).toEqual([[sec.json.secretId, true]]);
  });

  it("API-app secrets and keys: a pca_ secret with a checksum, last use by introspection in ListAppCredentials and the expiring query, one write per minute, kept across a restart", async () => {
    const p = (await addProject(s.rt.deps, systemCaller(orgId), { name: "usage-project", ...settings })).id;
    const appList = (appId: string) => call("POST", `${V}/projects/${p}/apps/${appId}/credentials/_search`, {});

    // A BASIC app: its secret in the documented format; a broken checksum is refused.
    const app = await call("POST", `/management/v1/projects/${p}/apps/api`, { name: "reader", authMethodType: "API_AUTH_METHOD_TYPE_BASIC" });
    const { appId, clientId, clientSecret } = app.json as { appId: string; clientId: string; clientSecret: string };
    expect(clientSecret).toMatch(CREDENTIAL_PATTERNS.appClientSecret);
    expect(clientSecret).not.toMatch(CREDENTIAL_PATTERNS.clientSecret);
    const introspect = (secret: string) => oauthPost(s.url, "/oauth/v2/introspect", { token: s.pat }, basic(clientId, secret));
    const flipped = clientSecret.slice(0, -1) + (clientSecret.endsWith("A") ? "B" : "A");
    expect(await introspect(flipped)).toMatchObject({ status: 401, json: { error: "invalid_client" } });

    const unused = await appList(appId);
    expect(unused.json.result).toEqual([{ kind: "CREDENTIAL_KIND_APP_SECRET", id: expect.stringMatching(/^\d+$/), creationDate: expect.any(String) }]);

    // Many introspections within a minute: one row written for the secret (two if the minute turns).
    await s.rt.deps.lastUsed.flush();
    const writes = s.rt.deps.lastUsed.writes;
    const from = Date.now();
    for (let i = 0; i < 25; i++) expect((await introspect(clientSecret)).json.active).toBe(true);
    const used = await eventually(
      () => appList(appId),
      (r) => r.json.result[0].lastUsed !== undefined,
    );
    expect(Date.parse(used.json.result[0].lastUsed)).toBeGreaterThanOrEqual(minute(from));
    await s.rt.deps.lastUsed.flush();
    expect(s.rt.deps.lastUsed.writes - writes).toBeGreaterThanOrEqual(1);
    expect(s.rt.deps.lastUsed.writes - writes).toBeLessThanOrEqual(2);

    // A PRIVATE_KEY_JWT app's key, expiring in two days.
    const keyed = await call("POST", `/management/v1/projects/${p}/apps/api`, { name: "keyed", authMethodType: "API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT" });
    const keyAppId = keyed.json.appId as string;
    const key = await call("POST", `/management/v1/projects/${p}/apps/${keyAppId}/keys`, { type: "KEY_TYPE_JSON", expirationDate: new Date(Date.now() + 2 * 86400_000).toISOString() });
    const kf = JSON.parse(Buffer.from(key.json.keyDetails as string, "base64").toString()) as { keyId: string; key: string; clientId: string };
    const viaKey = await oauthPost(s.url, "/oauth/v2/introspect", { token: s.pat, client_assertion_type: ASSERTION_TYPE, client_assertion: await signed(kf, kf.clientId, s.url) });
    expect(viaKey.json.active).toBe(true);
    const keyUsed = await eventually(
      () => appList(keyAppId),
      (r) => r.json.result?.[0]?.lastUsed !== undefined,
    );
    expect(keyUsed.json.result).toEqual([
      { kind: "CREDENTIAL_KIND_APP_KEY", id: kf.keyId, creationDate: expect.any(String), expirationDate: expect.any(String), lastUsed: expect.any(String) },
    ]);

    // The expiring query covers app credentials: the key within three days; a regenerated (new, never used) secret as unused.
    const soon = await call("POST", `${V}/credentials/expiring/_search`, { within: `${3 * 86400}s` });
    expect((soon.json.result as Record<string, string>[]).find((c) => c.id === kf.keyId)).toMatchObject({
      kind: "CREDENTIAL_KIND_APP_KEY",
      projectId: p,
      appId: keyAppId,
      appName: "keyed",
      lastUsed: expect.any(String),
    });
    const regen = await call("POST", `/management/v1/projects/${p}/apps/${appId}/api_config/_generate_client_secret`, {});
    expect(regen.json.clientSecret).toMatch(CREDENTIAL_PATTERNS.appClientSecret);
    const fresh = await appList(appId);
    expect(fresh.json.result).toHaveLength(1);
    expect(fresh.json.result[0].id).not.toBe(unused.json.result[0].id);
    expect(fresh.json.result[0].lastUsed).toBeUndefined();
    await sleep(1100);
    const idle = await call("POST", `${V}/credentials/expiring/_search`, { unusedFor: "1s" });
    expect((idle.json.result as Record<string, string>[]).find((c) => c.id === fresh.json.result[0].id)).toMatchObject({ kind: "CREDENTIAL_KIND_APP_SECRET", appId, appName: "reader" });

    // ZITADEL's exact shape under credentials.secretFormat: zitadel, still accepted; the old secret is not.
    const zitadelDeps = { ...s.rt.deps, config: { ...s.rt.deps.config, credentials: { ...s.rt.deps.config.credentials, secretFormat: "zitadel" as const } } };
    const legacy = await regenerateApiClientSecret(zitadelDeps, systemCaller(orgId), p, appId);
    expect(legacy.clientSecret).toMatch(/^[A-Za-z0-9]{64}$/);
    expect((await introspect(legacy.clientSecret)).json.active).toBe(true);
    expect((await introspect(regen.json.clientSecret as string)).status).toBe(401);
    expect((await introspect(clientSecret)).status).toBe(401);

    // A graceful restart keeps what was used (the shutdown writes what is pending).
    dataDir = s.dataDir;
    await s.stop();
    s = await startTestServer({ storage: "pglite", env, dataDir });
    const kept = await appList(appId);
    expect(kept.json.result[0].lastUsed).toBeDefined();
    expect((await appList(keyAppId)).json.result[0].lastUsed).toBeDefined();
  });

  it("migration 13 fills the app secret's id and date of apps made before it from their events", async () => {
    const dump = () => s.rt.sql.query(`SELECT project_id, id, secret_id, secret_created_at FROM ${Tables.apps} ORDER BY project_id, id`);
    const before = await dump();
    expect(before.filter((r) => r.secret_id !== null).length).toBeGreaterThan(0);
    expect(before.filter((r) => r.secret_id === null).length).toBeGreaterThan(0); // the PRIVATE_KEY_JWT app
    await s.rt.sql.query(`ALTER TABLE ${Tables.apps} DROP COLUMN secret_id, DROP COLUMN secret_created_at`);
    await s.rt.sql.query("DELETE FROM schema_migrations WHERE version = 13");
    expect(await migrate(s.rt.sql)).toEqual([13]);
    expect(await dump()).toEqual(before);
  });

  it("permissions: user.read for a user's credentials, project.app.read (or a membership in the project) for an app's; another org sees nothing", async () => {
    const p = (await addProject(s.rt.deps, systemCaller(orgId), { name: "perm-project", ...settings })).id;
    const app = await call("POST", `/management/v1/projects/${p}/apps/api`, { name: "perm-app", authMethodType: "API_AUTH_METHOD_TYPE_BASIC" });
    const appPath = `${V}/projects/${p}/apps/${app.json.appId}/credentials/_search`;
    const machine = await call("POST", "/management/v1/users/machine", { userName: "perm-svc", name: "perm" });
    const userPath = `${V}/users/${machine.json.userId}/credentials/_search`;
    await call("POST", `${V}/users/${machine.json.userId}/secrets`, {});

    const nobody = await createPrincipal(s.rt.deps, { orgId, userName: "perm-nobody" });
    // No membership anywhere: ZITADEL's "membership not found" (NotFound), as for its own methods.
    for (const path of [appPath, userPath]) expect((await rest(s.url, "POST", path, { token: nobody.pat, body: {} })).json.details?.[0]?.id).toBe("AUTHZ-cdgFk");

    const owner = await createPrincipal(s.rt.deps, { orgId, userName: "perm-owner" });
    await addProjectMember(s.rt.deps, systemCaller(orgId), p, owner.userId, ["PROJECT_OWNER"]);
    const asOwner = await rest(s.url, "POST", appPath, { token: owner.pat, body: {} });
    expect([asOwner.status, asOwner.json.result?.map((c: WireCredential) => c.kind)]).toEqual([200, ["CREDENTIAL_KIND_APP_SECRET"]]);
    const ownerOnUser = await rest(s.url, "POST", userPath, { token: owner.pat, body: {} });
    expect([ownerOnUser.status, ownerOnUser.json.details?.[0]?.id]).toEqual([404, "AUTHZ-cdgFk"]); // no org membership

    const other = await createOrg(s.rt.deps, "perm-other-org");
    const foreign = await createPrincipal(s.rt.deps, { orgId: other, userName: "perm-foreign", orgRoles: [{ orgId: other, roles: ["ORG_OWNER"] }] });
    for (const path of [appPath, userPath]) {
      const r = await rest(s.url, "POST", path, { token: foreign.pat, body: {} });
      expect([r.status, r.json.result ?? []]).toEqual([200, []]);
    }
  });
});
