import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "./helpers/pg.js";
import { runCli, startServerProcess } from "./helpers/process.js";
import { freePort } from "./helpers/server.js";
import { restartableProxy } from "./helpers/tcp-proxy.js";

/** Start-up against a database that is not up yet, and every start-up error as one line without a stack trace. */

const PASSWORD = "pw-never-logged-7f3a";
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

/** The test database's URL with a password added (the server trusts local connections and never asks for it). */
function withPassword(url: string, port?: number): string {
  const u = new URL(url);
  u.password = PASSWORD;
  if (port !== undefined) u.port = String(port);
  return u.toString();
}

const tmp = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "portcullis-startup-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

const jsonLines = (out: string) =>
  out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("start-up against a PostgreSQL that is not up yet", () => {
  let dbUrl: string;
  beforeAll(async () => {
    const db = await createTestDatabase();
    cleanup.push(db.drop);
    dbUrl = db.url;
  });

  it("waits, logging each attempt with host, port and error, and starts once the database answers", async () => {
    const proxy = await restartableProxy();
    cleanup.push(() => proxy.stop());
    await proxy.stop(); // the port is known; nothing listens on it for now
    const opening = setTimeout(() => void proxy.start(), 5_000);
    cleanup.push(() => clearTimeout(opening));
    const server = await startServerProcess({ PORTCULLIS_DATABASE_URL: withPassword(dbUrl, proxy.port()), PORTCULLIS_DATA_DIR: tmp() }, 120_000);
    cleanup.push(() => server.kill().then(() => undefined));

    const waits = jsonLines(server.output()).filter((l) => typeof l.msg === "string" && l.msg.startsWith("waiting for PostgreSQL"));
    expect(waits.length).toBeGreaterThan(0);
    for (const w of waits) {
      expect(w.level).toBe(40);
      expect(w.host).toBe("127.0.0.1");
      expect(w.port).toBe(proxy.port());
      expect(w.msg).toContain(`127.0.0.1:${proxy.port()}`);
      expect(w.error).toMatch(/ECONNREFUSED/);
      expect(w.msg).toContain(String(w.error));
    }
    expect(waits.map((w) => w.attempt)).toEqual(waits.map((_, i) => i + 1));
    expect(server.output()).not.toContain(PASSWORD);
    expect((await fetch(`${server.url}/debug/ready`)).status).toBe(200);
  });

  it("gives up after the configured limit with one line, no stack trace and a non-zero exit", async () => {
    const port = await freePort(); // nothing listens there
    const r = await cli(["start"], {
      PORTCULLIS_DATABASE_URL: withPassword(dbUrl, port),
      PORTCULLIS_DB_STARTUP_TIMEOUT_MS: "3000",
      PORTCULLIS_DATA_DIR: tmp(),
      PORTCULLIS_PORT: "0",
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(
      new RegExp(`^portcullis: PostgreSQL at 127\\.0\\.0\\.1:${port} is not reachable \\(connect ECONNREFUSED[^)]*\\); gave up after \\d+ attempts in 3 s \\(PORTCULLIS_DB_STARTUP_TIMEOUT_MS\\); check PORTCULLIS_DATABASE_URL`),
    );
    expect(r.stderr).not.toMatch(/^\s+at /m);
    const waits = jsonLines(r.stdout).filter((l) => l.msg !== undefined && String(l.msg).startsWith("waiting for PostgreSQL"));
    expect(waits.length).toBeGreaterThan(1);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });

  it("fails at once, in one line, when the database refuses the login (waiting would not help)", async () => {
    const u = new URL(dbUrl);
    u.username = "no_such_role_portcullis";
    u.password = PASSWORD;
    const r = await cli(["start"], { PORTCULLIS_DATABASE_URL: u.toString(), PORTCULLIS_DATA_DIR: tmp(), PORTCULLIS_PORT: "0" });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^portcullis: PostgreSQL at 127\.0\.0\.1:\d+ refused the connection: .*no_such_role_portcullis.*; check PORTCULLIS_DATABASE_URL$/m);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });
});

describe("start-up errors are one line", () => {
  let env: Record<string, string>;
  beforeAll(async () => {
    const db = await createTestDatabase();
    cleanup.push(db.drop);
    env = { PORTCULLIS_DATABASE_URL: db.url, PORTCULLIS_DATA_DIR: tmp(), PORTCULLIS_HOST: "127.0.0.1" };
  });

  it("names a port in use", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    cleanup.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as net.AddressInfo).port;
    const r = await cli(["start"], { ...env, PORTCULLIS_PORT: String(port) });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`portcullis: port ${port} is already in use (127.0.0.1:${port}); stop the other process or set PORTCULLIS_PORT\n`);
  });

  it("names a TLS file that cannot be read", async () => {
    const r = await cli(["start"], { ...env, PORTCULLIS_PORT: "0", PORTCULLIS_TLS_CERT: "/nonexistent/cert.pem", PORTCULLIS_TLS_KEY: "/nonexistent/key.pem" });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("portcullis: cannot read /nonexistent/cert.pem (ENOENT); check PORTCULLIS_TLS_CERT and PORTCULLIS_TLS_KEY\n");
  });

  it("keeps an unexpected error to one line too; the stack trace only at log level debug", async () => {
    const dir = tmp();
    const junk = path.join(dir, "junk.pem");
    writeFileSync(junk, "not a certificate\n");
    const tls = { ...env, PORTCULLIS_PORT: "0", PORTCULLIS_TLS_CERT: junk, PORTCULLIS_TLS_KEY: junk };
    const r = await cli(["start"], tls);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^portcullis: .+ \(PORTCULLIS_LOG_LEVEL=debug shows the stack trace\)\n$/);
    const debug = await cli(["start"], { ...tls, PORTCULLIS_LOG_LEVEL: "debug" });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^portcullis: .+\n/);
    expect(debug.stderr).toMatch(/^\s+at /m);
  });
});
