import { createPrivateKey } from "node:crypto";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APIAuthMethodType } from "@zitadel/proto/zitadel/app_pb.js";
import { KeyType } from "@zitadel/proto/zitadel/auth_n_key_pb.js";
import { addProject } from "../src/app/projects/projects.js";
import { addProjectMember } from "../src/app/projects/project-members.js";
import { Tables } from "../src/store/read-models/tables.js";
import { rebuildProjections } from "../src/store/rebuild.js";
import { errorOf, managementClient, rest, tokenRequest } from "./helpers/clients.js";
import { ISO, NO_EXPIRY, oauthPost, zitadelError } from "./helpers/fixtures.js";
import { createMachine, createPrincipal, systemCaller } from "./helpers/principals.js";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";

const NO_MEMBERSHIP = zitadelError(5, "AUTHZ-cdgFk", "membership not found");
const NO_PERMISSION = zitadelError(7, "AUTH-5mWD2", "No matching permissions found");
const INVALID_CLIENT = { error: "invalid_client", error_description: "client authentication failed" };
const settings = { projectRoleAssertion: false, projectRoleCheck: false, hasProjectCheck: false, privateLabelingSetting: 0 };
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

interface AppKeyFile {
  type: string;
  keyId: string;
  key: string;
  appId: string;
  clientId: string;
}

const basic = (id: string, secret: string) => ({ authorization: "Basic " + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64") });

/** A client assertion as zitadel/oidc's resource server mints it: iss = sub = client id, aud the issuer, no jti. */
function appAssertion(kf: AppKeyFile, issuer: string): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "RS256", kid: kf.keyId })
    .setIssuer(kf.clientId)
    .setSubject(kf.clientId)
    .setAudience([issuer])
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(createPrivateKey(kf.key));
}

describe.each<Storage>(["pglite", "postgres"])("API applications (%s)", (storage) => {
  let s: TestServer;
  let orgId: string;
  const mgmt = (method: string, path: string, opts: { token?: string; orgId?: string; body?: unknown } = {}) =>
    rest(s.url, method, `/management/v1${path}`, { token: s.pat, ...opts });
  let n = 0;
  const unique = (what: string) => `${what}-${storage}-${++n}`;
  const newProject = async (extra: Partial<typeof settings> = {}) => (await addProject(s.rt.deps, systemCaller(orgId), { name: unique("P"), ...settings, ...extra })).id;
  /** A machine with a secret, and a token for it with the project in its audience (or none). */
  const machineToken = async (projectId?: string) => {
    const userName = unique("svc");
    const userId = await createMachine(s.rt.deps, orgId, userName);
    const secret = (await mgmt("PUT", `/users/${userId}/secret`)).json.clientSecret as string;
    const scope = ["openid", "profile", ...(projectId ? [`urn:zitadel:iam:org:project:id:${projectId}:aud`] : [])].join(" ");
    const t = await tokenRequest(s.url, { grant_type: "client_credentials", scope }, { id: userName, secret });
    expect(t.status).toBe(200);
    return { userId, userName, secret, token: t.json.access_token as string };
  };
  const introspect = (token: string, headers: Record<string, string>, form: Record<string, string> = {}) => oauthPost(s.url, "/oauth/v2/introspect", { token, ...form }, headers);

  beforeAll(async () => {
    s = await startTestServer({ storage });
    orgId = (await mgmt("GET", "/orgs/me")).json.org.id;
  });
  afterAll(async () => {
    await s?.close();
  });

  it("REST: the app lifecycle, its events and read model; the secret is returned once and never stored in clear", async () => {
    const p = await newProject();
    const projectName = (await mgmt("GET", `/projects/${p}`)).json.project.name as string;
    const name = unique("API");
    const add = await mgmt("POST", `/projects/${p}/apps/api`, { body: { name, authMethodType: "API_AUTH_METHOD_TYPE_BASIC" } });
    expect(add.status).toBe(200);
    expect(add.json).toEqual({
      appId: expect.stringMatching(/^\d+$/),
      details: { sequence: expect.any(String), creationDate: expect.stringMatching(ISO), resourceOwner: orgId },
      clientId: expect.stringMatching(new RegExp(`^\\d+@${projectName.toLowerCase()}$`)),
      clientSecret: expect.stringMatching(/^pca_[A-Za-z0-9]{64}$/),
    });
    const { appId, clientId, clientSecret } = add.json as { appId: string; clientId: string; clientSecret: string };
    const events = await s.rt.deps.store.load(s.rt.deps.instanceId, "project", p);
    const appEvents = events.filter((e) => e.type.startsWith("project.application."));
    expect(appEvents.map((e) => [e.type, Object.keys(e.payload).sort()])).toEqual([
      ["project.application.added", ["appId", "name"]],
      ["project.application.config.api.added", ["appId", "clientId", "hashedSecret"]],
    ]);
    expect(JSON.stringify(events)).not.toContain(clientSecret);

    const get = await mgmt("GET", `/projects/${p}/apps/${appId}`);
    expect(get.json.app).toEqual({
      id: appId,
      details: { sequence: expect.any(String), creationDate: expect.stringMatching(ISO), changeDate: expect.stringMatching(ISO), resourceOwner: orgId },
      state: "APP_STATE_ACTIVE",
      name,
      apiConfig: { clientId },
    });
    const dup = await mgmt("POST", `/projects/${p}/apps/api`, { body: { name } });
    expect([dup.status, dup.json]).toEqual([409, zitadelError(6, "V3-DKcYh", "Errors.Project.App.AlreadyExists")]);

    const second = await mgmt("POST", `/projects/${p}/apps/api`, { body: { name: unique("Other"), authMethodType: "API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT" } });
    expect(second.json.clientSecret).toBeUndefined();
    const list = await mgmt("POST", `/projects/${p}/apps/_search`, { body: { queries: [{ nameQuery: { name: name.toUpperCase(), method: "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE" } }] } });
    expect([list.json.details.totalResult, list.json.result.map((a: { id: string }) => a.id)]).toEqual(["1", [appId]]);
    expect((await mgmt("POST", `/projects/${p}/apps/_search`, { body: {} })).json.result).toHaveLength(2);

    expect((await mgmt("PUT", `/projects/${p}/apps/${appId}`, { body: { name: name + "-2" } })).status).toBe(200);
    const same = await mgmt("PUT", `/projects/${p}/apps/${appId}`, { body: { name: name + "-2" } });
    expect([same.status, same.json]).toEqual([400, zitadelError(9, "COMMAND-2m8vx", "Errors.NoChangesFound")]);
    expect((await mgmt("PUT", `/projects/${p}/apps/${appId}/api_config`, { body: { authMethodType: "API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT" } })).status).toBe(200);
    const noChange = await mgmt("PUT", `/projects/${p}/apps/${appId}/api_config`, { body: { authMethodType: "API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT" } });
    expect([noChange.status, noChange.json]).toEqual([400, zitadelError(9, "COMMAND-1m88i", "Errors.NoChangesFound")]);
    expect((await mgmt("GET", `/projects/${p}/apps/${appId}`)).json.app.apiConfig).toEqual({ clientId, authMethodType: "API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT" });

    expect((await mgmt("POST", `/projects/${p}/apps/${appId}/_deactivate`, { body: {} })).status).toBe(200);
    expect((await mgmt("GET", `/projects/${p}/apps/${appId}`)).json.app.state).toBe("APP_STATE_INACTIVE");
    const again = await mgmt("POST", `/projects/${p}/apps/${appId}/_deactivate`, { body: {} });
    expect([again.status, again.json]).toEqual([400, zitadelError(9, "COMMAND-dsh35", "Errors.Project.App.NotActive")]);
    expect((await mgmt("POST", `/projects/${p}/apps/${appId}/_reactivate`, { body: {} })).status).toBe(200);
    const notInactive = await mgmt("POST", `/projects/${p}/apps/${appId}/_reactivate`, { body: {} });
    expect([notInactive.status, notInactive.json]).toEqual([400, zitadelError(9, "COMMAND-1n8cM", "Errors.Project.App.NotInactive")]);

    const regen = await mgmt("POST", `/projects/${p}/apps/${appId}/api_config/_generate_client_secret`, { body: {} });
    expect(regen.json).toEqual({ clientSecret: expect.stringMatching(/^pca_[A-Za-z0-9]{64}$/), details: expect.objectContaining({ changeDate: expect.stringMatching(ISO) }) });

    const changes = await mgmt("POST", `/projects/${p}/changes/_search`, { body: { query: { asc: true } } });
    expect(changes.json.result.map((c: { eventType: { key: string } }) => c.eventType.key)).toContain("EventTypes.project.application.config.api.secret.changed");

    expect((await mgmt("DELETE", `/projects/${p}/apps/${appId}`)).status).toBe(200);
    const gone = await mgmt("GET", `/projects/${p}/apps/${appId}`);
    expect([gone.status, gone.json]).toEqual([404, zitadelError(5, "QUERY-anx7d", "Errors.Project.App.NotFound")]);
    const removeAgain = await mgmt("DELETE", `/projects/${p}/apps/${appId}`);
    expect([removeAgain.status, removeAgain.json]).toEqual([404, zitadelError(5, "COMMAND-0po9s", "Errors.Project.App.NotExisting")]);
    // The name is free again.
    expect((await mgmt("POST", `/projects/${p}/apps/api`, { body: { name } })).status).toBe(200);
  });

  it("gRPC: apps and app keys with the official client; the key file has ZITADEL's shape; OIDC/SAML apps are Unimplemented", async () => {
    const p = await newProject();
    const client = managementClient(s.url, "grpc", s.pat);
    const add = await client.addAPIApp({ projectId: p, name: unique("Keyed"), authMethodType: APIAuthMethodType.API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT });
    expect(add.clientSecret).toBe("");
    const got = await client.getAppByID({ projectId: p, appId: add.appId });
    expect(got.app?.config).toEqual({ case: "apiConfig", value: expect.objectContaining({ clientId: add.clientId, authMethodType: APIAuthMethodType.API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT }) });
    expect((await client.listApps({ projectId: p })).result.map((a) => a.id)).toEqual([add.appId]);

    const key = await client.addAppKey({ projectId: p, appId: add.appId, type: KeyType.JSON });
    const file = JSON.parse(Buffer.from(key.keyDetails).toString("utf8")) as AppKeyFile;
    expect(Object.keys(file)).toEqual(["type", "keyId", "key", "appId", "clientId"]);
    expect(file).toEqual({ type: "application", keyId: key.id, key: expect.stringContaining("-----BEGIN RSA PRIVATE KEY-----"), appId: add.appId, clientId: add.clientId });
    const k = await client.getAppKey({ projectId: p, appId: add.appId, keyId: key.id });
    expect(timestampDate(k.key!.expirationDate!).toISOString().replace(".000Z", "Z")).toBe(NO_EXPIRY);
    expect((await client.listAppKeys({ projectId: p, appId: add.appId })).result.map((x) => x.id)).toEqual([key.id]);
    expect((await s.rt.deps.store.load(s.rt.deps.instanceId, "project", p)).at(-1)?.type).toBe("project.application.oidc.key.added");
    await client.removeAppKey({ projectId: p, appId: add.appId, keyId: key.id });
    expect((await client.listAppKeys({ projectId: p, appId: add.appId })).result).toEqual([]);
    expect((await errorOf(client.removeAppKey({ projectId: p, appId: add.appId, keyId: key.id })))?.code).toBe(Code.NotFound);

    const basicApp = await client.addAPIApp({ projectId: p, name: unique("Basic") });
    const noKeys = await errorOf(client.addAppKey({ projectId: p, appId: basicApp.appId, type: KeyType.JSON }));
    expect([noKeys?.code, noKeys?.rawMessage]).toEqual([Code.FailedPrecondition, "Errors.Project.App.AuthMethodNoPrivateKeyJWT (COMMAND-Dff54)"]);
    const secret = await client.regenerateAPIClientSecret({ projectId: p, appId: basicApp.appId });
    expect(secret.clientSecret).toMatch(/^pca_[A-Za-z0-9]{64}$/);
    await client.deactivateApp({ projectId: p, appId: basicApp.appId });
    await client.reactivateApp({ projectId: p, appId: basicApp.appId });
    await client.updateApp({ projectId: p, appId: basicApp.appId, name: unique("Renamed") });
    await client.removeApp({ projectId: p, appId: basicApp.appId });
    expect((await errorOf(client.getAppByID({ projectId: p, appId: basicApp.appId })))?.code).toBe(Code.NotFound);

    expect((await errorOf(client.addOIDCApp({ projectId: p, name: "web" })))?.code).toBe(Code.Unimplemented);
    expect((await errorOf(client.addSAMLApp({ projectId: p, name: "saml", metadata: { case: "metadataUrl", value: "https://sp.example.com/metadata" } })))?.code).toBe(Code.Unimplemented);
  });

  it("bad input: unknown project or app, another org's project, empty names, expired key dates, unknown query", async () => {
    const p = await newProject();
    const unknown = await mgmt("POST", `/projects/nope/apps/api`, { body: { name: "x" } });
    expect([unknown.status, unknown.json]).toEqual([400, zitadelError(9, "PROJECT-9fnsf", "Errors.Project.NotFound")]);
    const empty = await mgmt("POST", `/projects/${p}/apps/api`, { body: { name: "" } });
    expect(empty.status).toBe(400);
    const blank = await mgmt("POST", `/projects/${p}/apps/api`, { body: { name: "   " } });
    expect([blank.status, blank.json]).toEqual([400, zitadelError(3, "PROJECT-Bff2g", "Errors.Application.Invalid")]);
    const badMethod = await mgmt("POST", `/projects/${p}/apps/api`, { body: { name: "m", authMethodType: 7 } });
    expect(badMethod.status).toBe(400);
    const tooLong = await mgmt("POST", `/projects/${p}/apps/api`, { body: { name: "n".repeat(201) } });
    expect([tooLong.status, tooLong.json.code]).toEqual([400, 3]);
    const emptyQuery = await mgmt("POST", `/projects/${p}/apps/_search`, { body: { queries: [{}] } });
    expect([emptyQuery.status, emptyQuery.json.message]).toEqual([400, expect.stringContaining("invalid AppQuery.Query: value is required")]);
    expect(await s.rt.deps.store.load(s.rt.deps.instanceId, "project", p).then((es) => es.filter((e) => e.type.startsWith("project.application")))).toEqual([]);

    const app = (await mgmt("POST", `/projects/${p}/apps/api`, { body: { name: unique("k"), authMethodType: "API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT" } })).json;
    const past = await mgmt("POST", `/projects/${p}/apps/${app.appId}/keys`, { body: { type: "KEY_TYPE_JSON", expirationDate: "2001-01-01T00:00:00Z" } });
    expect([past.status, past.json]).toEqual([400, zitadelError(3, "DOMAIN-dv3t5", "Errors.AuthNKey.ExpireBeforeNow")]);
    const noApp = await mgmt("POST", `/projects/${p}/apps/nope/keys`, { body: { type: "KEY_TYPE_JSON" } });
    expect([noApp.status, noApp.json]).toEqual([400, zitadelError(9, "COMMAND-sak24", "Errors.Project.App.NotFound")]);
    const noKey = await mgmt("GET", `/projects/${p}/apps/${app.appId}/keys/nope`);
    expect([noKey.status, noKey.json]).toEqual([404, zitadelError(5, "QUERY-Dgr3g", "Errors.AuthNKey.NotFound")]);
    const upd = await mgmt("PUT", `/projects/${p}/apps/nope`, { body: { name: "x" } });
    expect([upd.status, upd.json]).toEqual([404, zitadelError(5, "COMMAND-28di9", "Errors.Project.App.NotExisting")]);
    const regen = await mgmt("POST", `/projects/${p}/apps/nope/api_config/_generate_client_secret`, { body: {} });
    expect([regen.status, regen.json]).toEqual([404, zitadelError(5, "COMMAND-2g66f", "Errors.Project.App.NotExisting")]);
    // The project named under another org (the caller is IAM_OWNER there too) is not there.
    const otherOrg = (await mgmt("POST", "/orgs", { body: { name: unique("Org") } })).json.id as string;
    const elsewhere = await mgmt("GET", `/projects/${p}/apps/${app.appId}`, { orgId: otherOrg });
    expect(elsewhere.status).toBe(404);
    expect((await mgmt("POST", `/projects/${p}/apps/_search`, { orgId: otherOrg, body: {} })).json.result ?? []).toEqual([]);
  });

  it("introspection by a BASIC app: audience, claims, wrong secret, regenerated secret, deactivation of the app and its project", async () => {
    const p = await newProject();
    const app = (await mgmt("POST", `/projects/${p}/apps/api`, { body: { name: unique("rs") } })).json as { appId: string; clientId: string; clientSecret: string };
    const m = await machineToken(p);
    const asApp = () => basic(app.clientId, app.clientSecret);

    const r = await introspect(m.token, asApp());
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      active: true,
      scope: `openid profile urn:zitadel:iam:org:project:id:${p}:aud`,
      client_id: m.userName,
      token_type: "Bearer",
      exp: expect.any(Number),
      iat: expect.any(Number),
      nbf: expect.any(Number),
      sub: m.userId,
      aud: [p],
      iss: s.url,
      jti: expect.any(String),
      username: m.userName,
      name: `Name of ${m.userName}`,
      preferred_username: m.userName,
      updated_at: expect.any(Number),
    });
    // Without the project in its audience, the token is not for this app (ZITADEL's validateIntrospectionAudience).
    const other = await machineToken();
    expect((await introspect(other.token, asApp())).json).toEqual({ active: false });
    expect((await introspect("garbage", asApp())).json).toEqual({ active: false });
    // client_secret_post works too.
    expect((await introspect(m.token, {}, { client_id: app.clientId, client_secret: app.clientSecret })).json.active).toBe(true);
    // The machine still introspects by itself.
    expect((await introspect(m.token, basic(m.userName, m.secret))).json.active).toBe(true);

    const wrong = await introspect(m.token, basic(app.clientId, app.clientSecret.replace(/.$/, (c) => (c === "a" ? "b" : "a"))));
    expect([wrong.status, wrong.json]).toEqual([401, INVALID_CLIENT]);

    const regen = await mgmt("POST", `/projects/${p}/apps/${app.appId}/api_config/_generate_client_secret`, { body: {} });
    expect((await introspect(m.token, asApp())).status).toBe(401);
    expect((await introspect(m.token, basic(app.clientId, regen.json.clientSecret))).json.active).toBe(true);
    app.clientSecret = regen.json.clientSecret;

    await mgmt("POST", `/projects/${p}/apps/${app.appId}/_deactivate`, { body: {} });
    expect([(await introspect(m.token, asApp())).status]).toEqual([401]);
    await mgmt("POST", `/projects/${p}/apps/${app.appId}/_reactivate`, { body: {} });
    expect((await introspect(m.token, asApp())).json.active).toBe(true);
    await mgmt("POST", `/projects/${p}/_deactivate`, { body: {} });
    expect((await introspect(m.token, asApp())).status).toBe(401);
    await mgmt("POST", `/projects/${p}/_reactivate`, { body: {} });
    expect((await introspect(m.token, asApp())).json.active).toBe(true);
    // A BASIC app switched to PRIVATE_KEY_JWT no longer authenticates with its secret.
    await mgmt("PUT", `/projects/${p}/apps/${app.appId}/api_config`, { body: { authMethodType: "API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT" } });
    expect((await introspect(m.token, asApp())).status).toBe(401);
  });

  it("introspection by the app of a project that asserts roles carries the machine's roles on it, as they are at each answer", async () => {
    const p = await newProject({ projectRoleAssertion: true });
    await mgmt("POST", `/projects/${p}/roles/_bulk`, { body: { roles: [{ key: "invoices.read", displayName: "Read" }, { key: "invoices.write", displayName: "Write" }] } });
    const app = (await mgmt("POST", `/projects/${p}/apps/api`, { body: { name: unique("rs") } })).json as { clientId: string; clientSecret: string };
    const m = await machineToken(p);
    const grant = await mgmt("POST", `/users/${m.userId}/grants`, { body: { projectId: p, roleKeys: ["invoices.read"] } });
    expect(grant.status).toBe(200);
    const domain = (await mgmt("GET", "/orgs/me")).json.org.primaryDomain as string;
    const claim = `urn:zitadel:iam:org:project:${p}:roles`;
    const asApp = () => introspect(m.token, basic(app.clientId, app.clientSecret));
    expect((await asApp()).json).toMatchObject({ active: true, sub: m.userId, [claim]: { "invoices.read": { [orgId]: domain } } });
    // The grant changes: the next answer says so (opaque tokens freeze no roles).
    await mgmt("PUT", `/users/${m.userId}/grants/${grant.json.userGrantId}`, { body: { roleKeys: ["invoices.read", "invoices.write"] } });
    expect((await asApp()).json[claim]).toEqual({ "invoices.read": { [orgId]: domain }, "invoices.write": { [orgId]: domain } });
    await mgmt("POST", `/users/${m.userId}/grants/${grant.json.userGrantId}/_deactivate`, { body: {} });
    const after = await asApp();
    expect(after.json.active).toBe(true);
    expect(after.json[claim]).toBeUndefined();
  });

  it("introspection with an app key (private_key_jwt); a removed key, app or project is refused at once; role assertion without grants adds no roles", async () => {
    const p = await newProject({ projectRoleAssertion: true });
    const app = (await mgmt("POST", `/projects/${p}/apps/api`, { body: { name: unique("jwt"), authMethodType: "API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT" } })).json as { appId: string; clientId: string };
    const key = await mgmt("POST", `/projects/${p}/apps/${app.appId}/keys`, { body: { type: "KEY_TYPE_JSON" } });
    const kf = JSON.parse(Buffer.from(key.json.keyDetails, "base64").toString("utf8")) as AppKeyFile;
    const m = await machineToken(p);
    const viaKey = async () => introspect(m.token, {}, { client_assertion_type: ASSERTION_TYPE, client_assertion: await appAssertion(kf, s.url) });

    const ok = await viaKey();
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ active: true, sub: m.userId, aud: [p] });
    expect(Object.keys(ok.json).filter((k) => k.includes(":roles"))).toEqual([]);
    // client_id alongside must name the same app.
    const mismatch = await introspect(m.token, {}, { client_assertion_type: ASSERTION_TYPE, client_assertion: await appAssertion(kf, s.url), client_id: m.userName });
    expect([mismatch.status, mismatch.json]).toEqual([401, INVALID_CLIENT]);
    // A PAT has no audience; as ZITADEL it is taken as meant for the asking app.
    const pat = (await createPrincipal(s.rt.deps, { orgId, userName: unique("patsvc") })).pat;
    await mgmt("POST", `/projects/${p}/roles`, { body: { roleKey: "invoices.read", displayName: "Read invoices" } });
    const viaPat = await introspect(pat, {}, { client_assertion_type: ASSERTION_TYPE, client_assertion: await appAssertion(kf, s.url) });
    expect(viaPat.json).toMatchObject({ active: true, aud: [app.clientId, p], scope: "openid urn:zitadel:iam:org:project:role:invoices.read" });

    await mgmt("DELETE", `/projects/${p}/apps/${app.appId}/keys/${kf.keyId}`);
    expect([(await viaKey()).status, (await viaKey()).json]).toEqual([401, INVALID_CLIENT]);

    const key2 = await mgmt("POST", `/projects/${p}/apps/${app.appId}/keys`, { body: { type: "KEY_TYPE_JSON" } });
    Object.assign(kf, JSON.parse(Buffer.from(key2.json.keyDetails, "base64").toString("utf8")));
    expect((await viaKey()).json.active).toBe(true);
    await mgmt("DELETE", `/projects/${p}`);
    expect((await viaKey()).status).toBe(401);
    // Project removal took the app and its keys out of the read models.
    const rows = await s.rt.sql.query(`SELECT count(*) AS n FROM ${Tables.apps} WHERE project_id = $1`, [p]);
    expect(Number(rows[0]!.n)).toBe(0);
    const keys = await s.rt.sql.query(`SELECT count(*) AS n FROM ${Tables.appKeys} WHERE project_id = $1`, [p]);
    expect(Number(keys[0]!.n)).toBe(0);
  });

  it("authorization: a PROJECT_OWNER manages the apps of its project only; a PROJECT_OWNER_VIEWER reads them", async () => {
    const p = await newProject();
    const q = await newProject();
    const owner = await createPrincipal(s.rt.deps, { orgId, userName: unique("po") });
    await addProjectMember(s.rt.deps, systemCaller(orgId), p, owner.userId, ["PROJECT_OWNER"]);
    const viewer = await createPrincipal(s.rt.deps, { orgId, userName: unique("pov") });
    await addProjectMember(s.rt.deps, systemCaller(orgId), p, viewer.userId, ["PROJECT_OWNER_VIEWER"]);
    const as = (who: { pat: string }, method: string, path: string, body?: unknown) => mgmt(method, path, { token: who.pat, body });

    const mine = await as(owner, "POST", `/projects/${p}/apps/api`, { name: unique("own") });
    expect(mine.status).toBe(200);
    const appId = mine.json.appId as string;
    expect((await as(owner, "POST", `/projects/${p}/apps/${appId}/api_config/_generate_client_secret`, {})).status).toBe(200);
    expect((await as(owner, "POST", `/projects/${p}/apps/_search`, {})).json.result).toHaveLength(1);
    for (const [method, path, body] of [
      ["POST", `/projects/${q}/apps/api`, { name: "x" }],
      ["POST", `/projects/${q}/apps/_search`, {}],
      ["GET", `/projects/${q}/apps/${appId}`],
    ] as [string, string, unknown?][]) {
      const r = await as(owner, method, path, body);
      expect([method, path, r.status, r.json]).toEqual([method, path, 404, NO_MEMBERSHIP]);
    }

    expect((await as(viewer, "GET", `/projects/${p}/apps/${appId}`)).status).toBe(200);
    expect((await as(viewer, "POST", `/projects/${p}/apps/${appId}/keys/_search`, {})).status).toBe(200);
    for (const [method, path, body] of [
      ["POST", `/projects/${p}/apps/api`, { name: "x" }],
      ["PUT", `/projects/${p}/apps/${appId}`, { name: "y" }],
      ["POST", `/projects/${p}/apps/${appId}/api_config/_generate_client_secret`, {}],
      ["POST", `/projects/${p}/apps/${appId}/_deactivate`, {}],
      ["DELETE", `/projects/${p}/apps/${appId}`],
    ] as [string, string, unknown?][]) {
      const r = await as(viewer, method, path, body);
      expect([method, path, r.status, r.json]).toEqual([method, path, 403, NO_PERMISSION]);
    }
  });

  it("projections rebuild reproduces the app tables", async () => {
    const dump = async () => {
      const apps = await s.rt.sql.query(`SELECT * FROM ${Tables.apps} ORDER BY project_id, id`);
      const keys = await s.rt.sql.query(`SELECT * FROM ${Tables.appKeys} ORDER BY id`);
      return JSON.stringify([apps, keys]);
    };
    const before = await dump();
    expect(before).toContain("client_id");
    await rebuildProjections(s.rt.sql);
    expect(await dump()).toBe(before);
  });
});

describe("introspection by an app on two processes sharing one PostgreSQL", () => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    a = await startTestServer({ storage: "postgres", env: { PORTCULLIS_RATE_LIMIT_ENABLED: "false" } });
    b = await startTestServer({ databaseUrl: a.databaseUrl, dataDir: a.dataDir, env: { PORTCULLIS_EXTERNAL_URL: a.url, PORTCULLIS_RATE_LIMIT_ENABLED: "false" } });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.close();
  });

  it("a secret regenerated (or an app deactivated) through one process is refused by the other on the very next request", async () => {
    const orgId = (await rest(a.url, "GET", "/management/v1/orgs/me", { token: a.pat })).json.org.id as string;
    const p = (await addProject(a.rt.deps, systemCaller(orgId), { name: "cluster-project", ...settings })).id;
    const add = await rest(a.url, "POST", `/management/v1/projects/${p}/apps/api`, { token: a.pat, body: { name: "cluster-rs" } });
    const { appId, clientId } = add.json as { appId: string; clientId: string };
    let secret = add.json.clientSecret as string;
    const userName = "cluster-app-svc";
    const userId = await createMachine(a.rt.deps, orgId, userName);
    const machineSecret = (await rest(a.url, "PUT", `/management/v1/users/${userId}/secret`, { token: a.pat })).json.clientSecret as string;
    const token = (await tokenRequest(a.url, { grant_type: "client_credentials", scope: `urn:zitadel:iam:org:project:id:${p}:aud` }, { id: userName, secret: machineSecret })).json.access_token as string;

    let stale = 0;
    let good = 0;
    for (let i = 0; i < 40; i++) {
      const [writer, reader] = i % 2 === 0 ? [a, b] : [b, a];
      // Warm the reader's cache with the current secret.
      if ((await oauthPost(reader.url, "/oauth/v2/introspect", { token }, basic(clientId, secret))).json.active === true) good++;
      const regen = await rest(writer.url, "POST", `/management/v1/projects/${p}/apps/${appId}/api_config/_generate_client_secret`, { token: a.pat, body: {} });
      expect(regen.status).toBe(200);
      if ((await oauthPost(reader.url, "/oauth/v2/introspect", { token }, basic(clientId, secret))).status !== 401) stale++;
      secret = regen.json.clientSecret as string;
    }
    expect([good, stale]).toEqual([40, 0]);

    expect((await oauthPost(b.url, "/oauth/v2/introspect", { token }, basic(clientId, secret))).json.active).toBe(true);
    await rest(a.url, "POST", `/management/v1/projects/${p}/apps/${appId}/_deactivate`, { token: a.pat, body: {} });
    expect((await oauthPost(b.url, "/oauth/v2/introspect", { token }, basic(clientId, secret))).status).toBe(401);
  });
});
