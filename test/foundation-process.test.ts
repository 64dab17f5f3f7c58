import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "./helpers/pg.js";
import { runCli, startServerProcess } from "./helpers/process.js";
import { rest } from "./helpers/clients.js";
import { loadConfig } from "../src/config/load.js";
import { openStorage } from "../src/server/runtime.js";
import { PROJECTION_TABLES } from "../src/store/migrations.js";
import { rebuildProjections } from "../src/store/rebuild.js";

const tmp = () => mkdtempSync(path.join(os.tmpdir(), "portcullis-proc-"));
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = runCli(args, env);
  let stdout = "";
  let stderr = "";
  p.stdout!.on("data", (d: Buffer) => (stdout += d));
  p.stderr!.on("data", (d: Buffer) => (stderr += d));
  return new Promise((resolve) => p.once("exit", (code) => resolve({ code, stdout, stderr })));
}

async function projectionsEqualRebuild(env: Record<string, string>) {
  const sql = await openStorage(loadConfig({ env }));
  try {
    const snap = async () => {
      const out: Record<string, unknown[]> = {};
      for (const t of PROJECTION_TABLES) out[t] = await sql.query(`SELECT * FROM ${t} ORDER BY 1, 2, 3`);
      return out;
    };
    const before = await snap();
    await rebuildProjections(sql);
    expect(await snap()).toEqual(before);
    const users = await sql.query<{ id: string; username: string }>("SELECT id, username FROM proj_users");
    const claims = await sql.query<{ unique_field: string }>("SELECT unique_field FROM unique_constraints WHERE unique_type = 'usernames'");
    // A half-applied AddMachineUser would leave a user without its name claim, or a claim without its user.
    expect(claims.map((c) => c.unique_field).sort()).toEqual(users.map((u) => u.username.toLowerCase()).sort());
    return users;
  } finally {
    await sql.close();
  }
}

describe.each(["pglite", "postgres"] as const)("SIGKILL in the middle of a stream of writes (%s)", (storage) => {
  it("keeps every acknowledged write and no half-applied command", async () => {
    const dir = tmp();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const env: Record<string, string> = { PORTCULLIS_DATA_DIR: dir };
    if (storage === "postgres") {
      const db = await createTestDatabase();
      cleanup.push(db.drop);
      env.PORTCULLIS_DATABASE_URL = db.url;
    }
    const server = await startServerProcess(env);
    const pat = readFileSync(path.join(dir, "admin.pat"), "utf8").trim();
    const acknowledged: string[] = [];
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await rest(server.url, "POST", "/management/v1/users/machine", { token: pat, body: { userName: `w${w}-${i}`, name: "W" } });
          if (r.status === 200) acknowledged.push(r.json.userId as string);
        } catch {
          return; // connection refused/reset once the process is gone
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    await new Promise((r) => setTimeout(r, 1500));
    server.proc.kill("SIGKILL");
    await server.exited;
    stop = true;
    await Promise.all(writers);
    expect(acknowledged.length).toBeGreaterThan(10);

    const users = await projectionsEqualRebuild({ ...env, PORTCULLIS_LOG_LEVEL: "silent" });
    const ids = new Set(users.map((u) => u.id));
    expect(acknowledged.filter((id) => !ids.has(id))).toEqual([]);

    const again = await startServerProcess(env);
    cleanup.push(() => again.kill().then(() => undefined));
    for (const id of acknowledged.slice(-5)) expect((await rest(again.url, "GET", `/management/v1/users/${id}`, { token: pat })).status).toBe(200);
    // The restart did not bootstrap a second time.
    expect(again.output()).not.toContain("First start");
  });
});

describe("embedded data directory", () => {
  it("is locked: a second process refuses to start and does not touch the data", async () => {
    const dir = tmp();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = await startServerProcess({ PORTCULLIS_DATA_DIR: dir });
    cleanup.push(() => first.kill().then(() => undefined));
    const pgdata = path.join(dir, "pgdata");
    const mtimeBefore = statSync(pgdata).mtimeMs;
    const second = await cli(["start"], { PORTCULLIS_DATA_DIR: dir, PORTCULLIS_PORT: "0" });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^portcullis: data directory .* is in use by another Portcullis process \(pid \d+\)/);
    expect(statSync(pgdata).mtimeMs).toBe(mtimeBefore);
    const pat = readFileSync(path.join(dir, "admin.pat"), "utf8").trim();
    expect((await rest(first.url, "GET", "/management/v1/orgs/me", { token: pat })).status).toBe(200);
  });

  it("shuts down gracefully on SIGTERM and releases the lock", async () => {
    const dir = tmp();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = await startServerProcess({ PORTCULLIS_DATA_DIR: dir });
    expect(await first.kill("SIGTERM")).toBe(0);
    expect(first.output()).toContain('"msg":"stopped"');
    const second = await startServerProcess({ PORTCULLIS_DATA_DIR: dir });
    expect(await second.kill("SIGINT")).toBe(0);
  });

  it("writes the admin PAT with mode 0600 and a trailing newline, once", async () => {
    const dir = tmp();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = await startServerProcess({ PORTCULLIS_DATA_DIR: dir });
    const file = path.join(dir, "admin.pat");
    const content = readFileSync(file, "utf8");
    expect(content).toMatch(/^[A-Za-z0-9_-]{40,}\n$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.output()).toContain(`its PAT was written to ${file}`);
    expect(first.output()).toContain(`curl -H "Authorization: Bearer $(cat ${file})" ${first.url}/management/v1/orgs/me`);
    await first.kill();
    const second = await startServerProcess({ PORTCULLIS_DATA_DIR: dir });
    cleanup.push(() => second.kill().then(() => undefined));
    expect(readFileSync(file, "utf8")).toBe(content);
    const list = await rest(second.url, "POST", "/management/v1/users/_search", { token: content.trim(), body: {} });
    expect(list.json.details.totalResult).toBe("1");
  });
});

describe("configuration and CLI", () => {
  it("refuses invalid configuration with one line naming the key", async () => {
    const r = await cli(["start"], { PORTCULLIS_PORT: "eighty" });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^portcullis: invalid PORTCULLIS_PORT: /);
    const url = await cli(["start"], { PORTCULLIS_DATABASE_URL: "mysql://x" });
    expect(url.stderr.trim()).toBe("portcullis: invalid PORTCULLIS_DATABASE_URL: must be a postgres:// or postgresql:// URL");
    const flag = await cli(["start", "--port", "-3"], {});
    expect(flag.stderr).toMatch(/^portcullis: invalid --port: /);
  });

  it("config print shows the effective configuration with secrets redacted", async () => {
    const r = await cli(["config", "print"], {
      PORTCULLIS_MASTERKEY: "a-very-secret-master-key-of-enough-length",
      PORTCULLIS_DATABASE_URL: "postgres://app:hunter2@db.internal:5432/portcullis",
      PORTCULLIS_PORT: "9000",
    });
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout);
    expect(printed.port).toBe(9000);
    expect(printed.externalUrl).toBe("http://localhost:9000");
    expect(printed.masterkey).toBe("[redacted]");
    expect(r.stdout).not.toContain("hunter2");
    expect(r.stdout).not.toContain("a-very-secret-master-key");
  });

  it("documents every command with --help", async () => {
    const top = await cli(["--help"], {});
    for (const c of ["start", "migrate", "projections rebuild", "config print"]) expect(top.stdout).toContain(c);
    for (const c of [["start"], ["migrate"], ["projections", "rebuild"], ["config", "print"]]) {
      const h = await cli([...c, "--help"], {});
      expect(h.code).toBe(0);
      expect(h.stdout).toContain("PORTCULLIS_DATABASE_URL");
    }
  });

  it("migrate and projections rebuild work on a fresh database", async () => {
    const db = await createTestDatabase();
    cleanup.push(db.drop);
    const m = await cli(["migrate"], { PORTCULLIS_DATABASE_URL: db.url });
    expect(m.stdout).toBe("applied migrations: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13\n");
    expect((await cli(["migrate"], { PORTCULLIS_DATABASE_URL: db.url })).stdout).toBe("database is up to date\n");
    const r = await cli(["projections", "rebuild"], { PORTCULLIS_DATABASE_URL: db.url });
    expect(r.stdout).toBe("projections rebuilt from 0 events\n");
  });

  it("refuses to start with a master key other than the one the database was initialised with", async () => {
    const dir = tmp();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = await startServerProcess({ PORTCULLIS_DATA_DIR: dir, PORTCULLIS_MASTERKEY: "k".repeat(40) });
    await first.kill();
    const wrong = await cli(["start"], { PORTCULLIS_DATA_DIR: dir, PORTCULLIS_MASTERKEY: "x".repeat(40), PORTCULLIS_PORT: "0" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim()).toBe("portcullis: PORTCULLIS_MASTERKEY does not match the key this database was initialised with");
    const none = await cli(["start"], { PORTCULLIS_DATA_DIR: dir, PORTCULLIS_PORT: "0" });
    expect(none.stderr.trim()).toBe("portcullis: this database was initialised with PORTCULLIS_MASTERKEY; set the same key to start");
  });
});
