// Starting Portcullis servers (child processes of the built dist/) and calling its API for setup.
import { createHash } from "node:crypto";
import { cpSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { freePort, onCleanup, procMemory, spawnNode, stopChild, tempDir, waitHttp } from "./util.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
// BENCH_DIST: another built dist/ to run (comparing two builds with bench/quick.mjs).
export let MAIN = path.join(process.env.BENCH_DIST ? path.resolve(process.env.BENCH_DIST) : path.join(root, "dist"), "cli", "main.js");

/**
 * Copies the freshly built dist/ to a temp directory and runs every server from there, so that a
 * rebuild by someone else during the run (npm test builds too) cannot mix two versions of the code
 * into one report. Returns a fingerprint of what was measured.
 */
export function snapshotDist() {
  const dir = tempDir("dist");
  cpSync(path.join(root, "dist"), path.join(dir, "dist"), { recursive: true });
  cpSync(path.join(root, "package.json"), path.join(dir, "package.json"));
  symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"), "dir");
  MAIN = path.join(dir, "dist", "cli", "main.js");
  const h = createHash("sha256");
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".js")) h.update(path.relative(dir, p)).update(readFileSync(p));
    }
  };
  walk(path.join(dir, "dist"));
  return { dir, distSha256: h.digest("hex").slice(0, 16) };
}
export const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** The bench's own master key: fixed, so the bulk seeder derives the same HMAC key as the server. */
export const MASTERKEY = "portcullis-benchmark-master-key-0123456789abcdef";

/**
 * Rate limits raised far above what this machine can serve: the limiter stays in the measured path
 * (its cost is part of every token request), but never refuses a benchmark request, and every
 * request after a secret removal really checks the credential instead of being turned away early.
 */
export const RATE_LIMIT_ENV = {
  PORTCULLIS_RATE_LIMIT_TOKEN_PER_SECOND: "1000000000",
  PORTCULLIS_RATE_LIMIT_TOKEN_PER_SECOND_PER_ADDRESS: "1000000000",
  PORTCULLIS_RATE_LIMIT_FAILURES_PER_MINUTE: "1000000000",
  PORTCULLIS_RATE_LIMIT_FAILURES_PER_MINUTE_PER_ADDRESS: "1000000000",
};

/**
 * Starts `node dist/cli/main.js start` with its own port. Returns the child, its base URL, the
 * admin PAT and the time from spawn to the first 200 from /debug/ready. `onSpawn(child)` is called
 * right after the spawn (to sample the process while it starts).
 */
export async function startPortcullis({ dataDir, databaseUrl, nodeArgs = [], env = {}, name = "portcullis", onSpawn }) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = spawnNode([MAIN, "start"], {
    name,
    nodeArgs,
    env: {
      PORTCULLIS_PORT: String(port),
      PORTCULLIS_HOST: "127.0.0.1",
      PORTCULLIS_EXTERNAL_URL: base,
      PORTCULLIS_DATA_DIR: dataDir,
      PORTCULLIS_LOG_LEVEL: "warn",
      PORTCULLIS_MASTERKEY: MASTERKEY,
      ...RATE_LIMIT_ENV,
      ...(databaseUrl ? { PORTCULLIS_DATABASE_URL: databaseUrl } : {}),
      ...env,
    },
  });
  onSpawn?.(child);
  await waitHttp(`${base}/debug/ready`, { child, intervalMs: 5 });
  const readyMs = performance.now() - t0;
  let pat;
  try {
    pat = readFileSync(path.join(dataDir, "admin.pat"), "utf8").trim();
  } catch {}
  return {
    child,
    pid: child.pid,
    base,
    port,
    pat,
    readyMs,
    memory: () => procMemory(child.pid),
    stop: () => stopChild(child),
  };
}

/** REST helpers for the setup (not measured). */
export function api(base, pat) {
  const call = async (method, p, body) => {
    const r = await fetch(base + p, {
      method,
      headers: { authorization: `Bearer ${pat}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${p} → ${r.status} ${text}`);
    return text ? JSON.parse(text) : {};
  };
  return {
    call,
    addMachine: async (userName, name = userName) => (await call("POST", "/management/v1/users/machine", { userName, name })).userId,
    setSecret: (id) => call("PUT", `/management/v1/users/${id}/secret`, {}),
    removeSecret: (id) => call("DELETE", `/management/v1/users/${id}/secret`),
    useJwt: (id, name) => call("PUT", `/management/v1/users/${id}/machine`, { name, accessTokenType: "ACCESS_TOKEN_TYPE_JWT" }),
    addPat: (id) => call("POST", `/management/v1/users/${id}/pats`, {}),
    getUser: (id) => call("GET", `/management/v1/users/${id}`),
  };
}

export const basicAuth = (clientId, secret) =>
  "Basic " + Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString("base64");

/** The scope a machine asks for to call an API (no openid: no id_token is signed). */
export const TOKEN_SCOPE = "urn:zitadel:iam:org:project:id:zitadel:aud";
export const TOKEN_BODY = `grant_type=client_credentials&scope=${encodeURIComponent(TOKEN_SCOPE)}`;

/** The load generator's request specs (bench/lib/load.mjs) for a token request and a bearer GET. */
export const tokenRequest = (clientId, secret) => ({
  kind: "static",
  method: "POST",
  path: "/oauth/v2/token",
  headers: { authorization: basicAuth(clientId, secret), "content-type": "application/x-www-form-urlencoded" },
  body: TOKEN_BODY,
});
export const bearerGet = (p, token) => ({ kind: "static", method: "GET", path: p, headers: { authorization: `Bearer ${token}` } });

export async function fetchToken(base, clientId, secret) {
  const r = await fetch(`${base}/oauth/v2/token`, {
    method: "POST",
    headers: { authorization: basicAuth(clientId, secret), "content-type": "application/x-www-form-urlencoded" },
    body: TOKEN_BODY,
  });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`token → ${r.status} ${text}`);
  return { json: JSON.parse(text), text };
}

/**
 * An API application (the usual ZITADEL resource server) and an opaque token meant for it: a project,
 * a BASIC app in it, and a machine's token with the project in its audience. The request is the
 * introspection a resource server makes per call it protects (client_secret_basic).
 */
export async function appIntrospection(base, pat, clientId, secret, tag = "bench") {
  const a = api(base, pat);
  const project = await a.call("POST", "/management/v1/projects", { name: `${tag}-introspected` });
  const app = await a.call("POST", `/management/v1/projects/${project.id}/apps/api`, { name: `${tag}-resource-server` });
  const r = await fetch(`${base}/oauth/v2/token`, {
    method: "POST",
    headers: { authorization: basicAuth(clientId, secret), "content-type": "application/x-www-form-urlencoded" },
    body: `grant_type=client_credentials&scope=${encodeURIComponent(`urn:zitadel:iam:org:project:id:${project.id}:aud`)}`,
  });
  const token = (await r.json()).access_token;
  const request = {
    kind: "static",
    method: "POST",
    path: "/oauth/v2/introspect",
    headers: { authorization: basicAuth(app.clientId, app.clientSecret), "content-type": "application/x-www-form-urlencoded" },
    body: `token=${encodeURIComponent(token)}`,
  };
  const check = await fetch(base + request.path, { method: "POST", headers: request.headers, body: request.body });
  const answer = await check.json();
  if (answer.active !== true) throw new Error(`app introspection setup: ${JSON.stringify(answer)}`);
  return request;
}

/** A fresh PostgreSQL database for one scenario, dropped at the end. */
export async function createDatabase(tag) {
  const name = `portcullis_bench_${tag}_${process.pid}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const drop = async () => {
    const c = new pg.Client({ connectionString: PG_ADMIN_URL });
    await c.connect();
    try {
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await c.end();
    }
  };
  const unregister = onCleanup(drop);
  return {
    name,
    url: url.toString(),
    async drop() {
      unregister();
      await drop();
    },
  };
}
