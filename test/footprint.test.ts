import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { rest, tokenRequest } from "./helpers/clients.js";
import { CLI } from "./helpers/process.js";
import { freePort } from "./helpers/server.js";

// The embedded store in a small container: a memory limit of 512 MiB must not kill Portcullis on
// its first start or on a restart. An address-space limit (prlimit --as) cannot stand in for it:
// V8 reserves several GiB of address space for each WebAssembly memory. So the resident memory is
// read from /proc: the summed RSS of the server and any child process, sampled every 20 ms from
// the spawn until ready, and the server's own VmHWM (its peak over its whole life) after a few
// requests.

const LIMIT = 512 * 2 ** 20;
/**
 * The server's own peak as measured (0.18–0.22 GiB on Node 20 and 24) with headroom. Past it, the
 * 512 MiB container is at risk long before the limit test fails: V8 tiering PGlite's module up
 * with TurboFan (Node 24 ignored the run-time --liftoff-only alone) took it to 0.4–0.8 GiB.
 */
const OWN_BUDGET = 320 * 2 ** 20;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const hasProc = existsSync("/proc/self/status");
const cleanup: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});
const tmp = (prefix: string) => {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
};

const statusKb = (pid: number, key: string): number => {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // exited meanwhile
  }
};

/** The process and its descendants. */
function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const kids = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, "utf8").trim();
      if (kids) out.push(...kids.split(/\s+/).map(Number));
    } catch {
      /* gone */
    }
  }
  return out;
}

interface Started {
  proc: ChildProcess;
  url: string;
  output: () => string;
  /** Peak summed RSS of the process tree from spawn to ready, and the most processes seen. */
  treePeak: number;
  processes: number;
  stop(): Promise<unknown>;
}

async function start(cli: string, dataDir: string): Promise<Started> {
  const port = await freePort();
  const proc = spawn(process.execPath, [cli, "start"], {
    env: { ...process.env, PORTCULLIS_PORT: String(port), PORTCULLIS_HOST: "127.0.0.1", PORTCULLIS_EXTERNAL_URL: `http://127.0.0.1:${port}`, PORTCULLIS_DATA_DIR: dataDir, PORTCULLIS_LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    return exited;
  };
  cleanup.push(stop);
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  let treePeak = 0;
  let processes = 1;
  let ready = false;
  const sampler = (async () => {
    while (!ready && proc.exitCode === null) {
      const pids = tree(proc.pid!);
      processes = Math.max(processes, pids.length);
      treePeak = Math.max(treePeak, pids.reduce((a, p) => a + statusKb(p, "VmRSS"), 0));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in time:\n${out}`)), 170_000);
    proc.stdout!.on("data", () => {
      if (out.includes('"msg":"portcullis ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${String(code)}) before ready:\n${out}`));
    });
  });
  ready = true;
  await sampler;
  return { proc, url: `http://127.0.0.1:${port}`, output: () => out, treePeak, processes, stop };
}

/** A few requests that touch the store and the token path. */
async function exercise(s: Started, dataDir: string): Promise<void> {
  const pat = readFileSync(path.join(dataDir, "admin.pat"), "utf8").trim();
  expect((await rest(s.url, "GET", "/management/v1/orgs/me", { token: pat })).status).toBe(200);
  const created = await rest(s.url, "POST", "/management/v1/users/machine", { token: pat, body: { userName: `fp-${Date.now()}`, name: "fp" } });
  expect(created.status).toBe(200);
  const userId = (created.json as { userId: string }).userId;
  const secret = await rest(s.url, "PUT", `/management/v1/users/${userId}/secret`, { token: pat, body: {} });
  const { clientId, clientSecret } = secret.json as { clientId: string; clientSecret: string };
  // Reads that run queries in the store, enough for V8 to tier hot WebAssembly functions up if it
  // is allowed to (it must not be: see useBaselineWasmCompiler).
  for (let i = 0; i < 20; i++) expect((await rest(s.url, "POST", "/management/v1/users/_search", { token: pat, body: {} })).status).toBe(200);
  for (let i = 0; i < 20; i++) expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: "urn:zitadel:iam:org:project:id:zitadel:aud" }, { id: clientId, secret: clientSecret })).status).toBe(200);
}

describe.skipIf(!hasProc)("embedded store footprint (/proc)", () => {
  it("starts for the first time and restarts within 512 MiB of resident memory", { timeout: 400_000 }, async () => {
    const dataDir = tmp("portcullis-footprint-");
    for (const phase of ["first start", "restart"]) {
      const s = await start(CLI, dataDir);
      if (phase === "first start") expect(s.output()).toContain("First start");
      await exercise(s, dataDir);
      const peak = Math.max(s.treePeak, statusKb(s.proc.pid!, "VmHWM"));
      expect({ phase, peakMiB: Math.round(peak / 2 ** 20), under512: peak < LIMIT }).toMatchObject({ phase, under512: true });
      const own = statusKb(s.proc.pid!, "VmHWM");
      expect({ phase, ownMiB: Math.round(own / 2 ** 20), withinBudget: own < OWN_BUDGET }).toMatchObject({ phase, withinBudget: true });
      expect(await s.stop()).toBe(0);
    }
    expect(readdirSync(dataDir).filter((n) => n.startsWith("pgdata.")).length).toBe(0);
  });

  it("without the build's template, creates the database in a child process and keeps the server small", { timeout: 400_000 }, async () => {
    // dist/ without pglite-template, as a build that did not make one would leave it.
    const copy = tmp("portcullis-dist-");
    cpSync(path.join(root, "dist"), path.join(copy, "dist"), { recursive: true, filter: (src) => !src.includes(`${path.sep}pglite-template`) });
    cpSync(path.join(root, "package.json"), path.join(copy, "package.json"));
    symlinkSync(path.join(root, "node_modules"), path.join(copy, "node_modules"), "dir");
    const dataDir = tmp("portcullis-footprint-initdb-");
    const s = await start(path.join(copy, "dist", "cli", "main.js"), dataDir);
    expect(s.processes).toBeGreaterThan(1); // initdb ran in a child
    await exercise(s, dataDir);
    // initdb's memory left with the child: the server itself only reopened the database.
    const own = statusKb(s.proc.pid!, "VmHWM");
    expect({ peakMiB: Math.round(own / 2 ** 20), under512: own < LIMIT, withinBudget: own < OWN_BUDGET }).toMatchObject({ under512: true, withinBudget: true });
    expect(await s.stop()).toBe(0);
    expect(readdirSync(dataDir).sort()).toEqual(["admin.pat", "pgdata"]);
  });
});
