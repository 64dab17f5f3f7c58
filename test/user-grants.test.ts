import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import { addProjectMember } from "../src/app/projects/project-members.js";
import { rebuildProjections } from "../src/store/rebuild.js";
import { errorOf, managementClient, rest, tokenRequest } from "./helpers/clients.js";
import { ISO, zitadelError } from "./helpers/fixtures.js";
import { createMachine, createOrg, createPrincipal, systemCaller } from "./helpers/principals.js";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";

const NO_MEMBERSHIP = zitadelError(5, "AUTHZ-cdgFk", "membership not found");
const ROLES = "urn:zitadel:iam:org:projects:roles";
const aud = (p: string) => `urn:zitadel:iam:org:project:id:${p}:aud`;
const claim = (p: string) => `urn:zitadel:iam:org:project:${p}:roles`;

describe.each<Storage>(["pglite", "postgres"])("user grants and role claims (%s)", (storage) => {
  let s: TestServer;
  let orgId: string;
  let domain: string;
  let n = 0;
  const unique = (what: string) => `${what}-${storage}-${++n}`;
  const mgmt = (method: string, path: string, opts: { token?: string; orgId?: string; body?: unknown } = {}) =>
    rest(s.url, method, `/management/v1${path}`, { token: s.pat, ...opts });

  /** A project of the admin's org with roles, its flags as given. */
  async function project(roles: string[], flags: Record<string, boolean> = {}) {
    const add = await mgmt("POST", "/projects", { body: { name: unique("P"), ...flags } });
    const id = add.json.id as string;
    if (roles.length > 0) expect((await mgmt("POST", `/projects/${id}/roles/_bulk`, { body: { roles: roles.map((key) => ({ key, displayName: key })) } })).status).toBe(200);
    return id;
  }
  /** A machine of the admin's org with a client secret. */
  async function machine(body: Record<string, unknown> = {}, org?: string) {
    const userName = unique("svc");
    const add = await mgmt("POST", "/users/machine", { orgId: org, body: { userName, name: userName, ...body } });
    const gen = await mgmt("PUT", `/users/${add.json.userId}/secret`, { orgId: org, body: {} });
    return { userId: add.json.userId as string, userName, secret: gen.json.clientSecret as string };
  }
  const token = (m: { userName: string; secret: string }, scope: string) => tokenRequest(s.url, { grant_type: "client_credentials", scope }, { id: m.userName, secret: m.secret });
  const introspect = async (m: { userName: string; secret: string }, t: string) => {
    const res = await fetch(`${s.url}/oauth/v2/introspect`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: "Basic " + Buffer.from(`${m.userName}:${m.secret}`).toString("base64") },
      body: new URLSearchParams({ token: t }).toString(),
    });
    return (await res.json()) as Record<string, unknown>;
  };
  const userinfo = async (t: string) => (await (await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${t}` } })).json()) as Record<string, unknown>;

  beforeAll(async () => {
    s = await startTestServer({ storage });
    const me = (await mgmt("GET", "/orgs/me")).json.org;
    orgId = me.id;
    domain = me.primaryDomain ?? "";
  });
  afterAll(async () => {
    await s?.close();
  });

  it("REST: every user-grant RPC, its queries and ZITADEL's errors; nothing half-written", async () => {
    const p = await project(["invoices.read", "invoices.write", "admin"]);
    const m = await machine();
    const add = await mgmt("POST", `/users/${m.userId}/grants`, { body: { projectId: p, roleKeys: ["invoices.read"] } });
    expect(add.status).toBe(200);
    expect(add.json).toEqual({ userGrantId: expect.stringMatching(/^\d+$/), details: { sequence: "1", creationDate: expect.stringMatching(ISO), resourceOwner: orgId } });
    const id = add.json.userGrantId as string;

    const get = await mgmt("GET", `/users/${m.userId}/grants/${id}`);
    expect(get.json.userGrant).toEqual({
      id,
      details: { sequence: "1", creationDate: expect.stringMatching(ISO), changeDate: expect.stringMatching(ISO), resourceOwner: orgId },
      roleKeys: ["invoices.read"],
      state: "USER_GRANT_STATE_ACTIVE",
      userId: m.userId,
      userName: m.userName,
      displayName: m.userName,
      orgId,
      orgName: expect.any(String),
      ...(domain ? { orgDomain: domain } : {}),
      projectId: p,
      projectName: expect.any(String),
      preferredLoginName: m.userName,
      userType: "TYPE_MACHINE",
    });

    // Bad input: ZITADEL's codes, nothing written.
    const bad = async (body: Record<string, unknown>, user = m.userId) => {
      const r = await mgmt("POST", `/users/${user}/grants`, { body });
      return [r.status, r.json];
    };
    expect(await bad({ projectId: p, roleKeys: ["invoices.write"] })).toEqual([409, zitadelError(6, "V3-DKcYh", "Errors.UserGrant.AlreadyExists")]);
    const other = await machine();
    expect(await bad({ projectId: p, roleKeys: ["nope"] }, other.userId)).toEqual([400, zitadelError(9, "COMMAND-mm9F4", "Errors.Project.Role.NotFound")]);
    expect(await bad({ projectId: "4711", roleKeys: [] }, other.userId)).toEqual([400, zitadelError(9, "COMMAND-3n77S", "Errors.Project.NotFound")]);
    expect(await bad({ projectId: p, roleKeys: ["admin", "admin"] }, other.userId)).toEqual([400, zitadelError(3, "COMMAND-kVfMa", "Errors.UserGrant.Invalid")]);
    const foreignOrg = await createOrg(s.rt.deps, unique("Foreign"));
    const foreigner = await createMachine(s.rt.deps, foreignOrg, unique("foreigner"));
    expect(await bad({ projectId: p, roleKeys: ["admin"] }, foreigner)).toEqual([400, zitadelError(9, "COMMAND-4f8sg", "Errors.User.NotFound")]);
    expect((await bad({ projectId: "", roleKeys: [] }, other.userId))[0]).toBe(400);
    expect((await mgmt("POST", "/users/grants/_search", { body: { queries: [{ userIdQuery: { userId: other.userId } }] } })).json.result ?? []).toEqual([]);

    // Queries.
    const g2 = (await mgmt("POST", `/users/${other.userId}/grants`, { body: { projectId: p, roleKeys: ["admin"] } })).json.userGrantId as string;
    const search = async (q: unknown) => ((await mgmt("POST", "/users/grants/_search", { body: { queries: [q] } })).json.result ?? []).map((g: { id: string }) => g.id);
    expect(await search({ projectIdQuery: { projectId: p } })).toEqual([id, g2]);
    expect(await search({ userIdQuery: { userId: other.userId } })).toEqual([g2]);
    expect(await search({ roleKeyQuery: { roleKey: "invoices.read" } })).toEqual([id]);
    expect(await search({ userNameQuery: { userName: other.userName, method: "TEXT_QUERY_METHOD_EQUALS" } })).toEqual([g2]);
    expect(await search({ displayNameQuery: { displayName: m.userName.toUpperCase(), method: "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE" } })).toEqual([id]);
    expect(await search({ userTypeQuery: { type: "TYPE_HUMAN" } })).toEqual([]);
    expect((await search({ userTypeQuery: { type: "TYPE_MACHINE" } })).length).toBeGreaterThanOrEqual(2);
    expect((await search({ withGrantedQuery: { withGranted: true } })).length).toBeGreaterThanOrEqual(2);
    expect(await search({ projectGrantIdQuery: { projectGrantId: "none" } })).toEqual([]);

    // Update, deactivate, reactivate, remove.
    const upd = await mgmt("PUT", `/users/${m.userId}/grants/${id}`, { body: { roleKeys: ["invoices.read", "invoices.write"] } });
    expect(upd.json.details).toEqual({ sequence: "2", changeDate: expect.stringMatching(ISO), resourceOwner: orgId });
    const same = await mgmt("PUT", `/users/${m.userId}/grants/${id}`, { body: { roleKeys: ["invoices.read", "invoices.write"] } });
    expect([same.status, same.json]).toEqual([400, zitadelError(9, "COMMAND-Rs8fy", "Errors.UserGrant.NotChanged")]);
    expect((await mgmt("POST", `/users/${m.userId}/grants/${id}/_deactivate`, { body: {} })).status).toBe(200);
    expect((await mgmt("GET", `/users/${m.userId}/grants/${id}`)).json.userGrant.state).toBe("USER_GRANT_STATE_INACTIVE");
    const again = await mgmt("POST", `/users/${m.userId}/grants/${id}/_deactivate`, { body: {} });
    expect([again.status, again.json]).toEqual([400, zitadelError(9, "COMMAND-1S9gx", "Errors.UserGrant.NotActive")]);
    expect((await mgmt("POST", `/users/${m.userId}/grants/${id}/_reactivate`, { body: {} })).status).toBe(200);
    expect((await mgmt("DELETE", `/users/${m.userId}/grants/${id}`)).status).toBe(200);
    const gone = await mgmt("GET", `/users/${m.userId}/grants/${id}`);
    expect([gone.status, gone.json]).toEqual([404, zitadelError(5, "QUERY-wIPkA", "Errors.UserGrant.NotFound")]);
    const rmAgain = await mgmt("DELETE", `/users/${m.userId}/grants/${id}`);
    expect([rmAgain.status, rmAgain.json]).toEqual([404, zitadelError(5, "COMMAND-1My0t", "Errors.UserGrant.NotFound")]);
    // The claim is free: the same user may be granted the project again.
    const readd = (await mgmt("POST", `/users/${m.userId}/grants`, { body: { projectId: p, roleKeys: [] } })).json.userGrantId as string;
    // Bulk: all or nothing.
    const bulkBad = await mgmt("DELETE", "/user_grants/_bulk", { body: { grantId: [readd, "4711"] } });
    expect([bulkBad.status, bulkBad.json]).toEqual([404, zitadelError(5, "COMMAND-1My0t", "Errors.UserGrant.NotFound")]);
    expect((await mgmt("DELETE", "/user_grants/_bulk", { body: { grantId: [readd, g2] } })).status).toBe(200);
    expect(await search({ projectIdQuery: { projectId: p } })).toEqual([]);
  });

  it("gRPC: the official client grants, reads, lists; errors carry ZITADEL's codes", async () => {
    const client = managementClient(s.url, "grpc", s.pat);
    const p = await project(["a", "b"]);
    const m = await machine();
    const { userGrantId } = await client.addUserGrant({ userId: m.userId, projectId: p, roleKeys: ["a"] });
    const { userGrant } = await client.getUserGrantByID({ userId: m.userId, grantId: userGrantId });
    expect(userGrant).toMatchObject({ id: userGrantId, roleKeys: ["a"], state: 1, projectId: p, userType: 2 });
    await client.updateUserGrant({ userId: m.userId, grantId: userGrantId, roleKeys: ["a", "b"] });
    await client.deactivateUserGrant({ userId: m.userId, grantId: userGrantId });
    await client.reactivateUserGrant({ userId: m.userId, grantId: userGrantId });
    const list = await client.listUserGrants({ queries: [{ query: { case: "projectIdQuery", value: { projectId: p } } }] });
    expect(list.result.map((g) => g.roleKeys)).toEqual([["a", "b"]]);
    const dup = await errorOf(client.addUserGrant({ userId: m.userId, projectId: p, roleKeys: [] }));
    expect([dup?.code, dup?.rawMessage]).toEqual([Code.AlreadyExists, "Errors.UserGrant.AlreadyExists (V3-DKcYh)"]);
    await client.removeUserGrant({ userId: m.userId, grantId: userGrantId });
    const gone = await errorOf(client.getUserGrantByID({ userId: m.userId, grantId: userGrantId }));
    expect([gone?.code, gone?.rawMessage]).toEqual([Code.NotFound, "Errors.UserGrant.NotFound (QUERY-wIPkA)"]);
    const { userGrantId: second } = await client.addUserGrant({ userId: m.userId, projectId: p, roleKeys: ["b"] });
    await client.bulkRemoveUserGrant({ grantId: [second] });
  });

  it("tokens carry ZITADEL's role claims: JWT access token and id_token (jose), userinfo and introspection read current grants (CVE-2024-46999)", async () => {
    const p1 = await project(["read", "write"]);
    const p2 = await project(["x"]);
    const m = await machine({ accessTokenType: "ACCESS_TOKEN_TYPE_JWT" });
    const g1 = (await mgmt("POST", `/users/${m.userId}/grants`, { body: { projectId: p1, roleKeys: ["read", "write"] } })).json.userGrantId as string;
    await mgmt("POST", `/users/${m.userId}/grants`, { body: { projectId: p2, roleKeys: ["x"] } });
    const scope = `openid ${aud(p1)} ${aud(p2)} ${ROLES}`;
    const t = await token(m, scope);
    expect(t.status).toBe(200);
    const jwks = createRemoteJWKSet(new URL(`${s.url}/oauth/v2/keys`));
    const at = await jwtVerify(t.json.access_token, jwks, { issuer: s.url, audience: p1 });
    const expected = { [claim(p1)]: { read: { [orgId]: domain }, write: { [orgId]: domain } }, [claim(p2)]: { x: { [orgId]: domain } } };
    expect(at.payload).toMatchObject({ aud: [p1, p2], ...expected });
    expect(at.payload["urn:zitadel:iam:org:project:roles"]).toBeUndefined();
    const id = await jwtVerify(t.json.id_token, jwks, { issuer: s.url, audience: m.userName });
    expect(id.payload).toMatchObject(expected);
    expect(await userinfo(t.json.access_token)).toMatchObject(expected);
    expect(await introspect(m, t.json.access_token)).toMatchObject({ active: true, ...expected });

    // Role scopes and org scopes filter; no roles scope, no claims.
    const only = decodeJwt((await token(m, `${aud(p1)} urn:zitadel:iam:org:project:role:write`)).json.access_token);
    expect(only[claim(p1)]).toEqual({ write: { [orgId]: domain } });
    const otherOrg = decodeJwt((await token(m, `${aud(p1)} ${ROLES} urn:zitadel:iam:org:roles:id:elsewhere`)).json.access_token);
    expect(otherOrg[claim(p1)]).toBeUndefined();
    expect(decodeJwt((await token(m, aud(p1))).json.access_token)[claim(p1)]).toBeUndefined();

    // Opaque tokens: the claims are read at each answer, never frozen.
    const o = await machine();
    await mgmt("POST", `/users/${o.userId}/grants`, { body: { projectId: p1, roleKeys: ["read"] } });
    const og = (await mgmt("POST", "/users/grants/_search", { body: { queries: [{ userIdQuery: { userId: o.userId } }] } })).json.result[0].id as string;
    const ot = (await token(o, `${aud(p1)} ${ROLES}`)).json.access_token as string;
    expect((await introspect(o, ot))[claim(p1)]).toEqual({ read: { [orgId]: domain } });
    await mgmt("POST", `/users/${o.userId}/grants/${og}/_deactivate`, { body: {} });
    expect((await introspect(o, ot))[claim(p1)]).toBeUndefined();
    expect((await userinfo(ot))[claim(p1)]).toBeUndefined();
    await mgmt("POST", `/users/${o.userId}/grants/${og}/_reactivate`, { body: {} });
    expect((await userinfo(ot))[claim(p1)]).toEqual({ read: { [orgId]: domain } });
    await mgmt("DELETE", `/projects/${p1}/roles/read`);
    expect((await introspect(o, ot))[claim(p1)]).toBeUndefined();
    // The JWT's own grant lost the role in the same push (user.grant.cascade.changed).
    expect((await mgmt("GET", `/users/${m.userId}/grants/${g1}`)).json.userGrant.roleKeys).toEqual(["write"]);
    await mgmt("POST", `/projects/${p1}/_deactivate`, { body: {} });
    expect((await introspect(m, t.json.access_token))[claim(p1)]).toBeUndefined();
    expect((await introspect(m, t.json.access_token))[claim(p2)]).toEqual({ x: { [orgId]: domain } });
    await mgmt("DELETE", `/projects/${p2}`);
    expect((await userinfo(t.json.access_token))[claim(p2)]).toBeUndefined();
    expect((await mgmt("POST", "/users/grants/_search", { body: { queries: [{ projectIdQuery: { projectId: p2 } }] } })).json.result ?? []).toEqual([]);
  });

  it("projectRoleCheck and hasProjectCheck hold for machines: invalid_scope without a grant or from another org", async () => {
    const checked = await project(["r"], { projectRoleCheck: true });
    const m = await machine();
    const refused = await token(m, `${aud(checked)}`);
    expect(refused.status).toBe(400);
    expect(refused.json.error).toBe("invalid_scope");
    await mgmt("POST", `/users/${m.userId}/grants`, { body: { projectId: checked, roleKeys: ["r"] } });
    expect((await token(m, aud(checked))).status).toBe(200);

    const owned = await project([], { hasProjectCheck: true });
    expect((await token(m, aud(owned))).status).toBe(200);
    const foreignOrg = await createOrg(s.rt.deps, unique("Foreign"));
    const foreign = await machine({}, foreignOrg);
    const r = await token(foreign, aud(owned));
    expect([r.status, r.json.error]).toEqual([400, "invalid_scope"]);
  });

  it("user.grant.* permissions: a PROJECT_OWNER grants on its project only; the token preview explains each claim", async () => {
    const p = await project(["r"]);
    const q = await project(["r"]);
    const owner = await createPrincipal(s.rt.deps, { orgId, userName: unique("po") });
    await addProjectMember(s.rt.deps, systemCaller(orgId), p, owner.userId, ["PROJECT_OWNER"]);
    const m = await machine();
    const asOwner = (method: string, path: string, body?: unknown) => mgmt(method, path, { token: owner.pat, body });
    const ok = await asOwner("POST", `/users/${m.userId}/grants`, { projectId: p, roleKeys: ["r"] });
    expect(ok.status).toBe(200);
    const gid = ok.json.userGrantId as string;
    expect((await asOwner("GET", `/users/${m.userId}/grants/${gid}`)).status).toBe(200);
    expect((await asOwner("PUT", `/users/${m.userId}/grants/${gid}`, { roleKeys: [] })).status).toBe(200);
    for (const [method, path, body] of [
      ["POST", `/users/${m.userId}/grants`, { projectId: q, roleKeys: ["r"] }],
      ["POST", "/users/grants/_search", {}],
      ["DELETE", "/user_grants/_bulk", { grantId: [gid] }],
    ] as const) {
      const r = await asOwner(method, path, body);
      expect([method, path, r.status, r.json]).toEqual([method, path, 404, NO_MEMBERSHIP]);
    }
    const qg = (await mgmt("POST", `/users/${m.userId}/grants`, { body: { projectId: q, roleKeys: ["r"] } })).json.userGrantId as string;
    expect([(await asOwner("DELETE", `/users/${m.userId}/grants/${qg}`)).status]).toEqual([404]);
    expect((await asOwner("DELETE", `/users/${m.userId}/grants/${gid}`)).status).toBe(200);

    // Token preview (Portcullis's own endpoint): authorized like GetUserByID.
    const preview = (token: string, userId: string, scope: string) =>
      fetch(`${s.url}/portcullis/v1/users/${userId}/token_preview`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ scope }) });
    const r = await preview(s.pat, m.userId, `openid profile ${aud(q)} ${ROLES} unknown:scope`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(body).toMatchObject({ userId: m.userId, accessTokenType: "BEARER", aud: [q], scopes: ["openid", "profile", aud(q), ROLES] });
    expect(body.claims).toContainEqual({ claim: claim(q), value: { r: { [orgId]: domain } }, because: [`user grant ${qg}`] });
    expect(body.roles).toEqual([{ projectId: q, roleKey: "r", orgId, orgDomain: domain, userGrantId: qg, projectGrantId: "" }]);
    expect((await preview(owner.pat, m.userId, "openid")).status).toBe(404);
    expect((await preview(s.pat, "4711", "openid")).status).toBe(404);
    expect((await preview("nonsense", m.userId, "openid")).status).toBe(401);
    // A path that is not percent-decodable is the caller's mistake: 400 in the REST error shape, not a 500.
    for (const token of [s.pat, "nonsense"]) {
      const bad = await preview(token, "%zz", "openid");
      expect([bad.status, await bad.json()]).toEqual([400, expect.objectContaining({ code: 3, message: expect.stringContaining("PREVIEW-path") })]);
    }
  });

  it("a removed user's grants go with it; the projections rebuild to the same tables", async () => {
    const p = await project(["r"]);
    const m = await machine();
    await mgmt("POST", `/users/${m.userId}/grants`, { body: { projectId: p, roleKeys: ["r"] } });
    expect((await mgmt("DELETE", `/users/${m.userId}`)).status).toBe(200);
    const events = await s.rt.deps.store.load(s.rt.deps.instanceId, "user", m.userId);
    expect(events.at(-1)?.type).toBe("user.removed");
    expect((await mgmt("POST", "/users/grants/_search", { body: { queries: [{ projectIdQuery: { projectId: p } }] } })).json.result ?? []).toEqual([]);

    const dump = () => s.rt.deps.store.sql.query("SELECT id, org_id, user_id, project_id, project_grant_id, role_keys, state, sequence FROM proj_user_grants ORDER BY id");
    const before = await dump();
    expect(before.length).toBeGreaterThan(0);
    await rebuildProjections(s.rt.deps.store.sql);
    expect(await dump()).toEqual(before);
  });
});
