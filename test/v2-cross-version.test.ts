import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rest, tokenRequest, userServiceV2 } from "./helpers/clients.js";
import { myOrgId } from "./helpers/fixtures.js";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";

/**
 * v1 and v2 are two edges over one set of commands and events: a secret added through one and
 * removed through the other is refused at the token endpoint on the very next request — on each
 * store, and across two instances on one PostgreSQL.
 */

const SCOPE = "openid";

async function v2Machine(s: TestServer, orgId: string, userName: string): Promise<string> {
  const r = await userServiceV2(s.url, "connect", s.pat).createUser({ organizationId: orgId, username: userName, userType: { case: "machine", value: { name: userName } } });
  return r.id;
}

const token = (s: TestServer, id: string, secret: string) => tokenRequest(s.url, { grant_type: "client_credentials", scope: SCOPE }, { id, secret });

describe.each(["pglite", "postgres"] as Storage[])("secrets across versions on %s", (storage) => {
  let s: TestServer;
  let orgId: string;
  beforeAll(async () => {
    s = await startTestServer({ storage, env: { PORTCULLIS_RATE_LIMIT_ENABLED: "false" } });
    orgId = await myOrgId(s);
  });
  afterAll(async () => {
    await s?.close();
  });

  it("added with v2, removed with v1: refused at once", async () => {
    const userId = await v2Machine(s, orgId, "x-v2-to-v1");
    const { clientSecret } = await userServiceV2(s.url, "grpc", s.pat).addSecret({ userId });
    expect((await token(s, "x-v2-to-v1", clientSecret)).status).toBe(200);
    const v1 = await rest(s.url, "GET", `/management/v1/users/${userId}`, { token: s.pat });
    expect(v1.json.user.machine.hasSecret).toBe(true);
    expect((await rest(s.url, "DELETE", `/management/v1/users/${userId}/secret`, { token: s.pat })).status).toBe(200);
    expect((await token(s, "x-v2-to-v1", clientSecret)).status).toBe(401);
  });

  it("added with v1, removed with v2: refused at once", async () => {
    const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "x-v1-to-v2", name: "X" } });
    const userId = add.json.userId as string;
    const gen = await rest(s.url, "PUT", `/management/v1/users/${userId}/secret`, { token: s.pat, body: {} });
    const secret = gen.json.clientSecret as string;
    expect((await token(s, "x-v1-to-v2", secret)).status).toBe(200);
    const v2 = userServiceV2(s.url, "connect", s.pat);
    expect((await v2.getUserByID({ userId })).user?.type).toMatchObject({ case: "machine", value: { hasSecret: true } });
    await v2.removeSecret({ userId });
    expect((await token(s, "x-v1-to-v2", secret)).status).toBe(401);
  });
});

describe("secrets across versions, two instances on one PostgreSQL", () => {
  let a: TestServer;
  let b: TestServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "portcullis-v2-"));
    const env = { ZITADEL_FIRSTINSTANCE_PATPATH: path.join(dir, "admin.pat"), PORTCULLIS_RATE_LIMIT_ENABLED: "false" };
    a = await startTestServer({ storage: "postgres", env });
    b = await startTestServer({ databaseUrl: a.databaseUrl, env });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a secret added through one version on one instance and removed through the other version on the other is refused everywhere at once", async () => {
    const orgId = await myOrgId(a);
    const userId = await v2Machine(a, orgId, "x-cluster");
    let stale = 0;
    for (let i = 0; i < 20; i++) {
      const [writer, other] = i % 2 === 0 ? [a, b] : [b, a];
      let secret: string;
      if (i % 4 < 2) {
        secret = (await userServiceV2(writer.url, "connect", writer.pat).addSecret({ userId })).clientSecret;
        expect((await token(other, "x-cluster", secret)).status).toBe(200);
        expect((await rest(other.url, "DELETE", `/management/v1/users/${userId}/secret`, { token: other.pat })).status).toBe(200);
      } else {
        secret = (await rest(writer.url, "PUT", `/management/v1/users/${userId}/secret`, { token: writer.pat, body: {} })).json.clientSecret;
        expect((await token(other, "x-cluster", secret)).status).toBe(200);
        await userServiceV2(other.url, "grpc", other.pat).removeSecret({ userId });
      }
      for (const s of [writer, other]) if ((await token(s, "x-cluster", secret)).status === 200) stale++;
    }
    expect(stale).toBe(0);
  });
});
