import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http2 from "node:http2";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "./helpers/pg.js";
import { CLI, runCli, startServerProcess, type ServerProcess } from "./helpers/process.js";
import { freePort } from "./helpers/server.js";
import { createLogger, formatPretty, resolveLogFormat } from "../src/server/logger.js";
import { requestId } from "../src/server/request-id.js";
import type { Req } from "../src/api/http-util.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** A stream that keeps what is written, pretending to be a terminal or not. */
function capture(isTTY: boolean) {
  let text = "";
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    }),
    { isTTY },
  );
  return { stream, text: () => text };
}

const PRETTY_LINE = /^\d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) /;

describe("log format", () => {
  it("auto is pretty on a terminal and JSON otherwise; json and pretty are what they say", () => {
    expect(resolveLogFormat("auto", true)).toBe("pretty");
    expect(resolveLogFormat("auto", false)).toBe("json");
    expect(resolveLogFormat("json", true)).toBe("json");
    expect(resolveLogFormat("pretty", false)).toBe("pretty");
  });

  it("createLogger writes JSON or pretty lines by logFormat and whether the stream is a terminal", () => {
    const cases = [
      { logFormat: "auto", tty: false, json: true },
      { logFormat: "auto", tty: true, json: false },
      { logFormat: "json", tty: true, json: true },
      { logFormat: "pretty", tty: false, json: false },
    ] as const;
    for (const c of cases) {
      const out = capture(c.tty);
      createLogger({ logLevel: "info", logFormat: c.logFormat }, out.stream).info({ port: 8080 }, "portcullis ready");
      if (c.json) expect(JSON.parse(out.text())).toMatchObject({ level: 30, msg: "portcullis ready", port: 8080, service: "portcullis" });
      else expect(out.text().replace(/\x1b\[[0-9;]*m/g, "")).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}portcullis ready port=8080\n$/);
    }
  });

  it("pretty lines carry time, level, message and fields; an error's stack follows, indented; secrets stay redacted", () => {
    const time = new Date(2026, 0, 2, 3, 4, 5, 67).getTime();
    expect(formatPretty(JSON.stringify({ level: 40, time, service: "portcullis", msg: "slow", path: "/a b", n: 3, ok: true }))).toBe(
      '03:04:05.067 WARN  slow path="/a b" n=3 ok=true\n',
    );
    const err = formatPretty(JSON.stringify({ level: 50, time, msg: "request failed", reqId: "r1", err: { type: "Error", message: "boom", stack: "Error: boom\n    at f (x.js:1:1)" } }));
    expect(err).toBe("03:04:05.067 ERROR request failed reqId=r1\n    Error: boom\n        at f (x.js:1:1)\n");
    expect(formatPretty("not json")).toBe("not json\n");
    const out = capture(true);
    createLogger({ logLevel: "info", logFormat: "pretty" }, out.stream).info({ headers: { authorization: "Bearer abc" } }, "x");
    expect(out.text()).not.toContain("abc");
  });

  // A start that gives up quickly (nothing listens on the database port) shows which format a process chose.
  const failingStart = async () => ({
    PORTCULLIS_DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/x`,
    PORTCULLIS_DB_STARTUP_TIMEOUT_MS: "600",
    PORTCULLIS_DATA_DIR: os.tmpdir(),
    NO_COLOR: "1",
  });
  const run = (cmd: string, args: string[], env: Record<string, string>) =>
    new Promise<string>((resolve) => {
      const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      p.stdout.on("data", (d: Buffer) => (out += d));
      p.stderr.on("data", (d: Buffer) => (out += d));
      p.once("exit", () => resolve(out));
    });

  const hasScript = spawnSync("script", ["--version"]).status === 0;
  it.skipIf(!hasScript)("a process on a (pseudo-)terminal logs pretty lines by default", async () => {
    const out = await run("script", ["-qec", `${process.execPath} ${CLI} start`, "/dev/null"], await failingStart());
    const lines = out.split(/\r?\n/).filter((l) => l.includes("waiting for PostgreSQL"));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(PRETTY_LINE);
    expect(out).not.toContain('"msg"');
  });

  it("a process on a pipe logs JSON by default, pretty with logFormat=pretty", async () => {
    const env = await failingStart();
    const json = (await run(process.execPath, [CLI, "start"], env)).split("\n").filter((l) => l.includes("waiting for PostgreSQL"));
    expect(json.length).toBeGreaterThan(0);
    for (const l of json) expect(JSON.parse(l)).toMatchObject({ level: 40, host: "127.0.0.1" });
    const pretty = (await run(process.execPath, [CLI, "start", "--log-format", "pretty"], env)).split("\n").filter((l) => l.includes("waiting for PostgreSQL"));
    expect(pretty.length).toBeGreaterThan(0);
    for (const l of pretty) expect(l).toMatch(PRETTY_LINE);
  });

  it("refuses an unknown logFormat in one line", async () => {
    const p = runCli(["config", "print"], { PORTCULLIS_LOG_FORMAT: "xml" });
    let err = "";
    p.stderr!.on("data", (d: Buffer) => (err += d));
    await new Promise((r) => p.once("exit", r));
    expect(err).toMatch(/^portcullis: invalid PORTCULLIS_LOG_FORMAT: .*\n$/);
  });
});

describe("request ids", () => {
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as Req;

  it("come from x-request-id, else the trace id of traceparent, else are made", () => {
    expect(requestId(req({ "x-request-id": "abc-123" }))).toBe("abc-123");
    expect(requestId(req({ "x-request-id": "abc", traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }))).toBe("abc");
    expect(requestId(req({ traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }))).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    // Unusable ids are replaced: spaces or control characters, too long, an all-zero or version-ff trace.
    for (const headers of <Record<string, string>[]>[
      {},
      { "x-request-id": "has space" },
      { "x-request-id": "x".repeat(129) },
      { "x-request-id": "" },
      { traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01" },
      { traceparent: "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
      { traceparent: "garbage" },
    ])
      expect(requestId(req(headers))).toMatch(uuid);
  });

  describe("on the wire", () => {
    let server: ServerProcess;
    let pat: string;
    beforeAll(async () => {
      const db = await createTestDatabase();
      cleanup.push(db.drop);
      const dir = mkdtempSync(path.join(os.tmpdir(), "portcullis-reqid-"));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      server = await startServerProcess({ PORTCULLIS_DATABASE_URL: db.url, PORTCULLIS_DATA_DIR: dir, PORTCULLIS_LOG_LEVEL: "debug" });
      cleanup.push(() => server.kill().then(() => undefined));
      pat = readFileSync(path.join(dir, "admin.pat"), "utf8").trim();
    });

    /** The access log line of a request id, once the server has written it. */
    async function accessLine(id: string): Promise<Record<string, unknown>> {
      for (let i = 0; i < 100; i++) {
        const line = server
          .output()
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.msg === "request" && l.reqId === id);
        if (line) return line;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no access log line for ${id}:\n${server.output()}`);
    }

    it("echoes the caller's x-request-id and names it on the request's log line, without tokens or query strings", async () => {
      const r = await fetch(`${server.url}/management/v1/orgs/me?token=query-secret`, { headers: { authorization: `Bearer ${pat}`, "x-request-id": "req-e2e-1" } });
      expect(r.status).toBe(200);
      expect(r.headers.get("x-request-id")).toBe("req-e2e-1");
      const line = await accessLine("req-e2e-1");
      expect(line).toMatchObject({ level: 20, method: "GET", path: "/management/v1/orgs/me", status: 200, proto: "1.1" });
      expect(typeof line.ms).toBe("number");
      expect(server.output()).not.toContain(pat);
      expect(server.output()).not.toContain("query-secret");
    });

    it("every kind of responder sends x-request-id exactly once (JSON answers, Connect, metrics, OpenAPI, console, extension API, 404)", async () => {
      const auth = { authorization: `Bearer ${pat}` };
      const cases: [string, RequestInit][] = [
        ["/oauth/v2/token", { method: "POST", body: new URLSearchParams({ grant_type: "client_credentials" }) }],
        ["/.well-known/openid-configuration", {}],
        ["/management/v1/orgs/me", { headers: auth }],
        ["/management/v1/nothing-here", { headers: auth }],
        ["/zitadel.management.v1.ManagementService/GetMyOrg", { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: "{}" }],
        ["/debug/metrics", {}],
        ["/debug/ready", {}],
        ["/openapi/", {}],
        ["/ui/console/", {}],
        ["/portcullis/v1/policies/credentials", { headers: auth }],
      ];
      for (const [i, [p, init]] of cases.entries()) {
        const id = `req-kind-${i}`;
        const r = await fetch(`${server.url}${p}`, { ...init, headers: { ...(init.headers as Record<string, string>), "x-request-id": id } });
        await r.arrayBuffer();
        // Two headers would read "id, id".
        expect(r.headers.get("x-request-id"), `${p} → ${r.status}`).toBe(id);
      }
    });

    it("takes the trace id of traceparent, and makes one when the caller sends none", async () => {
      const traced = await fetch(`${server.url}/debug/healthz`, { headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" } });
      expect(traced.headers.get("x-request-id")).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
      expect(await accessLine("4bf92f3577b34da6a3ce929d0e0e4736")).toMatchObject({ path: "/debug/healthz", status: 200 });
      const bare = await fetch(`${server.url}/oauth/v2/token`, { method: "POST", body: new URLSearchParams({ grant_type: "client_credentials" }) });
      expect(bare.status).toBe(400);
      const made = bare.headers.get("x-request-id")!;
      expect(made).toMatch(/^[0-9a-f-]{36}$/);
      expect(await accessLine(made)).toMatchObject({ method: "POST", path: "/oauth/v2/token", status: 400 });
    });

    it("does the same over HTTP/2", async () => {
      const session = http2.connect(server.url);
      try {
        const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
          const stream = session.request({ ":path": "/debug/healthz", "x-request-id": "req-h2-1" });
          stream.on("response", (h) => resolve(h));
          stream.on("error", reject);
          stream.resume();
          stream.end();
        });
        expect(headers["x-request-id"]).toBe("req-h2-1");
      } finally {
        session.close();
      }
      expect(await accessLine("req-h2-1")).toMatchObject({ path: "/debug/healthz", status: 200, proto: "2.0" });
    });
  });
});
