import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "./helpers/pg.js";
import { runCli, startServerProcess, type ServerProcess } from "./helpers/process.js";
import { parsePrometheusText, valueOf } from "./helpers/prometheus-text.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SCOPE = "openid";

/** One request on a new connection (no keep-alive): the supervisor hands each connection to the next worker. */
function request(url: string, method: string, p: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url + p, { method, headers: { connection: "close", ...headers }, agent: false }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const json = (text: string) => JSON.parse(text) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const basic = (id: string, secret: string) => "Basic " + Buffer.from(`${id}:${secret}`).toString("base64");
const token = (url: string, id: string, secret: string) =>
  request(url, "POST", "/oauth/v2/token", { authorization: basic(id, secret), "content-type": "application/x-www-form-urlencoded" }, `grant_type=client_credentials&scope=${SCOPE}`);

const children = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

async function until<T>(what: string, f: () => T | undefined | false, ms = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** `portcullis start --workers 2` on PostgreSQL: two processes, one port, one cluster. */
describe("workers", () => {
  let drop: () => Promise<void>;
  let srv: ServerProcess;
  let dataDir: string;
  let pat: string;
  const admin = () => ({ authorization: `Bearer ${pat}`, "content-type": "application/json" });

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    dataDir = mkdtempSync(path.join(os.tmpdir(), "portcullis-workers-"));
    srv = await startServerProcess({
      PORTCULLIS_DATABASE_URL: db.url,
      PORTCULLIS_DATA_DIR: dataDir,
      PORTCULLIS_WORKERS: "2",
      // The loop below refuses one client id on purpose; the brute-force limit is tested elsewhere.
      PORTCULLIS_RATE_LIMIT_FAILURES_PER_MINUTE: "100000",
      PORTCULLIS_RATE_LIMIT_FAILURES_PER_MINUTE_PER_CLIENT: "100000",
      PORTCULLIS_RATE_LIMIT_FAILURES_PER_MINUTE_PER_ADDRESS: "100000",
    });
    pat = readFileSync(path.join(dataDir, "admin.pat"), "utf8").trim();
  });
  afterAll(async () => {
    await srv?.kill("SIGKILL");
    for (const pid of children(srv?.proc.pid ?? 0)) process.kill(pid, "SIGKILL");
    await drop?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("runs two worker processes under the supervisor, and /debug/metrics answers for both", async () => {
    expect(children(srv.proc.pid!)).toHaveLength(2);
    expect(srv.output().match(/"msg":"worker ready"/g)).toHaveLength(2);
    const f = parsePrometheusText((await request(srv.url, "GET", "/debug/metrics")).text);
    expect(new Set(f.get("portcullis_cluster_peers")!.samples.map((s) => s.labels.worker))).toEqual(new Set(["1", "2"]));
  });

  it("a secret removed through one worker is refused by the other on the very next request", async () => {
    const add = await request(srv.url, "POST", "/management/v1/users/machine", admin(), JSON.stringify({ userName: "w-svc", name: "W" }));
    expect(add.status).toBe(200);
    const userId = json(add.text).userId as string;
    // Both workers trust their caches only once they have been in the cluster for 3 s.
    await sleep(3_500);
    let stale = 0;
    for (let i = 0; i < 20; i++) {
      const gen = await request(srv.url, "PUT", `/management/v1/users/${userId}/secret`, admin(), "{}");
      const secret = json(gen.text).clientSecret as string;
      // Two requests, so that the next connection (the removal) goes to the other worker than the last token.
      expect((await token(srv.url, "w-svc", secret)).status).toBe(200);
      expect((await token(srv.url, "w-svc", secret)).status).toBe(200);
      expect((await request(srv.url, "DELETE", `/management/v1/users/${userId}/secret`, admin())).status).toBe(200);
      if ((await token(srv.url, "w-svc", secret)).status !== 401) stale++;
    }
    expect(stale).toBe(0);
    // Both workers issued tokens and refused removed secrets, and both took removals.
    const f = parsePrometheusText((await request(srv.url, "GET", "/debug/metrics")).text);
    for (const worker of ["1", "2"]) {
      expect(valueOf(f, "portcullis_token_requests_total", { worker, result: "issued" }), `worker ${worker}`).toBeGreaterThan(0);
      expect(valueOf(f, "portcullis_token_requests_total", { worker, result: "invalid_client" }), `worker ${worker}`).toBeGreaterThan(0);
      expect(valueOf(f, "portcullis_requests_total", { worker, method: "RemoveMachineSecret", code: "OK" }), `worker ${worker}`).toBeGreaterThan(0);
    }
  });

  it("replaces a worker that dies", async () => {
    const before = children(srv.proc.pid!);
    process.kill(before[0]!, "SIGKILL");
    const after = await until("a replacement worker", () => {
      const now = children(srv.proc.pid!);
      return now.length === 2 && !now.includes(before[0]!) && now;
    });
    expect(after).toContain(before[1]);
    await until("the replacement to be ready", () => (srv.output().match(/"msg":"worker ready"/g) ?? []).length === 3);
    expect(srv.output()).toContain('"msg":"worker exited; starting a replacement"');
    for (let i = 0; i < 4; i++) expect((await request(srv.url, "GET", "/debug/ready")).status).toBe(200);
  });

  it("SIGTERM drains every worker and exits 0", async () => {
    const workers = children(srv.proc.pid!);
    expect(await srv.kill("SIGTERM")).toBe(0);
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
    expect(srv.output()).toContain('"msg":"shutting down: draining every worker"');
  });
});

describe("workers on the embedded store", () => {
  it("says it runs one process and serves", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "portcullis-workers-embedded-"));
    const port = 20000 + Math.floor(Math.random() * 20000);
    const proc = runCli(["start", "--workers", "2"], { PORTCULLIS_PORT: String(port), PORTCULLIS_HOST: "127.0.0.1", PORTCULLIS_DATA_DIR: dataDir, PORTCULLIS_LOG_LEVEL: "info" });
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    try {
      await until("ready", () => out.includes('"msg":"portcullis ready"') || proc.exitCode !== null, 60_000);
      expect(out).toContain("the embedded store runs in one process: --workers 2 needs PostgreSQL (PORTCULLIS_DATABASE_URL); starting one process");
      expect(children(proc.pid!)).toHaveLength(0);
      expect((await request(`http://127.0.0.1:${port}`, "GET", "/debug/ready")).status).toBe(200);
    } finally {
      proc.kill("SIGTERM");
      await new Promise((r) => proc.once("exit", r));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
