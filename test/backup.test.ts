import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { rest, tokenRequest } from "./helpers/clients.js";
import { createTestDatabase } from "./helpers/pg.js";
import { CLI } from "./helpers/process.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const KEY = "backup-test-master-key-0123456789abcdef";
const OTHER = "another-master-key-0123456789abcdefghij";
const API = "openid urn:zitadel:iam:org:project:id:zitadel:aud";

/** The built CLI as a separate process (async: the server under test runs in this process): exit code and output. */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, PORTCULLIS_LOG_LEVEL: "silent", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => p.once("close", (code) => resolve({ code, out, err })));
}

/** A machine with a client secret, an access token obtained with it, and a PAT. */
async function credentials(s: TestServer, userName: string) {
  const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName, name: userName } });
  const userId = add.json.userId as string;
  const secret = (await rest(s.url, "PUT", `/management/v1/users/${userId}/secret`, { token: s.pat, body: {} })).json.clientSecret as string;
  const pat = (await rest(s.url, "POST", `/management/v1/users/${userId}/pats`, { token: s.pat, body: {} })).json.token as string;
  const token = (await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: userName, secret })).json.access_token as string;
  expect(token).toBeTruthy();
  return { userId, userName, secret, pat, token };
}

const userinfo = async (url: string, token: string) => (await fetch(`${url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${token}` } })).status;

/** On the restored server, listening at the old address `url` (the issuer). */
async function worksAsBefore(url: string, s: TestServer, c: Awaited<ReturnType<typeof credentials>>) {
  expect(await userinfo(url, c.token)).toBe(200);
  expect(await userinfo(url, c.pat)).toBe(200);
  expect((await tokenRequest(url, { grant_type: "client_credentials", scope: API }, { id: c.userName, secret: c.secret })).status).toBe(200);
  // the admin's PAT too
  expect((await rest(url, "GET", `/management/v1/users/${c.userId}`, { token: s.pat })).status).toBe(200);
}

describe("backup and restore of the embedded store", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "portcullis-backup-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("backs up a running server through its API, restores after changes, and every credential and token works as before", async () => {
    const s = await startTestServer({ storage: "pglite", env: { PORTCULLIS_MASTERKEY: KEY } });
    const env = { PORTCULLIS_DATA_DIR: s.dataDir, PORTCULLIS_MASTERKEY: KEY, PORTCULLIS_PORT: String(s.port), PORTCULLIS_HOST: "127.0.0.1" };
    const file = path.join(tmp, "running.tgz");
    try {
      const c = await credentials(s, "bk-running");
      // Without a token the CLI uses the first instance's PAT file in the data directory.
      const b = await cli(["backup", file], env);
      expect(b.err).toBe("");
      expect(b.code).toBe(0);
      expect(b.out).toMatch(/backup of the running server written/);
      // Other callers need iam.write.
      expect((await fetch(`${s.url}/portcullis/v1/backup`, { headers: { authorization: `Bearer ${c.pat}` } })).status).toBe(404);

      // Changes after the backup: the secret removed (its token stops working), a new user.
      expect((await rest(s.url, "DELETE", `/management/v1/users/${c.userId}/secret`, { token: s.pat })).status).toBe(200);
      expect(await userinfo(s.url, c.token)).toBe(401);
      await credentials(s, "bk-after");
      // A restore while the server runs is refused.
      const busy = await cli(["restore", file], env);
      expect(busy.code).toBe(1);
      expect(busy.err).toMatch(/^portcullis: restore refused: .*stop the server first\n$/);
      await s.stop();

      // Another master key, or none: one clear line, nothing replaced.
      const wrong = await cli(["restore", file], { ...env, PORTCULLIS_MASTERKEY: OTHER });
      expect(wrong.code).toBe(1);
      expect(wrong.err).toBe("portcullis: restore refused: PORTCULLIS_MASTERKEY is not the master key this backup was made with (fingerprints differ); set that key to restore it\n");
      const none = await cli(["restore", file], { ...env, PORTCULLIS_MASTERKEY: "" });
      expect(none.err).toBe("portcullis: restore refused: this backup was made with PORTCULLIS_MASTERKEY; set the same key to restore it\n");
      writeFileSync(path.join(tmp, "junk.tgz"), "not a backup");
      expect((await cli(["restore", path.join(tmp, "junk.tgz")], env)).err).toMatch(/^portcullis: restore refused: the file is not a Portcullis embedded backup/);

      const r = await cli(["restore", file], env);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/previous store is kept in/);

      // Same address as before (the issuer), the restored state.
      const s2 = await startTestServer({ dataDir: s.dataDir, env: { PORTCULLIS_MASTERKEY: KEY, PORTCULLIS_PORT: String(s.port), PORTCULLIS_EXTERNAL_URL: s.url } });
      try {
        await worksAsBefore(s.url, s2, c);
        expect((await rest(s.url, "POST", "/management/v1/users/_search", { token: s2.pat, body: { queries: [{ userNameQuery: { userName: "bk-after" } }] } })).json.result).toBeUndefined();
      } finally {
        await s2.stop();
      }

      // A stopped store is backed up directly.
      const stopped = path.join(tmp, "stopped.tgz");
      const b2 = await cli(["backup", stopped], env);
      expect(b2.code).toBe(0);
      expect(b2.out).toMatch(/^backup written to/);
      expect(readFileSync(stopped).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    } finally {
      rmSync(s.dataDir, { recursive: true, force: true });
    }
  }, 240_000);
});

const hasPgDump = (() => {
  try {
    execFileSync("pg_dump", ["--version"]);
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasPgDump)("pg_dump / pg_restore (PostgreSQL)", () => {
  it("a pg_dump restored with pg_restore into another database: every credential and token works; another master key is refused", async () => {
    const s = await startTestServer({ storage: "postgres", env: { PORTCULLIS_MASTERKEY: KEY } });
    const target = await createTestDatabase();
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), "portcullis-pgdump-")), "portcullis.dump");
    try {
      const c = await credentials(s, "pg-backup");
      // The README's commands.
      execFileSync("pg_dump", ["--format=custom", "--file", file, s.databaseUrl!]);
      expect(existsSync(file)).toBe(true);
      execFileSync("pg_restore", ["--no-owner", "--dbname", target.url, file]);
      await s.stop();
      await expect(startTestServer({ databaseUrl: target.url, dataDir: s.dataDir, env: { PORTCULLIS_MASTERKEY: OTHER } })).rejects.toThrow(
        "PORTCULLIS_MASTERKEY does not match the key this database was initialised with",
      );
      const s2 = await startTestServer({ databaseUrl: target.url, dataDir: s.dataDir, env: { PORTCULLIS_MASTERKEY: KEY, PORTCULLIS_PORT: String(s.port), PORTCULLIS_EXTERNAL_URL: s.url } });
      try {
        await worksAsBefore(s.url, s2, c);
      } finally {
        await s2.stop();
      }
    } finally {
      await s.close();
      await target.drop();
    }
  }, 240_000);
});
