import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { createEventStore, type EventStore } from "../src/store/event-store.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { rest, tokenRequest } from "./helpers/clients.js";
import { startServerProcess } from "./helpers/process.js";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const API = "openid urn:zitadel:iam:org:project:id:zitadel:aud";

async function machine(s: TestServer, userName: string, body: Record<string, unknown> = {}) {
  const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName, name: userName, ...body } });
  expect(add.status).toBe(200);
  const gen = await rest(s.url, "PUT", `/management/v1/users/${add.json.userId}/secret`, { token: s.pat, body: {} });
  return { userId: add.json.userId as string, secret: gen.json.clientSecret as string };
}

const userinfo = (s: TestServer, token: string) => fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${token}` } });

async function introspect(s: TestServer, client: { id: string; secret: string }, token: string) {
  const res = await fetch(`${s.url}/oauth/v2/introspect`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: "Basic " + Buffer.from(`${client.id}:${client.secret}`).toString("base64") },
    body: new URLSearchParams({ token }).toString(),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe("machine secrets and the token endpoint", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ storage: "pglite" });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("accepts client_secret_post as well as basic, with a case-insensitive client id", async () => {
    const m = await machine(s, "Post-Svc");
    const post = await tokenRequest(s.url, { grant_type: "client_credentials", scope: API, client_id: "post-svc", client_secret: m.secret });
    expect(post.status).toBe(200);
    expect(post.headers.get("cache-control")).toBe("no-store");
    expect(Object.keys(post.json).sort()).toEqual(["access_token", "expires_in", "id_token", "token_type"]);
    const noOpenid = await tokenRequest(s.url, { grant_type: "client_credentials", scope: "profile", client_id: "post-svc", client_secret: m.secret });
    expect(noOpenid.json.id_token).toBeUndefined();
  });

  it("answers the RFC 6749 errors", async () => {
    const m = await machine(s, "err-svc");
    const wrong = await tokenRequest(s.url, { grant_type: "client_credentials", scope: API, client_id: "err-svc", client_secret: "x".repeat(64) });
    expect(wrong).toMatchObject({ status: 401, json: { error: "invalid_client" } });
    expect(wrong.headers.get("www-authenticate")).toBeNull(); // post, not basic
    const unknown = await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "nobody", secret: m.secret });
    expect(unknown).toMatchObject({ status: 401, json: { error: "invalid_client" } });
    expect(unknown.json.error_description).toBe(wrong.json.error_description);
    expect((await tokenRequest(s.url, { scope: API })).json).toEqual({ error: "invalid_request", error_description: "grant_type missing" });
    expect((await tokenRequest(s.url, { grant_type: "client_credentials" }, { id: "err-svc", secret: m.secret })).json.error).toBe("invalid_request");
    expect((await tokenRequest(s.url, { grant_type: "password", scope: API })).json.error).toBe("unsupported_grant_type");
    const dup = await fetch(`${s.url}/oauth/v2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials&scope=openid&scope=profile&client_id=err-svc&client_secret=" + m.secret,
    });
    expect(dup.status).toBe(400);
    expect(((await dup.json()) as { error: string }).error).toBe("invalid_request");
    // A machine without a secret is refused like a wrong secret.
    await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "no-secret", name: "N" } });
    expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "no-secret", secret: "" })).json.error).toBe("invalid_client");
  });

  it("issues opaque tokens by default and RS256 JWTs (RFC 9068) when the machine asks, verifiable with the JWKS", async () => {
    const m = await machine(s, "jwt-svc", { accessTokenType: "ACCESS_TOKEN_TYPE_JWT" });
    const tok = await tokenRequest(s.url, { grant_type: "client_credentials", scope: `${API} profile` }, { id: "jwt-svc", secret: m.secret });
    const jwks = createRemoteJWKSet(new URL(`${s.url}/oauth/v2/keys`));
    const iam = await rest(s.url, "GET", "/management/v1/iam", { token: s.pat });
    const { payload, protectedHeader } = await jwtVerify(tok.json.access_token, jwks, { issuer: s.url, audience: iam.json.iamProjectId });
    expect(protectedHeader).toMatchObject({ alg: "RS256", typ: "at+jwt" });
    expect(payload).toMatchObject({ sub: m.userId, client_id: "jwt-svc", scope: `openid urn:zitadel:iam:org:project:id:zitadel:aud profile` });
    expect(typeof payload.jti).toBe("string");
    expect(payload.exp! - payload.iat!).toBe(43200);
    const id = await jwtVerify(tok.json.id_token, jwks, { issuer: s.url, audience: "jwt-svc" });
    expect(id.payload).toMatchObject({ sub: m.userId, azp: "jwt-svc", amr: ["pwd"], preferred_username: "jwt-svc", name: "jwt-svc" });
    // The JWT works on the API (with the audience) and at userinfo.
    expect((await rest(s.url, "GET", "/management/v1/iam", { token: tok.json.access_token })).status).toBe(200);
    const info = await userinfo(s, tok.json.access_token);
    expect(await info.json()).toMatchObject({ sub: m.userId, preferred_username: "jwt-svc" });
    const discovery = (await (await fetch(`${s.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({ issuer: s.url, token_endpoint: `${s.url}/oauth/v2/token`, jwks_uri: `${s.url}/oauth/v2/keys`, userinfo_endpoint: `${s.url}/oidc/v1/userinfo` });

    const opaque = await machine(s, "opaque-svc");
    const o = await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "opaque-svc", secret: opaque.secret });
    expect(o.json.access_token).not.toContain(".");
    expect((await userinfo(s, o.json.access_token)).status).toBe(200);
  });

  it("userinfo: GET or POST (token in the header or the form), bearer errors for a bad token, a refused method", async () => {
    const m = await machine(s, "userinfo-svc");
    const t = (await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "userinfo-svc", secret: m.secret })).json.access_token as string;
    const u = `${s.url}/oidc/v1/userinfo`;
    const form = { "content-type": "application/x-www-form-urlencoded" };
    for (const r of [
      await fetch(u, { headers: { authorization: `Bearer ${t}` } }),
      await fetch(u, { method: "POST", headers: { authorization: `Bearer ${t}` } }),
      await fetch(u, { method: "POST", headers: form, body: `access_token=${encodeURIComponent(t)}` }),
    ]) {
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ sub: m.userId });
    }
    for (const r of [await fetch(u, { headers: { authorization: "Bearer nope" } }), await fetch(u, { method: "POST", headers: form, body: "access_token=nope" })]) {
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toMatch(/^Bearer .*error="invalid_token"/);
    }
    const missing = await fetch(u);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: "invalid_request" });
    const put = await fetch(u, { method: "PUT", headers: { authorization: `Bearer ${t}` } });
    expect(put.status).toBe(405);
    expect(await put.json()).toMatchObject({ error: "invalid_request" });
  });

  it("refuses a removed secret at once; a new secret works and the old stays dead, with its tokens", async () => {
    const m = await machine(s, "rotate-svc");
    const t1 = await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "rotate-svc", secret: m.secret });
    expect((await userinfo(s, t1.json.access_token)).status).toBe(200);
    expect((await rest(s.url, "DELETE", `/management/v1/users/${m.userId}/secret`, { token: s.pat })).status).toBe(200);
    expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "rotate-svc", secret: m.secret })).status).toBe(401);
    // Tokens the removed secret opened end with it.
    expect((await userinfo(s, t1.json.access_token)).status).toBe(401);
    const fresh = (await rest(s.url, "PUT", `/management/v1/users/${m.userId}/secret`, { token: s.pat })).json.clientSecret as string;
    expect(fresh).not.toBe(m.secret);
    expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "rotate-svc", secret: fresh })).status).toBe(200);
    expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "rotate-svc", secret: m.secret })).status).toBe(401);
  });

  it.each([
    ["_deactivate", "_reactivate"],
    ["_lock", "_unlock"],
  ])("%s closes the token endpoint and kills live tokens everywhere; %s opens it again", async (off, on) => {
    const name = `life${off}`;
    const m = await machine(s, name);
    const t = (await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: name, secret: m.secret })).json.access_token as string;
    const pat = await machine(s, `${name}-introspector`);
    expect((await introspect(s, { id: `${name}-introspector`, secret: pat.secret }, t)).json.active).toBe(true);
    expect((await rest(s.url, "POST", `/management/v1/users/${m.userId}/${off}`, { token: s.pat, body: {} })).status).toBe(200);
    expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: name, secret: m.secret })).json).toEqual({
      error: "invalid_request",
      error_description: "Errors.User.NotActive",
    });
    expect((await userinfo(s, t)).status).toBe(401);
    expect((await rest(s.url, "GET", "/management/v1/iam", { token: t })).status).toBe(401);
    expect(await introspect(s, { id: `${name}-introspector`, secret: pat.secret }, t)).toEqual({ status: 200, json: { active: false } });
    expect((await rest(s.url, "POST", `/management/v1/users/${m.userId}/${on}`, { token: s.pat, body: {} })).status).toBe(200);
    expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: name, secret: m.secret })).status).toBe(200);
  });

  it("RemoveUser ends the user, its secret and its tokens, and frees the username", async () => {
    const m = await machine(s, "remove-svc");
    const t = (await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "remove-svc", secret: m.secret })).json.access_token as string;
    const del = await rest(s.url, "DELETE", `/management/v1/users/${m.userId}`, { token: s.pat });
    expect(del.status).toBe(200);
    expect(del.json.details.changeDate).toBeDefined();
    expect((await userinfo(s, t)).status).toBe(401);
    expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "remove-svc", secret: m.secret })).json.error).toBe("invalid_client");
    expect(await rest(s.url, "GET", `/management/v1/users/${m.userId}`, { token: s.pat })).toMatchObject({ status: 404, json: { message: "User could not be found (QUERY-Dfbg2)" } });
    expect(await rest(s.url, "DELETE", `/management/v1/users/${m.userId}/secret`, { token: s.pat })).toMatchObject({ status: 400, json: { message: "Errors.User.NotExisting (COMMAND-x7s802)" } });
    expect(await rest(s.url, "PUT", `/management/v1/users/${m.userId}/secret`, { token: s.pat })).toMatchObject({ status: 404, json: { message: "User could not be found (QUERY-Dfbg2)" } });
    expect((await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "remove-svc", name: "again" } })).status).toBe(200);
  });

  // A write whose outcome the process does not learn (the connection to PostgreSQL broke, or a timeout
  // fired, after the commit): other instances evict on the commit notice and this one skips its own,
  // so it must not keep answering from what it cached before. Simulated with a push that commits
  // through a second store object (no cache listeners) and then throws, as a lost reply would.
  it("a removal that committed but reported an error leaves no stale state in this process's cache", async () => {
    const m = await machine(s, "lost-reply-svc");
    const token = () => tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "lost-reply-svc", secret: m.secret });
    expect((await token()).status).toBe(200); // the machine is cached now

    const real = s.rt.deps.store;
    const shadow = createEventStore(s.rt.sql, 1);
    const lostReply: EventStore = {
      ...real,
      async push(req) {
        await shadow.push(req);
        throw new Error("connection terminated unexpectedly (after the commit)");
      },
    };
    s.rt.deps.store = lostReply;
    try {
      const removed = await rest(s.url, "DELETE", `/management/v1/users/${m.userId}/secret`, { token: s.pat });
      expect(removed.status).toBe(500);
    } finally {
      s.rt.deps.store = real;
    }
    // The store holds the removal; this process must not answer from the secret it cached.
    const events = await real.load(s.rt.deps.instanceId, "user", m.userId);
    expect(events.at(-1)?.type).toBe("user.machine.secret.removed");
    expect((await token()).status).toBe(401);
    expect((await rest(s.url, "GET", `/management/v1/users/${m.userId}`, { token: s.pat })).json.user.details.sequence).toBe(String(events.at(-1)!.sequence));
  });

  it("introspects for authenticated machine clients (RFC 7662) and revokes (RFC 7009)", async () => {
    const owner = await machine(s, "revoke-svc");
    const other = await machine(s, "other-svc");
    const t = (await tokenRequest(s.url, { grant_type: "client_credentials", scope: `${API} profile` }, { id: "revoke-svc", secret: owner.secret })).json.access_token as string;
    const active = await introspect(s, { id: "other-svc", secret: other.secret }, t);
    expect(active.json).toMatchObject({ active: true, sub: owner.userId, client_id: "revoke-svc", token_type: "Bearer", username: "revoke-svc", iss: s.url });
    expect((await introspect(s, { id: "other-svc", secret: "wrong" }, t)).status).toBe(401);
    // Only the token's own client revokes it; anyone else gets 200 and nothing happens.
    const revoke = (client: { id: string; secret: string }, token = t) =>
      fetch(`${s.url}/oauth/v2/revoke`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token, client_id: client.id, client_secret: client.secret }).toString(),
      });
    expect((await revoke({ id: "other-svc", secret: other.secret })).status).toBe(200);
    expect((await userinfo(s, t)).status).toBe(200);
    expect((await revoke({ id: "revoke-svc", secret: owner.secret })).status).toBe(200);
    expect((await userinfo(s, t)).status).toBe(401);
    expect((await introspect(s, { id: "other-svc", secret: other.secret }, t)).json).toEqual({ active: false });

    // The machine's own PAT is not revoked here, and the answer says so (RFC 7009 §2.2.1) instead of a
    // 200 that looks like its removal; someone else's PAT is answered like any token not theirs.
    const pat = (await rest(s.url, "POST", `/management/v1/users/${owner.userId}/pats`, { token: s.pat, body: {} })).json.token as string;
    const own = await revoke({ id: "revoke-svc", secret: owner.secret }, pat);
    expect([own.status, await own.json()]).toEqual([
      400,
      { error: "unsupported_token_type", error_description: "a personal access token is removed with RemovePersonalAccessToken, not revoked" },
    ]);
    expect((await revoke({ id: "other-svc", secret: other.secret }, pat)).status).toBe(200);
    expect((await userinfo(s, pat)).status).toBe(200);
  });

  it("treats a human user as not a machine (no copy of ZITADEL's once-locked-human quirk)", async () => {
    const me = await rest(s.url, "GET", "/management/v1/orgs/me", { token: s.pat });
    const orgId = me.json.org.id as string;
    const humanId = "human-1";
    for (const type of ["user.human.added", "user.locked", "user.unlocked"])
      await s.rt.store.push({
        instanceId: s.rt.deps.instanceId,
        editor: "test",
        events: [{ aggregateType: "user", aggregateId: humanId, resourceOwner: orgId, type, payload: type === "user.human.added" ? { userName: "alice", displayName: "Alice" } : {} }],
        expected: new Map(),
        now: new Date(),
      });
    expect(await rest(s.url, "PUT", `/management/v1/users/${humanId}/secret`, { token: s.pat })).toMatchObject({ status: 400, json: { message: "Errors.User.NotExisting (COMMAND-x8910n)" } });
    expect(await rest(s.url, "DELETE", `/management/v1/users/${humanId}/secret`, { token: s.pat })).toMatchObject({ status: 400, json: { message: "Errors.User.NotExisting (COMMAND-x7s802)" } });
    expect(await rest(s.url, "PUT", `/management/v1/users/${humanId}/machine`, { token: s.pat, body: { name: "x" } })).toMatchObject({ status: 404, json: { message: "User could not be found (COMMAND-5M0od)" } });
  });

  it("never stores a secret or a token in clear", async () => {
    const m = await machine(s, "scan-svc");
    const t = (await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "scan-svc", secret: m.secret })).json.access_token as string;
    const tables = ["events", "unique_constraints", "system_settings", "signing_keys", "proj_users", "proj_pats", "proj_machine_keys", "proj_user_metadata", "proj_members", "proj_orgs", "proj_machine_secrets"];
    for (const table of tables) {
      const rows = JSON.stringify(await s.rt.sql.query(`SELECT * FROM ${table}`));
      for (const secret of [m.secret, t, s.pat]) expect(rows.includes(secret), `${table} holds a secret`).toBe(false);
    }
    const set = await s.rt.sql.query<{ payload: Record<string, unknown> }>("SELECT payload FROM events WHERE event_type = 'user.machine.secret.set' AND aggregate_id = $1", [m.userId]);
    expect(Object.keys(set[0]!.payload)).toEqual(["secretId", "hashedSecret"]);
  });
});

describe("user RPCs", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ storage: "postgres" });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("ListUsers filters, sorts and pages with ListDetails", async () => {
    for (const n of ["list-b", "list-a", "list-c"]) await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: n, name: n.toUpperCase() } });
    const r = await rest(s.url, "POST", "/management/v1/users/_search", {
      token: s.pat,
      body: { query: { offset: "1", limit: 1, asc: true }, sortingColumn: "USER_FIELD_NAME_USER_NAME", queries: [{ userNameQuery: { userName: "list-", method: "TEXT_QUERY_METHOD_STARTS_WITH" } }] },
    });
    expect(r.status).toBe(200);
    expect(r.json.details.totalResult).toBe("3");
    expect(r.json.details.viewTimestamp).toBeDefined();
    expect(r.json.sortingColumn).toBe("USER_FIELD_NAME_USER_NAME");
    expect(r.json.result.map((u: { userName: string }) => u.userName)).toEqual(["list-b"]);
    expect(r.json.result[0]).toMatchObject({ state: "USER_STATE_ACTIVE", loginNames: ["list-b"], preferredLoginName: "list-b", machine: { name: "LIST-B" } });
    const or = await rest(s.url, "POST", "/management/v1/users/_search", {
      token: s.pat,
      body: { queries: [{ orQuery: { queries: [{ userNameQuery: { userName: "LIST-A", method: "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE" } }, { userNameQuery: { userName: "list-c" } }] } }, { typeQuery: { type: "TYPE_MACHINE" } }] },
    });
    expect(or.json.result.map((u: { userName: string }) => u.userName).sort()).toEqual(["list-a", "list-c"]);
    const none = await rest(s.url, "POST", "/management/v1/users/_search", { token: s.pat, body: { queries: [{ stateQuery: { state: "USER_STATE_LOCKED" } }] } });
    expect(none.json.result).toBeUndefined();
    expect(none.json.details.totalResult).toBeUndefined();
  });

  it("IsUserUnique, UpdateUserName, UpdateMachine and ListUserChanges behave as ZITADEL's", async () => {
    const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "rename-me", name: "R", description: "first" } });
    const id = add.json.userId as string;
    expect((await rest(s.url, "GET", "/management/v1/users/_is_unique?userName=RENAME-ME", { token: s.pat })).json).toEqual({});
    expect((await rest(s.url, "GET", "/management/v1/users/_is_unique?userName=free-name", { token: s.pat })).json).toEqual({ isUnique: true });
    expect((await rest(s.url, "PUT", `/management/v1/users/${id}/username`, { token: s.pat, body: { userName: "rename-me" } })).json.message).toBe("Username not changed (COMMAND-6m9gs)");
    expect((await rest(s.url, "PUT", `/management/v1/users/${id}/username`, { token: s.pat, body: { userName: "admin" } })).status).toBe(409);
    expect((await rest(s.url, "PUT", `/management/v1/users/${id}/username`, { token: s.pat, body: { userName: "renamed" } })).status).toBe(200);
    expect((await rest(s.url, "PUT", `/management/v1/users/${id}/machine`, { token: s.pat, body: { name: "R", description: "first" } })).json.message).toBe(
      "Errors.User.NotChanged (COMMAND-2n8vs)",
    );
    // A full replacement: the omitted description is cleared.
    expect((await rest(s.url, "PUT", `/management/v1/users/${id}/machine`, { token: s.pat, body: { name: "R" } })).status).toBe(200);
    const got = await rest(s.url, "GET", `/management/v1/users/${id}`, { token: s.pat });
    expect(got.json.user).toMatchObject({ userName: "renamed", machine: { name: "R" }, details: { sequence: "3" } });
    const changes = await rest(s.url, "POST", `/management/v1/users/${id}/changes/_search`, { token: s.pat, body: { query: { asc: true } } });
    expect(changes.json.result.map((c: { eventType: { key: string } }) => c.eventType.key)).toEqual([
      "EventTypes.user.machine.added",
      "EventTypes.user.username.changed",
      "EventTypes.user.machine.changed",
    ]);
    expect(changes.json.result[0]).toMatchObject({ sequence: "1", editorPreferredLoginName: "admin", eventType: { localizedMessage: "Technical user added" } });
    expect(await rest(s.url, "POST", `/management/v1/users/unknown/changes/_search`, { token: s.pat, body: {} })).toMatchObject({ status: 200, json: {} });
  });

  it("state transitions answer ZITADEL's preconditions", async () => {
    const id = (await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "states", name: "S" } })).json.userId as string;
    const post = (action: string) => rest(s.url, "POST", `/management/v1/users/${id}/${action}`, { token: s.pat, body: {} });
    expect((await post("_reactivate")).json.message).toBe("User is not inactive (COMMAND-6M0sf)");
    expect((await post("_unlock")).json.message).toBe("User is not locked (COMMAND-4M0ds)");
    expect((await post("_deactivate")).status).toBe(200);
    expect((await post("_deactivate")).json.message).toBe("User already inactive (COMMAND-5M0sf)");
    expect((await post("_lock")).json.message).toBe("User is not active or initial (COMMAND-3NN8v)");
    expect((await rest(s.url, "POST", "/management/v1/users/nobody/_lock", { token: s.pat, body: {} })).json).toMatchObject({ code: 5, message: "User could not be found (COMMAND-5M9fs)" });
  });
});

describe("restart", () => {
  it("keeps everything and keeps a removed secret refused", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "portcullis-restart-"));
    try {
      const env = { PORTCULLIS_DATA_DIR: dir, PORTCULLIS_LOG_LEVEL: "trace" };
      const first = await startServerProcess(env);
      const pat = readFileSync(path.join(dir, "admin.pat"), "utf8").trim();
      const add = await rest(first.url, "POST", "/management/v1/users/machine", { token: pat, body: { userName: "persist", name: "P" } });
      const gen = await rest(first.url, "PUT", `/management/v1/users/${add.json.userId}/secret`, { token: pat });
      const tok = await tokenRequest(first.url, { grant_type: "client_credentials", scope: API }, { id: "persist", secret: gen.json.clientSecret });
      expect(tok.status).toBe(200);
      await rest(first.url, "DELETE", `/management/v1/users/${add.json.userId}/secret`, { token: pat });
      await first.kill();
      const second = await startServerProcess({ ...env, PORTCULLIS_PORT: String(first.port) });
      try {
        const got = await rest(second.url, "GET", `/management/v1/users/${add.json.userId}`, { token: pat });
        expect(got.json.user).toMatchObject({ userName: "persist", details: { sequence: "3" } });
        expect((await tokenRequest(second.url, { grant_type: "client_credentials", scope: API }, { id: "persist", secret: gen.json.clientSecret })).status).toBe(401);
        expect((await userinfo({ url: second.url } as TestServer, tok.json.access_token)).status).toBe(401);
      } finally {
        await second.kill();
      }
      // Logged at trace level across both runs: no secret, token or PAT in any line.
      const logs = first.output() + second.output();
      expect(logs).toContain('"msg":"request"');
      for (const secret of [gen.json.clientSecret as string, tok.json.access_token as string, pat]) expect(logs.includes(secret)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
