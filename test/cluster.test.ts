import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "./helpers/pg.js";
import { startServerProcess, type ServerProcess } from "./helpers/process.js";
import { rest, tokenRequest } from "./helpers/clients.js";

/**
 * Two `portcullis start` processes on one PostgreSQL behave as one server: a secret removed through
 * one is refused by the other on the very next request.
 */
describe("two processes on one PostgreSQL", () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let drop: () => Promise<void>;
  let dir: string;
  let pat: string;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    dir = mkdtempSync(path.join(os.tmpdir(), "portcullis-cluster-"));
    // This test hammers one client id with refused secrets on purpose; the brute-force limit is tested elsewhere.
    const env = { PORTCULLIS_DATABASE_URL: db.url, PORTCULLIS_DATA_DIR: dir, ZITADEL_FIRSTINSTANCE_PATPATH: path.join(dir, "admin.pat"), PORTCULLIS_RATE_LIMIT_ENABLED: "false" };
    // Started at the same moment: migrations and the bootstrap must run once.
    [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    pat = readFileSync(path.join(dir, "admin.pat"), "utf8").trim();
  });

  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it("bootstrapped exactly one admin", async () => {
    const outputs = [a.output(), b.output()];
    expect(outputs.filter((o) => o.includes("First start")).length).toBe(1);
    for (const s of [a, b]) expect((await rest(s.url, "GET", "/management/v1/orgs/me", { token: pat })).status).toBe(200);
    const list = await rest(a.url, "POST", "/management/v1/users/_search", { token: pat, body: {} });
    expect(list.json.result.map((u: { userName: string }) => u.userName)).toEqual(["admin"]);
  });

  it("a secret removed through one process is refused by the other on the very next request (200 each way)", async () => {
    const add = await rest(a.url, "POST", "/management/v1/users/machine", { token: pat, body: { userName: "cluster-svc", name: "Cluster" } });
    const userId = add.json.userId as string;
    let staleAccepts = 0;
    let goodAccepts = 0;
    for (let i = 0; i < 400; i++) {
      const [writer, reader] = i % 2 === 0 ? [a, b] : [b, a];
      const gen = await rest(writer.url, "PUT", `/management/v1/users/${userId}/secret`, { token: pat });
      const secret = gen.json.clientSecret as string;
      const before = await tokenRequest(reader.url, { grant_type: "client_credentials", scope: "openid" }, { id: "cluster-svc", secret });
      if (before.status === 200) goodAccepts++;
      const del = await rest(writer.url, "DELETE", `/management/v1/users/${userId}/secret`, { token: pat });
      expect(del.status).toBe(200);
      const after = await tokenRequest(reader.url, { grant_type: "client_credentials", scope: "openid" }, { id: "cluster-svc", secret });
      if (after.status === 200) staleAccepts++;
    }
    expect(goodAccepts).toBe(400);
    expect(staleAccepts).toBe(0);
  });

  it("a removal that cascades to hundreds of grants commits (its notice would pass PostgreSQL's 8000 bytes) and the other process forgets what it cached", async () => {
    const mgmt = (s: ServerProcess, method: string, p: string, body?: unknown) => rest(s.url, method, `/management/v1${p}`, { token: pat, body });
    const projectId = (await mgmt(a, "POST", "/projects", { name: "cluster-cascade" })).json.id as string;
    expect((await mgmt(a, "POST", `/projects/${projectId}/roles/_bulk`, { roles: [{ key: "r", displayName: "r" }] })).status).toBe(200);
    // 300 machines with a grant each: removing the project removes 300 grants in the same commit.
    const users: string[] = [];
    for (let i = 0; i < 300; i += 25)
      users.push(...(await Promise.all(Array.from({ length: 25 }, async (_, k) => (await mgmt(a, "POST", "/users/machine", { userName: `cascade-${i + k}`, name: "C" })).json.userId as string))));
    for (let i = 0; i < users.length; i += 25)
      for (const r of await Promise.all(users.slice(i, i + 25).map((u) => mgmt(a, "POST", `/users/${u}/grants`, { projectId, roleKeys: ["r"] })))) expect(r.status).toBe(200);
    // b has the project cached.
    expect((await mgmt(b, "GET", `/projects/${projectId}`)).status).toBe(200);
    const removed = await mgmt(a, "DELETE", `/projects/${projectId}`);
    expect(removed.status).toBe(200);
    expect((await mgmt(b, "GET", `/projects/${projectId}`)).status).toBe(404);
    const grants = await mgmt(b, "POST", "/users/grants/_search", { queries: [{ projectIdQuery: { projectId } }] });
    expect(grants.json.result ?? []).toEqual([]);
    // b goes on answering from a fresh cache.
    expect((await rest(b.url, "GET", "/management/v1/orgs/me", { token: pat })).status).toBe(200);
  });

  it("a user deactivated through one process loses its live token on the other at once", async () => {
    const add = await rest(b.url, "POST", "/management/v1/users/machine", { token: pat, body: { userName: "cluster-svc-2", name: "Cluster 2" } });
    const userId = add.json.userId as string;
    const gen = await rest(b.url, "PUT", `/management/v1/users/${userId}/secret`, { token: pat });
    const tok = await tokenRequest(a.url, { grant_type: "client_credentials", scope: "openid" }, { id: "cluster-svc-2", secret: gen.json.clientSecret });
    const access = tok.json.access_token as string;
    const info = await fetch(`${b.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${access}` } });
    expect(info.status).toBe(200);
    expect((await rest(a.url, "POST", `/management/v1/users/${userId}/_deactivate`, { token: pat, body: {} })).status).toBe(200);
    const after = await fetch(`${b.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${access}` } });
    expect(after.status).toBe(401);
  });

  it("PAT removal, user lock and membership removal through one process are refused by the other at once", async () => {
    const add = await rest(a.url, "POST", "/management/v1/users/machine", { token: pat, body: { userName: "cluster-pat", name: "P" } });
    const userId = add.json.userId as string;
    expect((await rest(a.url, "POST", "/management/v1/orgs/me/members", { token: pat, body: { userId, roles: ["ORG_OWNER"] } })).status).toBe(200);
    let stale = 0;
    for (let i = 0; i < 20; i++) {
      const [writer, reader] = i % 2 === 0 ? [a, b] : [b, a];
      const created = await rest(writer.url, "POST", `/management/v1/users/${userId}/pats`, { token: pat, body: {} });
      const token = created.json.token as string;
      expect((await rest(reader.url, "GET", "/management/v1/orgs/me", { token })).status).toBe(200);
      expect((await rest(writer.url, "DELETE", `/management/v1/users/${userId}/pats/${created.json.tokenId}`, { token: pat })).status).toBe(200);
      if ((await rest(reader.url, "GET", "/management/v1/orgs/me", { token })).status !== 401) stale++;
    }
    expect(stale).toBe(0);

    const live = (await rest(a.url, "POST", `/management/v1/users/${userId}/pats`, { token: pat, body: {} })).json.token as string;
    expect((await rest(b.url, "GET", `/management/v1/users/${userId}`, { token: live })).status).toBe(200);
    // Membership removed on A: B denies the next call (no membership left: 404 AUTHZ-cdgFk).
    expect((await rest(a.url, "DELETE", `/management/v1/orgs/me/members/${userId}`, { token: pat })).status).toBe(200);
    expect((await rest(b.url, "GET", `/management/v1/users/${userId}`, { token: live })).json.message).toBe("membership not found (AUTHZ-cdgFk)");
    // Locked on B: A refuses the PAT on the next call.
    expect((await rest(b.url, "POST", `/management/v1/users/${userId}/_lock`, { token: pat, body: {} })).status).toBe(200);
    expect((await rest(a.url, "GET", "/management/v1/orgs/me", { token: live })).status).toBe(401);
  });
});
