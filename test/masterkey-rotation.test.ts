import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";
import { rest, tokenRequest } from "./helpers/clients.js";
import { createTestDatabase } from "./helpers/pg.js";
import { runCli } from "./helpers/process.js";
import { adminUserId } from "./helpers/fixtures.js";

const A = "master-key-A-0123456789abcdefghijklmnop";
const B = "master-key-B-0123456789abcdefghijklmnop";

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = runCli(args, { PORTCULLIS_LOG_LEVEL: "silent", ...env });
  let stdout = "";
  let stderr = "";
  p.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  p.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => p.once("exit", (c) => resolve(c)));
  return { code, stdout, stderr };
}

async function machineWithSecret(s: TestServer, token: string, userName: string, accessTokenType = "ACCESS_TOKEN_TYPE_BEARER") {
  const add = await rest(s.url, "POST", "/management/v1/users/machine", { token, body: { userName, name: userName, accessTokenType } });
  expect(add.status).toBe(200);
  const gen = await rest(s.url, "PUT", `/management/v1/users/${add.json.userId}/secret`, { token, body: {} });
  expect(gen.status).toBe(200);
  return { userId: add.json.userId as string, client: { id: userName, secret: gen.json.clientSecret as string } };
}

async function addPat(s: TestServer, token: string, userId: string) {
  const r = await rest(s.url, "POST", `/management/v1/users/${userId}/pats`, { token, body: {} });
  expect(r.status).toBe(200);
  return { tokenId: r.json.tokenId as string, token: r.json.token as string };
}

const tokenStatus = async (s: TestServer, client: { id: string; secret: string }) =>
  (await tokenRequest(s.url, { grant_type: "client_credentials", scope: "openid" }, client)).status;
const bearerStatus = async (s: TestServer, token: string) => (await rest(s.url, "GET", "/management/v1/iam", { token })).status;

/**
 * The master key rotates: start with key A, make a secret, a PAT and tokens; restart with B and A as
 * the previous key (everything keeps working, new material is made with B); `portcullis masterkey
 * rotate` re-wraps the signing key and the fingerprint and names what still depends on A; a start
 * with B alone then unseals the signing key, while what was hashed under A fails as documented.
 */
describe.each<Storage>(["pglite", "postgres"])("master key rotation (%s)", (storage) => {
  const cleanup: (() => Promise<void> | void)[] = [];
  let dataDir: string;
  let databaseUrl: string | undefined;
  let dbEnv: Record<string, string>;
  const start = async (env: Record<string, string>) => {
    const s = await startTestServer({ dataDir, databaseUrl, env });
    cleanup.push(() => s.stop());
    return s;
  };
  // Made under key A:
  let adminPatA: string;
  let old: Awaited<ReturnType<typeof machineWithSecret>>;
  let oldPat: { tokenId: string; token: string };
  let oldAccess: string;
  let jwtOld: Awaited<ReturnType<typeof machineWithSecret>>;
  let kid: string;
  // Made under key B:
  let adminPatB: string;
  let fresh: Awaited<ReturnType<typeof machineWithSecret>>;
  let freshPat: { tokenId: string; token: string };

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "portcullis-masterkey-"));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    if (storage === "postgres") {
      const db = await createTestDatabase();
      databaseUrl = db.url;
      cleanup.push(db.drop);
    }
    dbEnv = { PORTCULLIS_DATA_DIR: dataDir, ...(databaseUrl ? { PORTCULLIS_DATABASE_URL: databaseUrl } : {}) };
  });
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it("what was made under key A keeps working with B and A as the previous key; new material is made with B", async () => {
    const a = await start({ PORTCULLIS_MASTERKEY: A });
    adminPatA = a.pat;
    const adminId = await adminUserId(a);
    old = await machineWithSecret(a, adminPatA, "old-svc");
    oldPat = await addPat(a, adminPatA, old.userId);
    oldAccess = (await tokenRequest(a.url, { grant_type: "client_credentials", scope: "openid urn:zitadel:iam:org:project:id:zitadel:aud" }, old.client)).json
      .access_token as string;
    expect(await bearerStatus(a, oldAccess)).toBe(200);
    jwtOld = await machineWithSecret(a, adminPatA, "jwt-old-svc", "ACCESS_TOKEN_TYPE_JWT");
    kid = decodeProtectedHeader((await tokenRequest(a.url, { grant_type: "client_credentials", scope: "openid" }, jwtOld.client)).json.access_token).kid!;
    await a.stop();

    // B alone is refused while nothing was moved to it.
    await expect(startTestServer({ dataDir, databaseUrl, env: { PORTCULLIS_MASTERKEY: B } })).rejects.toThrow(
      "PORTCULLIS_MASTERKEY does not match the key this database was initialised with",
    );

    // B with A as the previous key: everything made under A still works; new material is made with B.
    const b = await start({ PORTCULLIS_MASTERKEY: B, PORTCULLIS_MASTERKEY_PREVIOUS: A });
    expect(await tokenStatus(b, old.client)).toBe(200);
    expect(await tokenStatus(b, jwtOld.client)).toBe(200); // signs with the signing key sealed under A
    expect(await bearerStatus(b, oldPat.token)).toBe(200);
    expect(await bearerStatus(b, adminPatA)).toBe(200);
    expect(await bearerStatus(b, oldAccess)).toBe(200);
    adminPatB = (await addPat(b, adminPatA, adminId)).token;
    fresh = await machineWithSecret(b, adminPatB, "new-svc", "ACCESS_TOKEN_TYPE_JWT");
    expect(await tokenStatus(b, fresh.client)).toBe(200);
    freshPat = await addPat(b, adminPatB, fresh.userId);
    expect(await bearerStatus(b, freshPat.token)).toBe(200);
    await b.stop();
  }, 120_000);

  it("`portcullis masterkey rotate` re-wraps the signing key and the fingerprint under B and names what still depends on A", async () => {
    // The embedded store's directory is locked while a server runs, so the command runs in between.
    const rewrap = await cli(["masterkey", "rotate"], { ...dbEnv, PORTCULLIS_MASTERKEY: B, PORTCULLIS_MASTERKEY_PREVIOUS: A });
    expect(rewrap.stderr).toBe("");
    expect(rewrap.code).toBe(0);
    const out = rewrap.stdout;
    expect(out).toContain(`signing keys re-wrapped under the current master key: ${kid}\n`);
    expect(out).toContain("stored master key fingerprint: moved to the current key");
    expect(out).toContain("machine secrets set before the rotation: 2\n");
    expect(out).toContain(`user ${old.userId} (old-svc), secret set `);
    expect(out).toContain(`user ${jwtOld.userId} (jwt-old-svc), secret set `);
    expect(out).toContain("personal access tokens created before the rotation: 2\n"); // old-svc's and the bootstrap admin's
    expect(out).toContain(`token ${oldPat.tokenId} of user ${old.userId} (old-svc)`);
    expect(out).toMatch(/opaque access tokens issued before the rotation stay valid \(MACed with a previous key\) until at most \S+Z\n/);
    expect(out).not.toContain("new-svc");
    expect(out).not.toContain(freshPat.tokenId);
    // Run again: nothing left to re-wrap, the same dependencies.
    const again = await cli(["masterkey", "rotate"], { ...dbEnv, PORTCULLIS_MASTERKEY: B, PORTCULLIS_MASTERKEY_PREVIOUS: A });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("signing keys: none was sealed under a previous master key\n");
    expect(again.stdout).toContain(`signing keys already under the current master key: ${kid}\n`);
    expect(again.stdout).toContain("stored master key fingerprint: already the current key's");
    expect(again.stdout).toContain("machine secrets set before the rotation: 2\n");
  }, 120_000);

  it("B alone: the re-wrapped signing key signs; what was hashed or MACed under A fails, what was made with B works", async () => {
    const c = await start({ PORTCULLIS_MASTERKEY: B });
    const issued = await tokenRequest(c.url, { grant_type: "client_credentials", scope: "openid" }, fresh.client);
    expect(issued.status).toBe(200);
    const verified = await jwtVerify(issued.json.access_token as string, createRemoteJWKSet(new URL(`${c.url}/oauth/v2/keys`)), { issuer: c.url });
    expect(verified.protectedHeader.kid).toBe(kid);
    expect(await bearerStatus(c, freshPat.token)).toBe(200);
    expect(await bearerStatus(c, adminPatB)).toBe(200);
    expect(await tokenStatus(c, old.client)).toBe(401);
    expect(await tokenStatus(c, jwtOld.client)).toBe(401);
    expect(await bearerStatus(c, oldPat.token)).toBe(401);
    expect(await bearerStatus(c, adminPatA)).toBe(401);
    expect(await bearerStatus(c, oldAccess)).toBe(401);
    await c.stop();
  }, 120_000);
});
