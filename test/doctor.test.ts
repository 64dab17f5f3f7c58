import { existsSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "./helpers/pg.js";
import { runCli } from "./helpers/process.js";
import { freePort, startTestServer, type TestServer } from "./helpers/server.js";

/** `portcullis doctor`: read-only checks with what to fix, exit 0 only when nothing failed. */

const MASTERKEY = "doctor-test-master-key-of-enough-length";
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

function doctor(env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = runCli(["doctor", ...args], env);
  let stdout = "";
  let stderr = "";
  p.stdout!.on("data", (d: Buffer) => (stdout += d));
  p.stderr!.on("data", (d: Buffer) => (stderr += d));
  return new Promise((resolve) => p.once("exit", (code) => resolve({ code, stdout, stderr })));
}

describe("portcullis doctor on PostgreSQL", () => {
  let server: TestServer;
  let env: Record<string, string>;
  beforeAll(async () => {
    server = await startTestServer({ storage: "postgres", env: { PORTCULLIS_MASTERKEY: MASTERKEY } });
    cleanup.push(() => server.close());
    env = { PORTCULLIS_DATABASE_URL: server.databaseUrl!, PORTCULLIS_MASTERKEY: MASTERKEY, PORTCULLIS_EXTERNAL_URL: "https://id.example.com" };
  });

  it("passes on a healthy database (next to a running server) and names each check", async () => {
    const r = await doctor(env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok +configuration +valid; storage PostgreSQL at 127\.0\.0\.1:5432\/portcullis_t_\w+, issuer https:\/\/id\.example\.com$/m);
    expect(r.stdout).toMatch(/^ok +database +PostgreSQL at 127\.0\.0\.1:5432\/\w+ is reachable$/m);
    expect(r.stdout).toMatch(/^ok +migrations +up to date \(\d+ applied\)$/m);
    expect(r.stdout).toMatch(/^ok +master key +PORTCULLIS_MASTERKEY matches this database \(fingerprint [\w-]+\)$/m);
    expect(r.stdout).toMatch(/^ok +clock +\d+ ms (behind|ahead of) the database server's clock/m);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("all checks passed");
  });

  it("fails on a wrong master key and says what to fix, without changing anything", async () => {
    const r = await doctor({ ...env, PORTCULLIS_MASTERKEY: "x".repeat(40) });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL +master key +PORTCULLIS_MASTERKEY \(fingerprint [\w-]+\) does not match the key this database was initialised with/m);
    expect(r.stdout).toMatch(/^ +fix: set PORTCULLIS_MASTERKEY to the key this database was initialised with/m);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toMatch(/^1 check failed/);
    // The database still holds the original fingerprint: the right key still passes.
    expect((await doctor(env)).code).toBe(0);
  });

  it("warns while a master key rotation is under way (the fingerprint is a previous key's)", async () => {
    const r = await doctor({ ...env, PORTCULLIS_MASTERKEY: "n".repeat(40), PORTCULLIS_MASTERKEY_PREVIOUS: MASTERKEY });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^WARN +master key +the database's fingerprint is that of PORTCULLIS_MASTERKEY_PREVIOUS key 1 /m);
    expect(r.stdout).toMatch(/fix: .*run `portcullis masterkey rotate`/);
  });

  it("fails when the database was initialised with a master key that is not set", async () => {
    const r = await doctor({ PORTCULLIS_DATABASE_URL: env.PORTCULLIS_DATABASE_URL!, PORTCULLIS_EXTERNAL_URL: "https://id.example.com" });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL +master key +this database was initialised with PORTCULLIS_MASTERKEY/m);
  });

  it("is read-only on an empty database: reports pending migrations and migrates nothing", async () => {
    const db = await createTestDatabase();
    cleanup.push(db.drop);
    const r = await doctor({ PORTCULLIS_DATABASE_URL: db.url });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^WARN +migrations +empty database: \d+ migrations pending$/m);
    expect(r.stdout).toMatch(/fix: `portcullis start` applies them, or run `portcullis migrate`/);
    expect(r.stdout).toMatch(/^WARN +master key +not set: the first start generates one/m);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const tables = await c.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
      expect(tables.rows).toEqual([]);
    } finally {
      await c.end();
    }
  });

  it("fails when the database cannot be reached, once, without waiting for it", async () => {
    const port = await freePort();
    const r = await doctor({ PORTCULLIS_DATABASE_URL: `postgres://postgres:secret-pw-9@127.0.0.1:${port}/x` });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^FAIL +database +PostgreSQL at 127\\.0\\.0\\.1:${port}/x is not reachable: .*ECONNREFUSED`, "m"));
    expect(r.stdout).toMatch(/fix: check PORTCULLIS_DATABASE_URL/);
    expect(r.stdout).toMatch(/^skip +migrations +needs the database$/m);
    expect(r.stdout).not.toContain("secret-pw-9");
  });

  it("fails on invalid configuration, naming the key", async () => {
    const r = await doctor({ PORTCULLIS_PORT: "eighty" });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL +configuration +invalid PORTCULLIS_PORT: /m);
  });

  it("has --help, and is listed by portcullis --help", async () => {
    const h = await doctor({}, ["--help"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^Usage: portcullis doctor \[flags\]/);
    expect(h.stdout).toContain("PORTCULLIS_DATABASE_URL");
    expect(h.stdout).toContain("PORTCULLIS_DB_STARTUP_TIMEOUT_MS");
    expect(h.stdout).toContain("PORTCULLIS_LOG_FORMAT");
    const p = runCli(["--help"], {});
    let top = "";
    p.stdout!.on("data", (d: Buffer) => (top += d));
    await new Promise((r) => p.once("exit", r));
    expect(top).toMatch(/^ {2}doctor +Check configuration, database, migrations, master key and clock/m);
  });
});

describe("portcullis doctor on the embedded store", () => {
  it("says so while a running server holds the data directory; once it stopped, checks migrations and the master key", async () => {
    const server = await startTestServer({ storage: "pglite", env: { PORTCULLIS_MASTERKEY: MASTERKEY } });
    cleanup.push(() => server.close());
    const env = { PORTCULLIS_DATA_DIR: server.dataDir, PORTCULLIS_EXTERNAL_URL: "https://id.example.com" };
    const running = await doctor({ ...env, PORTCULLIS_MASTERKEY: MASTERKEY });
    expect(running.code).toBe(0);
    expect(running.stdout).toMatch(/^ok +configuration +valid; storage embedded in /m);
    expect(running.stdout).toContain(`embedded database in ${server.dataDir} is in use by a running Portcullis (pid ${process.pid})`);
    expect(running.stdout).toMatch(/^skip +master key +the data directory is in use by a running server$/m);
    // The server kept its lock and still answers.
    expect((await fetch(`${server.url}/debug/ready`)).status).toBe(200);

    await server.stop();
    const ok = await doctor({ ...env, PORTCULLIS_MASTERKEY: MASTERKEY });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ok +database +embedded database in .* opens$/m);
    expect(ok.stdout).toMatch(/^ok +migrations +up to date/m);
    expect(ok.stdout).toMatch(/^ok +master key +PORTCULLIS_MASTERKEY matches this database/m);
    expect(ok.stdout).toMatch(/^skip +clock +the embedded database uses this machine's clock$/m);
    const wrong = await doctor({ ...env, PORTCULLIS_MASTERKEY: "y".repeat(40) });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/^FAIL +master key /m);
  }, 240_000);

  it("does not create a database where there is none", async () => {
    const dir = `/tmp/portcullis-doctor-none-${process.pid}`;
    const r = await doctor({ PORTCULLIS_DATA_DIR: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^WARN +database +no embedded database in \/tmp\/portcullis-doctor-none-\d+ yet$/m);
    expect(existsSync(dir)).toBe(false);
  });
});
