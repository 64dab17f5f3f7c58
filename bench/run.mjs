// `npm run bench`: Portcullis against its references, on this machine, in one run.
// See docs/benchmarks.md for what is measured and how; results go to bench/results/latest.json
// and to the generated section of docs/benchmarks.md.
//
// Every ratio target is the median of BENCH_ROUNDS A-B-A rounds measured in this run (target,
// reference, target; bench/lib/ratios.mjs), with the spread (min–max) of the rounds' ratios.
//
// Environment:
//   BENCH_DURATION      seconds per measurement (default 5)
//   BENCH_WARMUP        seconds of warm-up before each (default 2)
//   BENCH_ROUNDS        A-B-A rounds per ratio target (default 3, at least 3 for a figure of record)
//   BENCH_LARGE_USERS   users in the large store (default 1000000)
//   BENCH_WORKING_SET   distinct users a scale load cycles through (default 1000)
//   BENCH_ONLY          comma list of sections: footprint,pglite,pg,scale,workers,metrics (default all but metrics; refs = pglite)
//   BENCH_METRICS_ROUNDS alternating on/off measurements per side in the metrics section (default 3)
//   BENCH_FOOTPRINT_LOAD seconds of token load in the footprint section, per start (default 60)
//   BENCH_RETRIES       measure a single (non-ratio) run again when other processes took > 0.25 cores (default 1)
//   BENCH_QUIET_WAIT    seconds to wait for a quiet machine before each measurement (default 3)
//   BENCH_BURN_STEPS    µs of extra CPU per request for the raw-ceiling budget diagnostic (default 10,30)
//   BENCH_COLD_SET      distinct users of the cold-cache token run (default 100000)
//   BENCH_PROFILE       0: do not profile missed targets (default 1)
//   BENCH_PROFILE_DURATION seconds per profile (default 6)
//   BENCH_NO_WRITE      1: do not write bench/results/latest.json and docs/benchmarks.md
//   BENCH_PG_URL        admin URL of the PostgreSQL to create databases on (default postgres://postgres@127.0.0.1:5432/postgres)
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import { api, basicAuth, bearerGet, createDatabase, snapshotDist, startPortcullis, TOKEN_BODY, tokenRequest } from "./lib/portcullis.mjs";
import { latestProfile, summarizeProfile } from "./lib/profile.mjs";
import { startWaitSampler } from "./lib/pg-waits.mjs";
import { evaluateTargets, writeReport } from "./lib/report.mjs";
import { measure, runChild, settings, summary, waitQuiet } from "./lib/runner.mjs";
import { measureGroup, printRatioTable } from "./lib/ratios.mjs";
import { exchangeGroup, jwtGroup, pgliteWritesGroup, pgWritesGroup, readsGroup, setupMain, startRaw, tokenGroup } from "./lib/ratio-groups.mjs";
import { credentialsOf, seedMachines, storeCounts } from "./lib/seed.mjs";
import { footprintSection } from "./lib/footprint.mjs";
import { metricsCostSection } from "./lib/metrics-cost.mjs";
import { workersSection } from "./lib/workers.mjs";
import { cleanupAll, log, machineInfo, removeTempDir, round, tempDir } from "./lib/util.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const env = process.env;
const LARGE = Number(env.BENCH_LARGE_USERS ?? 1_000_000);
const SMALL = 1000;
const WORKING_SET = Number(env.BENCH_WORKING_SET ?? 1000);
const ONLY = new Set((env.BENCH_ONLY ?? "footprint,pglite,pg,scale,workers").split(",").map((s) => (s.trim() === "refs" ? "pglite" : s.trim())));
const ROUNDS = Math.max(1, Number(env.BENCH_ROUNDS ?? 3));
const FOOTPRINT_LOAD = Number(env.BENCH_FOOTPRINT_LOAD ?? 60);
const PROFILE = env.BENCH_PROFILE !== "0";
const PROFILE_DURATION = Number(env.BENCH_PROFILE_DURATION ?? 6);
const RETRIES = Number(env.BENCH_RETRIES ?? 1);
const QUIET_WAIT_MS = Number(env.BENCH_QUIET_WAIT ?? 3) * 1000;
/** A measurement during which other processes took more than this many cores is measured again. */
const NOISY = 0.25;
/** > 50 connections: every connection cycles a user no other connection holds. */
const WRITE_USERS = 100;
/** Extra µs of CPU per request for the raw-ceiling budget diagnostic. */
const BURN_STEPS = (env.BENCH_BURN_STEPS ?? "10,30").split(",").filter(Boolean).map(Number);
/** Distinct users of the cold-cache token run on the large store. */
const COLD_SET = Number(env.BENCH_COLD_SET ?? 100_000);
const SALT = `bench-${Date.now()}`;

const results = {
  meta: {
    command: commandLine(),
    date: new Date().toISOString(),
    machine: machineInfo(),
    settings: { ...settings, rounds: ROUNDS, pipelining: 1, keepAlive: true, largeUsers: LARGE, smallUsers: SMALL, workingSet: WORKING_SET, footprintLoadSeconds: FOOTPRINT_LOAD, sections: [...ONLY] },
  },
  runs: {},
  ratioGroups: {},
  references: {},
  scale: {},
  stale: {},
};
/** Scenarios that can be re-run under --cpu-prof if one of their targets is missed. */
const profileable = {};
const t0 = performance.now();

function commandLine() {
  const vars = Object.keys(process.env)
    .filter((k) => k.startsWith("BENCH_"))
    .sort()
    .map((k) => `${k}=${process.env[k]}`);
  return [...vars, "npm run bench"].join(" ");
}

/**
 * One target: wait for a quiet machine (bounded), measure; if other processes took more than
 * NOISY cores meanwhile, measure again (BENCH_RETRIES times) and keep the least disturbed attempt.
 */
async function record(name, url, request, opts) {
  let r;
  let attempts = 0;
  for (let attempt = 0; ; attempt++) {
    attempts++;
    const quiet = await waitQuiet(QUIET_WAIT_MS);
    log(`measure ${name}${attempt ? ` (attempt ${attempt + 1})` : ""}${quiet.quiet ? "" : ` — machine busy (${quiet.busy} cores) after waiting ${Math.round(quiet.waitedMs / 1000)} s`} ...`);
    const a = await measure(url, request, opts);
    a.attempt = attempt + 1;
    a.quietBefore = quiet;
    log(`  ${name}: ${summary(a)}`);
    if (!r || (a.cpu?.other ?? 0) < (r.cpu?.other ?? 0)) r = a;
    if ((a.cpu?.other ?? 0) <= NOISY || attempt >= (opts?.retries ?? RETRIES)) break;
    log(`  ${name}: other processes took ${a.cpu.other} cores; measuring again`);
  }
  r.attempts = attempts;
  if (r.non2xx > 0 || r.errors > 0) log(`  WARNING ${name}: ${r.non2xx} non-2xx ${JSON.stringify(r.statusCodes)}, ${r.errors} errors`);
  results.runs[name] = r;
  return r;
}


async function inChunks(items, size, fn) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

/** A measurement of a ratio round: never repeated (a disturbed round is one of several; the median decides). */
const roundRecord = (label, base, request, opts) => record(label, base, request, { ...opts, retries: 0 });

/** Measures a ratio group (A-B-A rounds, bench/lib/ratios.mjs) and keeps it in the results. */
async function group(def) {
  const g = await measureGroup(def, ROUNDS);
  results.ratioGroups[g.name] = g;
  log(`group ${g.name}: ${g.sequence.length} measurements in ${g.seconds} s`);
  return g;
}

/** The measurement of `key` in a group with the median throughput (for informational rows). */
function medianRun(g, key) {
  const xs = (g?.sequence ?? []).filter((m) => m.key === key).map((m) => m.result).sort((a, b) => a.rps - b.rps);
  return xs[Math.floor((xs.length - 1) / 2)];
}

// ---------------------------------------------------------------------------------------------
// Portcullis on PGlite (the default store): the ratio groups, then diagnostics and stale accepts.
// ---------------------------------------------------------------------------------------------

async function pgliteSection() {
  const ctx = await setupMain({ writeUsers: WRITE_USERS });
  const { srv } = ctx;
  results.meta.pgliteFirstReadyMs = round(srv.readyMs);
  await tokenGroup(ctx, roundRecord, group);
  await readsGroup(ctx, roundRecord, group);
  await jwtGroup(ctx, roundRecord, group);
  await exchangeGroup(ctx, roundRecord, group);
  await pgliteWritesGroup(ctx, roundRecord, group);
  results.references.rawPost = medianRun(results.ratioGroups.token, "raw-post");
  results.references.rawGet = medianRun(results.ratioGroups.reads, "raw-get");
  results.references.oidcProvider = medianRun(results.ratioGroups.token, "oidc-provider");
  results.references.insertBoundPglite = medianRun(results.ratioGroups["pglite-writes"], "insert-bound");
  const start = { dataDir: ctx.dataDir };
  profileable.pgliteOpaque = { start, request: ctx.requests.opaque };
  profileable.pgliteJwt = { start, request: ctx.requests.jwt };
  profileable.pgliteExchange = { start, request: ctx.requests.exchange };
  profileable.pgliteUserinfo = { start, request: ctx.requests.userinfo };
  profileable.pgliteGetUser = { start, request: ctx.requests.getuser };
  profileable.pgliteWrites = { start, request: ctx.requests.cycles };
  profileable.rawPost = { startServer: (nodeArgs) => startRaw(ctx.tokenLength, nodeArgs), request: ctx.requests.opaque };

  // Diagnostic: the raw server burning a fixed amount of CPU per request before answering. How
  // throughput falls with per-request work on this machine, whatever the work is: what a target
  // relative to the raw ceiling leaves as a budget.
  results.references.rawBurn = {};
  for (const us of BURN_STEPS) {
    const b = await startRaw(ctx.tokenLength, [], us);
    results.references.rawBurn[us] = await record(`raw-ceiling-post+${us}us`, b.base, ctx.requests.opaque, { serverPids: [b.pid] });
    await b.stop();
  }
  // The signing bound on every core of this machine (diagnostic; the target uses 1 process).
  const signSpec = { claims: ctx.jwtClaims, kid: ctx.jwtKid, seconds: settings.duration, warmup: 1 };
  await waitQuiet(QUIET_WAIT_MS);
  log("measure RS256 signing bound (2 processes) ...");
  const two = await Promise.all([runChild("sign-bound.mjs", signSpec), runChild("sign-bound.mjs", signSpec)]);
  const one = medianRun(results.ratioGroups.jwt, "sign-rs256");
  results.references.signing = { onePerSecond: one?.perSecond, twoProcessesPerSecond: two.reduce((a, r) => a + r.perSecond, 0), tokenLength: two[0].tokenLength, cpuCoresOne: one?.cpuCores };
  // The token-exchange bound for both subject-token algorithms (the exchange group measures ES256).
  results.references.verifySign = {};
  for (const alg of ["RS256", "ES256"]) {
    await waitQuiet(QUIET_WAIT_MS);
    results.references.verifySign[alg] = await runChild("verify-sign-bound.mjs", { ...signSpec, verifyAlg: alg });
    log(`  verify ${alg} + sign RS256 bound: ${Math.round(results.references.verifySign[alg].perSecond)}/s`);
  }

  log("stale-accept check, PGlite, one instance ...");
  results.stale.pgliteSingle = await staleCheck(srv.base, srv.base, srv.pat, ctx.staleId);
  const liteMem = srv.memory();
  results.meta.pgliteRssAfterBytes = liteMem.rss;
  results.meta.pglitePeakRssBytes = liteMem.hwm;
  await srv.stop();
}

async function eventsPerUser(url, ids) {
  const pg = (await import("pg")).default;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query(
      "SELECT avg(n)::float AS avg, max(n)::int AS max FROM (SELECT count(*) AS n FROM events WHERE aggregate_type = 'user' AND aggregate_id = ANY($1) GROUP BY aggregate_id) t",
      [ids],
    );
    return { users: ids.length, avgEvents: round(rows[0].avg, 1), maxEvents: rows[0].max };
  } finally {
    await c.end();
  }
}

async function staleCheck(writer, reader, pat, userId) {
  const rounds = 3;
  const res = await runChild("stale.mjs", {
    writer,
    reader,
    pat,
    userId,
    rounds,
    roundSeconds: Math.max(2, Math.min(4, settings.duration / 2)),
    connections: settings.connections,
    tokenBody: TOKEN_BODY,
  });
  log(`  stale accepts: ${res.staleAccepts} (accepted before removal ${res.okBefore}, refused after ${res.refusedAfter})`);
  return res;
}

// ---------------------------------------------------------------------------------------------
// Portcullis on PostgreSQL: write cycles, the insert bound, stale accepts on one and two instances.
// ---------------------------------------------------------------------------------------------

async function pgSection() {
  const db = await createDatabase("pg");
  const dataDir = tempDir("pg");
  log(`starting Portcullis on PostgreSQL (${db.name})`);
  const srv = await startPortcullis({ dataDir, databaseUrl: db.url, name: "portcullis-pg" });
  const a = api(srv.base, srv.pat);
  const writeUsers = await inChunks(Array.from({ length: WRITE_USERS }, (_, i) => `bench-write-${i}`), 10, (n) => a.addMachine(n));
  const staleId = await a.addMachine("bench-stale");
  // Informational: the same single-client token request as on PGlite; the token path reads no
  // table, so any difference is what the store adapter costs the process.
  const opaque = await a.setSecret(await a.addMachine("bench-opaque"));
  await record("portcullis-pg-token-opaque", srv.base, tokenRequest(opaque.clientId, opaque.clientSecret), { serverPids: [srv.pid], dbName: db.name });
  const patUserId = await a.addMachine("bench-pat");
  const pat = (await a.addPat(patUserId)).token;
  await record("portcullis-pg-userinfo-pat", srv.base, bearerGet("/oidc/v1/userinfo", pat), { serverPids: [srv.pid], dbName: db.name });
  const cycle = { kind: "cycle", headers: { authorization: `Bearer ${srv.pat}`, "content-type": "application/json" }, users: writeUsers };
  // Secret cycles against the insert bound on the same database, A-B-A; the server idles during the bound.
  await pgWritesGroup({ srv, db, cycle }, roundRecord, group);
  results.references.insertBoundPg = medianRun(results.ratioGroups["pg-writes"], "insert-bound");
  profileable.pgWrites = { start: { dataDir, databaseUrl: db.url }, dbName: db.name, request: cycle };
  // How long the written aggregates' histories had become (every write reloads its aggregate).
  results.writeUsersHistory = await eventsPerUser(db.url, writeUsers);

  log("stale-accept check, PostgreSQL, one instance ...");
  results.stale.pgSingle = await staleCheck(srv.base, srv.base, srv.pat, staleId);
  log("stale-accept check, PostgreSQL, two instances (remove on one, load the other) ...");
  const second = await startPortcullis({ dataDir: tempDir("pg-second"), databaseUrl: db.url, name: "portcullis-pg-2" });
  results.stale.pgTwoInstances = await staleCheck(srv.base, second.base, srv.pat, staleId);
  await second.stop();
  await srv.stop();

  // Diagnostic, not a target's reference: the same loop with a pg_notify in each transaction, as
  // every Portcullis commit sends one (NOTIFY takes a database-wide lock at commit).
  await waitQuiet(QUIET_WAIT_MS);
  log("measure insert-transaction loop with pg_notify (diagnostic) ...");
  results.references.insertNotifyPg = await runChild("insert-bound.mjs", {
    kind: "pg",
    url: db.url,
    poolSize: 10,
    concurrency: settings.connections,
    duration: settings.duration,
    warmup: settings.warmup,
    notify: true,
  });
  log(`  PostgreSQL insert + pg_notify: ${Math.round(results.references.insertNotifyPg.tps)} tx/s`);
  return db;
}

// ---------------------------------------------------------------------------------------------
// Scale: 1,000 and 1,000,000 machine users in a PostgreSQL store (bulk-seeded with SQL).
// ---------------------------------------------------------------------------------------------

function workingSet(total) {
  const n = Math.min(WORKING_SET, total);
  const stride = total / n;
  return Array.from({ length: n }, (_, k) => 1 + Math.floor(k * stride + ((k * 7919) % Math.max(1, Math.floor(stride)))));
}

async function scalePoint(label, db, dataDir, users, cold = false) {
  log(`starting Portcullis on ${users} users (time to ready) ...`);
  const srv = await startPortcullis({ dataDir, databaseUrl: db.url, name: `portcullis-${label}` });
  const set = workingSet(users).map((i) => credentialsOf(SALT, i));
  const pids = [srv.pid];
  const opts = { serverPids: pids, dbName: db.name };
  const token = {
    kind: "rotate",
    method: "POST",
    path: "/oauth/v2/token",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: TOKEN_BODY,
    variants: set.map((c) => ({ headers: { authorization: basicAuth(c.userName, c.secret) } })),
  };
  const userinfo = { kind: "rotate", method: "GET", path: "/oidc/v1/userinfo", headers: {}, variants: set.map((c) => ({ headers: { authorization: `Bearer ${c.pat}` } })) };
  const getUser = {
    kind: "rotate",
    method: "GET",
    path: `/management/v1/users/${set[0].userId}`,
    headers: { authorization: `Bearer ${srv.pat}` },
    variants: set.map((c) => ({ path: `/management/v1/users/${c.userId}` })),
  };
  const out = { users, readyMs: round(srv.readyMs), workingSet: set.length };
  out.token = await record(`portcullis-pg-${label}-token-opaque`, srv.base, token, opts);
  out.userinfo = await record(`portcullis-pg-${label}-userinfo-pat`, srv.base, userinfo, opts);
  out.getUser = await record(`portcullis-pg-${label}-getuserbyid-pat`, srv.base, getUser, opts);
  const mem = srv.memory();
  out.rssBytes = mem.rss;
  out.peakRssBytes = mem.hwm;
  if (cold) {
    // Informational: each request a user not asked for before (no cache entry), over COLD_SET
    // users spread over the store: the database fallback of the token path, and the memory the
    // cache then holds.
    const n = Math.min(COLD_SET, users);
    const stride = users / n;
    const coldSet = Array.from({ length: n }, (_, k) => credentialsOf(SALT, 1 + Math.floor(k * stride + stride / 2)));
    out.tokenCold = await record(`portcullis-pg-${label}-token-opaque-cold`, srv.base, { ...token, variants: coldSet.map((c) => ({ headers: { authorization: basicAuth(c.userName, c.secret) } })) }, { ...opts, warmup: 0, retries: 0 });
    out.tokenCold.distinctUsers = n;
    const m2 = srv.memory();
    out.rssAfterColdBytes = m2.rss;
    out.peakRssAfterColdBytes = m2.hwm;
  }
  log(`  ${label}: ready ${round(srv.readyMs)} ms, RSS ${round(mem.rss / 2 ** 20, 1)} MiB (peak ${round(mem.hwm / 2 ** 20, 1)} MiB)${out.rssAfterColdBytes ? `, after the cold run ${round(out.rssAfterColdBytes / 2 ** 20, 1)} MiB` : ""}`);
  await srv.stop();
  const start = { dataDir, databaseUrl: db.url };
  profileable[`scale-${label}-token`] = { start, dbName: db.name, request: token };
  profileable[`scale-${label}-userinfo`] = { start, dbName: db.name, request: userinfo };
  profileable[`scale-${label}-getuser`] = { start, dbName: db.name, request: getUser };
  profileable[`scale-${label}-start`] = { start, startOnly: true };
  return out;
}

async function scaleSection() {
  const db = await createDatabase("scale");
  const dataDir = tempDir("scale");
  log(`bootstrapping a PostgreSQL store for the scale runs (${db.name})`);
  const boot = await startPortcullis({ dataDir, databaseUrl: db.url, name: "portcullis-scale-boot" });
  await boot.stop();

  log(`seeding ${SMALL} machine users ...`);
  const s1 = await seedMachines(db.url, { from: 1, to: SMALL, salt: SALT });
  results.scale.seedSmallMs = round(s1.ms);
  results.scale.vacuumSmallMs = round(s1.vacuumMs);
  results.scale.small = await scalePoint("1k", db, dataDir, SMALL);
  results.scale.small.store = await storeCounts(db.url);

  log(`seeding up to ${LARGE} machine users (one transaction) ...`);
  const s2 = await seedMachines(db.url, { from: SMALL + 1, to: LARGE, salt: SALT });
  results.scale.seedLargeMs = round(s2.ms);
  results.scale.vacuumLargeMs = round(s2.vacuumMs);
  log(`  seeded in ${round(s2.ms / 1000, 1)} s, VACUUM (ANALYZE) ${round(s2.vacuumMs / 1000, 1)} s`);
  results.scale.large = await scalePoint(LARGE >= 1e6 ? `${LARGE / 1e6}m` : `${LARGE / 1e3}k`, db, dataDir, LARGE, true);
  results.scale.large.store = await storeCounts(db.url);
  return db;
}

// ---------------------------------------------------------------------------------------------
// Profiles of missed targets: the same scenario again, the server under --cpu-prof, and only the
// samples of the measured window kept.
// ---------------------------------------------------------------------------------------------

async function profileScenario(key) {
  const sc = profileable[key];
  if (!sc) return undefined;
  const dir = tempDir(`prof-${key}`);
  await waitQuiet(QUIET_WAIT_MS);
  log(`profiling ${key} ...`);
  const hr = () => Number(process.hrtime.bigint() / 1000n);
  const fromUs = hr();
  const nodeArgs = ["--cpu-prof", `--cpu-prof-dir=${dir}`];
  const srv = sc.startServer ? await sc.startServer(nodeArgs) : await startPortcullis({ ...sc.start, nodeArgs, name: `portcullis-prof-${key}` });
  let window = { fromUs, toUs: hr() };
  let run;
  let waits;
  if (!sc.startOnly) {
    const sampler = sc.start?.databaseUrl ? await startWaitSampler(sc.start.databaseUrl) : undefined;
    // The admin PAT and the seeded credentials survive the restart, so the request is the measured one.
    run = await measure(srv.base, sc.request, { serverPids: [srv.pid], duration: PROFILE_DURATION, dbName: sc.dbName });
    waits = await sampler?.stop();
    window = run.windowUs;
  }
  await srv.stop();
  const file = latestProfile(dir);
  if (!file) return { error: "no profile written" };
  const s = summarizeProfile(file, { window, top: 25 });
  if (run) {
    const requests = run.rps * (s.wallMs / 1000);
    for (const f of [...s.topSelf, ...s.byArea, ...s.portcullisInclusive]) f.usPerRequest = Math.round(((f.ms * 1000) / requests) * 10) / 10;
    s.busyUsPerRequest = Math.round(((s.busyMs * 1000) / requests) * 10) / 10;
    s.underProfiler = { rps: round(run.rps), p50: round(run.latencyMs.p50), p99: round(run.latencyMs.p99), cpu: run.cpu };
  } else s.underProfiler = { readyMs: round(srv.readyMs) };
  if (waits) s.databaseWaits = waits;
  removeTempDir(dir);
  return s;
}

/** What code was measured: the commit, the files changed on top of it, and the built dist/. */
function codeIdentity(snapshot) {
  const git = (...args) => {
    try {
      return execFileSync("git", args, { cwd: path.join(here, ".."), encoding: "utf8" }).trim();
    } catch {
      return undefined;
    }
  };
  const changed = (git("status", "--porcelain", "--", "src") ?? "").split("\n").filter(Boolean);
  return { commit: git("rev-parse", "--short", "HEAD"), srcFilesChangedSinceCommit: changed.length, distSha256: snapshot.distSha256 };
}

async function main() {
  const snapshot = snapshotDist();
  results.meta.code = codeIdentity(snapshot);
  log(`Portcullis benchmark: ${settings.duration}s per target after ${settings.warmup}s warm-up, ${settings.connections} connections`);
  const dbs = [];
  try {
    if (ONLY.has("footprint")) {
      const quiet = await waitQuiet(QUIET_WAIT_MS);
      results.footprint = await footprintSection({ loadSeconds: FOOTPRINT_LOAD });
      results.footprint.quietBefore = quiet;
    }
    if (ONLY.has("metrics")) results.metricsCost = await metricsCostSection({ rounds: Number(env.BENCH_METRICS_ROUNDS ?? 3), quietWaitMs: QUIET_WAIT_MS, retries: RETRIES });
    if (ONLY.has("workers")) results.workers = await workersSection({ quietWaitMs: QUIET_WAIT_MS });
    if (ONLY.has("pglite")) await pgliteSection();
    if (ONLY.has("pg")) dbs.push(await pgSection());
    if (ONLY.has("scale")) dbs.push(await scaleSection());

    results.targets = evaluateTargets(results);
    if (PROFILE) {
      results.profiles = {};
      const missed = [...new Set(results.targets.filter((t) => t.met === false && t.profile).map((t) => t.profile))];
      // With any HTTP read path missed, the bare node:http server's profile is the baseline to read it against.
      if (missed.some((k) => !k.endsWith("Writes") && !k.endsWith("-start")) && profileable.rawPost) missed.unshift("rawPost");
      for (const key of missed) {
        try {
          results.profiles[key] = await profileScenario(key);
        } catch (e) {
          results.profiles[key] = { error: String(e?.message ?? e) };
        }
      }
    }
  } finally {
    for (const db of dbs) await db.drop().catch(() => undefined);
  }
  results.meta.totalSeconds = round((performance.now() - t0) / 1000, 1);
  results.meta.loadAverageAtEnd = (await import("node:os")).loadavg().map((x) => round(x));
  if (env.BENCH_NO_WRITE !== "1") writeReport(results);
  else {
    const out = path.join((await import("node:os")).tmpdir(), "portcullis-bench-last.json");
    (await import("node:fs")).writeFileSync(out, JSON.stringify(results, null, 2));
    log(`results (not recorded): ${out}`);
  }
  const ratioRows = results.targets.filter((t) => t.spread);
  if (ratioRows.length) process.stderr.write(`\nRatio targets, median of ${ROUNDS} A-B-A rounds (spread: min–max of the rounds):\n${printRatioTable(ratioRows)}\n\n`);
  for (const t of results.targets) log(`${t.met === true ? "MET   " : t.met === false ? "MISSED" : "INFO  "} ${t.id}: ${t.text}${Number.isFinite(t.value) ? ` — ${round(t.value, 3)}${t.spread ? ` (${round(t.spread.min, 3)}–${round(t.spread.max, 3)})` : ""}` : ""}`);
  log(`done in ${results.meta.totalSeconds} s (${round(results.meta.totalSeconds / 60, 1)} min)`);
}

process.on("SIGINT", async () => {
  await cleanupAll();
  process.exit(130);
});

main()
  .then(() => cleanupAll())
  .catch(async (e) => {
    process.stderr.write(`bench failed: ${e?.stack ?? e}\n`);
    await cleanupAll();
    process.exit(1);
  });
