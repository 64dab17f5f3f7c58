// The API services (every ZITADEL service's descriptors) load on the first request that needs them
// (src/server/http.ts, api-handlers.ts): the server is ready, and answers the OAuth endpoints, without
// them; the first API requests, arriving together, all wait for the same load and are answered.
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, startServerProcess, type ServerProcess } from "./helpers/process.js";
import { freePort } from "./helpers/server.js";

const LOADED = "API services loaded (first API request)";
const count = (text: string, needle: string) => text.split(needle).length - 1;

describe("API services loaded on first use (a server process on the embedded store)", () => {
  let dir: string;
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is ready and answers the OAuth endpoints before loading them, then answers concurrent first API calls in every protocol", async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "portcullis-apiload-"));
    server = await startServerProcess({ PORTCULLIS_DATA_DIR: dir });
    const pat = readFileSync(path.join(dir, "admin.pat"), "utf8").trim();
    const auth = { authorization: `Bearer ${pat}` };

    expect((await fetch(`${server.url}/debug/ready`)).status).toBe(200);
    const userinfo = await fetch(`${server.url}/oidc/v1/userinfo`, { headers: auth });
    expect(userinfo.status).toBe(200);
    const me = (await userinfo.json()) as { sub: string };
    expect((await fetch(`${server.url}/.well-known/openid-configuration`)).status).toBe(200);
    expect(count(server.output(), LOADED)).toBe(0);

    // The first API requests arrive together: REST, Connect (JSON) and an unknown REST path.
    const restCalls = Array.from({ length: 8 }, () => fetch(`${server!.url}/management/v1/users/${me.sub}`, { headers: auth }));
    const connectCalls = Array.from({ length: 4 }, () =>
      fetch(`${server!.url}/zitadel.management.v1.ManagementService/GetUserByID`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ id: me.sub }),
      }),
    );
    const unknown = fetch(`${server.url}/management/v1/no-such-thing`, { headers: auth });
    const answers = await Promise.all([...restCalls, ...connectCalls]);
    for (const r of answers) {
      expect(r.status).toBe(200);
      const body = (await r.json()) as { user?: { id?: string } };
      expect(body.user?.id).toBe(me.sub);
    }
    const notFound = await unknown;
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toMatchObject({ code: 5 });

    // Loaded once, for all of them.
    expect(count(server.output(), LOADED)).toBe(1);
    expect((await fetch(`${server.url}/debug/ready`)).status).toBe(200);
  });
});

describe("a build whose API services cannot load (a server process on the embedded store)", () => {
  const dirs: string[] = [];
  let kill: (() => Promise<unknown>) | undefined;
  afterAll(async () => {
    await kill?.();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("stays up: API calls answer 500 in JSON, /debug/ready turns 503, the OAuth endpoints keep answering", async () => {
    // A copy of the built server whose API chunk throws when it is imported, as a broken install would.
    const build = mkdtempSync(path.join(os.tmpdir(), "portcullis-brokenbuild-"));
    const data = mkdtempSync(path.join(os.tmpdir(), "portcullis-brokenapi-"));
    dirs.push(build, data);
    const dist = path.dirname(path.dirname(CLI));
    cpSync(dist, path.join(build, "dist"), { recursive: true });
    cpSync(path.join(dist, "..", "package.json"), path.join(build, "package.json"));
    symlinkSync(path.join(dist, "..", "node_modules"), path.join(build, "node_modules"), "dir");
    const chunks = readdirSync(path.join(build, "dist", "bundle")).filter((f) => f.startsWith("api-handlers-") && f.endsWith(".js"));
    expect(chunks).toHaveLength(1);
    writeFileSync(path.join(build, "dist", "bundle", chunks[0]!), 'throw new Error("api chunk broken on purpose (test)");\n');

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const proc = spawn(process.execPath, [path.join(build, "dist", "cli", "main.js"), "start"], {
      env: { ...process.env, PORTCULLIS_DATA_DIR: data, PORTCULLIS_PORT: String(port), PORTCULLIS_HOST: "127.0.0.1", PORTCULLIS_EXTERNAL_URL: url, PORTCULLIS_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
    proc.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    kill = async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await exited;
    };
    await expect.poll(() => out.includes('"msg":"portcullis ready"'), { timeout: 60_000, interval: 50 }).toBe(true);

    const pat = readFileSync(path.join(data, "admin.pat"), "utf8").trim();
    const auth = { authorization: `Bearer ${pat}` };
    expect((await fetch(`${url}/debug/ready`)).status).toBe(200);

    // Two API calls at once, then one more: each answers 500 with ZITADEL's internal-error body.
    const first = await Promise.all([
      fetch(`${url}/management/v1/users/me`, { headers: auth }),
      fetch(`${url}/zitadel.management.v1.ManagementService/ListMachineKeys`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: "{}" }),
    ]);
    const again = await fetch(`${url}/management/v1/orgs/me`, { headers: auth });
    for (const r of [...first, again]) {
      expect(r.status).toBe(500);
      expect(r.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await r.json()).toEqual({ code: 13, message: "Errors.Internal (RECOVER)" });
    }
    expect(count(out, "loading the API services failed")).toBe(1);

    // Not ready from now on (a load balancer takes it out), while the process and its OAuth side live on.
    const ready = await fetch(`${url}/debug/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: "not ready" });
    expect((await fetch(`${url}/debug/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/oidc/v1/userinfo`, { headers: auth })).status).toBe(200);
    expect(proc.exitCode).toBeNull();
  });
});
