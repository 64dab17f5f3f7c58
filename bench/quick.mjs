// A quick loop for working on the hot paths (not the benchmark of record: that is `npm run bench`).
//
//   npm run build && node bench/quick.mjs [target ...] [--profile] [--duration S]
//
// Targets: raw, opaque, jwt, userinfo, getuser, introspect-app, writes (secret cycles: PUT then DELETE
// the secret of 100 machines; default: raw opaque userinfo getuser). Starts one
// Portcullis on a fresh PGlite directory from dist/, measures each target with the benchmark's load
// generator and prints req/s, p50/p99 and server CPU µs per request next to the raw ceiling. With
// --profile, each Portcullis target runs again under --cpu-prof and the top functions are printed
// (each profile is kept as $TMPDIR/quick-<target>.cpuprofile for bench/lib/profile-tree.mjs).
import { copyFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { api, appIntrospection, bearerGet, fetchToken, startPortcullis, tokenRequest } from "./lib/portcullis.mjs";
import { latestProfile, summarizeProfile } from "./lib/profile.mjs";
import { measure, settings, summary } from "./lib/runner.mjs";
import { cleanupAll, freePort, log, spawnNode, stopChild, tempDir, waitHttp } from "./lib/util.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const valueOf = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const duration = Number(valueOf("--duration", 5));
settings.duration = duration;
settings.warmup = 2;
const targets = args.filter((a, i) => !a.startsWith("--") && args[i - 1] !== "--duration");
const wanted = new Set(targets.length ? targets : ["raw", "opaque", "userinfo", "getuser"]);


async function writeUsers(a) {
  const ids = [];
  for (let i = 0; i < 100; i += 10) ids.push(...(await Promise.all(Array.from({ length: 10 }, (_, k) => a.addMachine(`quick-write-${i + k}`)))));
  return ids;
}

async function main() {
  const dataDir = tempDir("quick");
  // QUICK_NODE_ARGS: extra node flags for the measured server (e.g. "--log-deopt --logfile=/tmp/v8.log").
  const srv = await startPortcullis({ dataDir, name: "portcullis-quick", nodeArgs: (process.env.QUICK_NODE_ARGS ?? "").split(" ").filter(Boolean) });
  const a = api(srv.base, srv.pat);
  const opaqueId = await a.addMachine("quick-opaque");
  const opaque = await a.setSecret(opaqueId);
  const jwtId = await a.addMachine("quick-jwt");
  await a.useJwt(jwtId, "quick-jwt");
  const jwt = await a.setSecret(jwtId);
  const patUserId = await a.addMachine("quick-pat");
  const pat = (await a.addPat(patUserId)).token;
  const sample = await fetchToken(srv.base, opaque.clientId, opaque.clientSecret);
  const requests = {
    opaque: tokenRequest(opaque.clientId, opaque.clientSecret),
    jwt: tokenRequest(jwt.clientId, jwt.clientSecret),
    userinfo: bearerGet("/oidc/v1/userinfo", pat),
    getuser: bearerGet(`/management/v1/users/${patUserId}`, srv.pat),
    // Introspection by an API application (client_secret_basic) of a token meant for its project.
    ...(wanted.has("introspect-app") ? { "introspect-app": await appIntrospection(srv.base, srv.pat, opaque.clientId, opaque.clientSecret, "quick") } : {}),
    ...(wanted.has("writes") ? { writes: { kind: "cycle", headers: { authorization: `Bearer ${srv.pat}`, "content-type": "application/json" }, users: await writeUsers(a) } } : {}),
  };
  const rows = [];
  if (wanted.has("raw")) {
    const port = await freePort();
    const profDir = tempDir("quick-prof-raw");
    const nodeArgs = flag("--profile") ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [];
    const child = spawnNode([path.join(here, "servers", "raw-http.mjs")], { name: "raw-http", nodeArgs, env: { PORT: String(port), TOKEN_LENGTH: String(sample.json.access_token.length) } });
    await waitHttp(`http://127.0.0.1:${port}/`, { child });
    let first;
    for (const [name, req] of [["raw-post", requests.opaque], ["raw-get", requests.userinfo]]) {
      const r = await measure(`http://127.0.0.1:${port}`, req, { serverPids: [child.pid] });
      first ??= r;
      rows.push([name, r]);
      log(`${name}: ${summary(r)}`);
    }
    await stopChild(child);
    if (flag("--profile")) printProfile("raw-post", first, profDir);
  }
  for (const name of Object.keys(requests)) {
    if (!wanted.has(name)) continue;
    const r = await measure(srv.base, requests[name], { serverPids: [srv.pid] });
    rows.push([name, r]);
    log(`${name}: ${summary(r)}`);
  }
  await srv.stop();
  if (flag("--profile")) {
    for (const name of Object.keys(requests)) {
      if (!wanted.has(name)) continue;
      const dir = tempDir(`quick-prof-${name}`);
      const p = await startPortcullis({ dataDir, nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`], name: `portcullis-prof-${name}` });
      const run = await measure(p.base, requests[name], { serverPids: [p.pid] });
      await p.stop();
      printProfile(name, run, dir);
    }
  }
  console.log("\ntarget          req/s    p50 ms  p99 ms  server µs/req");
  for (const [name, r] of rows) {
    const per = r.cpu ? `${r.cpu.serverUsPerRequest} (${r.cpu.serverUserUsPerRequest}+${r.cpu.serverSysUsPerRequest})` : "";
    console.log(`${name.padEnd(14)} ${String(Math.round(r.rps)).padStart(7)}  ${r.latencyMs.p50.toFixed(2).padStart(6)}  ${r.latencyMs.p99.toFixed(2).padStart(6)}  ${per}`);
  }
}

function printProfile(name, run, dir) {
  const file = latestProfile(dir);
  // Kept for a closer look (bench/lib/profile-tree.mjs prints the call tree).
  copyFileSync(file, path.join(os.tmpdir(), `quick-${name}.cpuprofile`));
  writeFileSync(path.join(os.tmpdir(), `quick-${name}.window.json`), JSON.stringify({ window: run.windowUs, requests: run.rps * ((run.windowUs.toUs - run.windowUs.fromUs) / 1e6) }));
  const s = summarizeProfile(file, { window: run.windowUs, top: Number(valueOf("--top", 25)) });
  const n = run.rps * (s.wallMs / 1000);
  const us = (ms) => ((ms * 1000) / n).toFixed(1);
  console.log(`\n== profile ${name}: ${Math.round(run.rps)} req/s under the profiler, busy ${us(s.busyMs)} µs/request`);
  console.log("-- self");
  for (const f of s.topSelf) console.log(`${us(f.ms).padStart(6)}  ${f.name}`);
  if (s.portcullisInclusive.length) console.log("-- portcullis inclusive");
  for (const f of s.portcullisInclusive) console.log(`${us(f.ms).padStart(6)}  ${f.name}`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(cleanupAll);
