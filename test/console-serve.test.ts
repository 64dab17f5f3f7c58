// How the server serves the built web console (dist/console) at /ui/console: caching, the
// Content-Security-Policy, and nothing outside the build's files.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { freePort } from "./helpers/server.js";
import { CLI } from "./helpers/process.js";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { startServerProcess } from "./helpers/process.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

describe("/ui/console", () => {
  let s: TestServer;
  beforeAll(async () => {
    if (!existsSync(path.join(root, "dist/console/index.html"))) spawnSync(process.execPath, [path.join(root, "scripts/build.mjs")], { stdio: "inherit" });
    s = await startTestServer();
  });
  afterAll(() => s?.close());

  it("serves index.html uncached with a strict CSP, and hashed assets immutable", async () => {
    const r = await fetch(`${s.url}/ui/console/`);
    expect(r.status).toBe(200);
    expect(r.headers.get("cache-control")).toBe("no-cache");
    const csp = r.headers.get("content-security-policy")!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    const html = await r.text();
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/https?:\/\//);
    const assets = [...html.matchAll(/(?:src|href)="(\/ui\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const a of assets) {
      const ar = await fetch(s.url + a);
      expect(ar.status).toBe(200);
      expect(ar.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(ar.headers.get("content-type")).toMatch(/^(text\/javascript|text\/css)/);
    }
    // Routes of the single page answer with index.html; the bare prefix redirects.
    expect((await fetch(`${s.url}/ui/console/users/1`)).status).toBe(200);
    const bare = await fetch(`${s.url}/ui/console`, { redirect: "manual" });
    expect(bare.status).toBe(308);
    expect(bare.headers.get("location")).toBe("/ui/console/");
  });

  it("answers 404 for anything outside the build's assets and 405 for writes", async () => {
    for (const p of ["/ui/console/assets/nope.js", "/ui/console/assets/..%2F..%2Fcli%2Fmain.js", "/ui/console/assets/%2e%2e%2findex.html", "/ui/console/assets/"]) {
      const r = await fetch(s.url + p);
      expect(r.status, p).toBe(404);
    }
    expect((await fetch(`${s.url}/ui/console/`, { method: "POST", body: "x" })).status).toBe(405);
  });

  it("keeps the initial bundle within 250 KB gzipped (measured by the build)", () => {
    const size = JSON.parse(readFileSync(path.join(root, "dist/console/bundle-size.json"), "utf8")) as { initialGzipBytes: number };
    expect(size.initialGzipBytes).toBeGreaterThan(10_000);
    expect(size.initialGzipBytes).toBeLessThanOrEqual(250 * 1024);
  });

  it("the first start on a pipe (a log collector) prints no credential, only where the console is and how to get a link", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "portcullis-first-link-"));
    const p = await startServerProcess({ PORTCULLIS_DATA_DIR: dataDir });
    try {
      expect(p.output()).toContain(`Web console: ${p.url}/ui/console/ (a single-use sign-in link: portcullis console login)`);
      expect(p.output()).not.toContain("#signin=");
      // No PAT was minted besides the admin's own.
      const pat = readFileSync(path.join(dataDir, "admin.pat"), "utf8").trim();
      const me = (await (await fetch(`${p.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${pat}` } })).json()) as { sub: string };
      const pats = await fetch(`${p.url}/management/v1/users/${me.sub}/pats/_search`, { method: "POST", headers: { authorization: `Bearer ${pat}`, "content-type": "application/json" }, body: "{}" });
      expect(((await pats.json()) as { result: unknown[] }).result).toHaveLength(1);
    } finally {
      await p.kill();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  const hasScript = spawnSync("script", ["--version"]).status === 0;
  it.skipIf(!hasScript)("the first start on a terminal prints a short-lived sign-in link beside the admin PAT", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "portcullis-first-link-"));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { ...process.env, PORTCULLIS_DATA_DIR: dataDir, PORTCULLIS_PORT: String(port), PORTCULLIS_HOST: "127.0.0.1", PORTCULLIS_EXTERNAL_URL: url };
    const proc = spawn("script", ["-qec", `${process.execPath} ${CLI} start`, "/dev/null"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
    try {
      await expect.poll(() => /Web console \(single use, for 10 minutes\): +(\S+)/.exec(out), { timeout: 60_000, interval: 200 }).not.toBeNull();
      const link = new URL(/Web console \(single use, for 10 minutes\): +(\S+)/.exec(out)![1]!);
      expect(link.origin + link.pathname).toBe(`${url}/ui/console/`);
      const [tokenId, token] = link.hash.replace(/^#signin=/, "").split(/\.(.*)/s) as [string, string];
      // An ordinary PAT of the admin, expiring within 10 minutes.
      const me = await fetch(`${url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${token}` } });
      expect(me.status).toBe(200);
      const sub = ((await me.json()) as { sub: string }).sub;
      const pats = await fetch(`${url}/management/v1/users/${sub}/pats/_search`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "{}" });
      const row = ((await pats.json()) as { result: { id: string; expirationDate: string }[] }).result.find((r) => r.id === tokenId)!;
      const minutes = (Date.parse(row.expirationDate) - Date.now()) / 60_000;
      expect(minutes).toBeGreaterThan(5);
      expect(minutes).toBeLessThanOrEqual(10);
    } finally {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
