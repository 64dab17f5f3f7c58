// `npm run soak` (not part of npm test): mixed load on two Portcullis instances sharing one
// PostgreSQL for SOAK_MINUTES (default 20), with a checker.
//
//   - token requests (client_credentials, basic auth) on either instance, for a pool of machines;
//   - API reads (GetUserByID, ListUsers) with the admin PAT and userinfo with issued access tokens;
//   - credential churn: a new secret or PAT written on one instance, used on the other, removed on
//     the first, and tried again on the other right after the removal answered (and the access token
//     it obtained): any 200 then is a stale accept;
//   - key writes and removals (AddMachineKey / RemoveMachineKey) in the churn, and every 25 cycles
//     the churned machine removed (RemoveUser) and a new one added.
//
// Every minute it prints requests, errors (any unexpected status or network error), stale accepts,
// each instance's memory and the p99 of token requests and API reads in that minute. Memory is
// sampled every 5 s: RSS (from /proc) and, from a probe preloaded into each server
// (bench/lib/mem-probe.mjs), the V8 heap's size (heapTotal) and the heap still in use right after
// the latest full collection (live heap: what a leak makes grow; RSS also holds garbage not yet
// collected, and V8 sizes its heap by the allocation rate). Per minute: the median of the samples.
// At the end: a JSON summary in bench/results/soak-latest.json and a verdict: stale 0, errors 0,
// RSS growth < 10 % and live heap growth < 10 % (the median of the last third of the minutes
// against that of the first third after the warm-up). Exit code 1 when the verdict fails.
//
// Environment: SOAK_MINUTES (20), SOAK_WARMUP_MINUTES (2), SOAK_CONNECTIONS (token/read load
// connections, default 16), SOAK_MACHINES (50), SOAK_CHURNERS (4), SOAK_NODE_ARGS (extra node flags
// for the servers, e.g. --heapsnapshot-signal=SIGUSR2), BENCH_PG_URL.
import http from "node:http";
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { api, basicAuth, createDatabase, startPortcullis, TOKEN_BODY } from "./lib/portcullis.mjs";
import { cleanupAll, log, machineInfo, round, sleep, tempDir } from "./lib/util.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const MINUTES = Number(process.env.SOAK_MINUTES ?? 20);
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 16);
const MACHINES = Number(process.env.SOAK_MACHINES ?? 50);
const CHURNERS = Number(process.env.SOAK_CHURNERS ?? 4);
/**
 * Minutes left out of the memory verdict. The caches hold the 50 pool machines and the churned ones
 * within seconds; what takes longer is V8 settling its heap size, which it sets from the first full
 * collections (75–90 s into the run in the investigation recorded in docs/benchmarks.md).
 */
const WARMUP = Number(process.env.SOAK_WARMUP_MINUTES ?? 2);
/** Churn cycles per machine before it is removed and a new one takes its place. */
const ROTATE = 25;

const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS + CHURNERS * 2 + 4 });
function request(base, method, p, headers = {}, body) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request(base + p, { method, agent, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(), ms: performance.now() - t0 }));
      res.on("error", (e) => resolve({ status: 0, body: String(e), ms: performance.now() - t0 }));
    });
    req.on("error", (e) => resolve({ status: 0, body: String(e), ms: performance.now() - t0 }));
    req.end(body);
  });
}
const json = (pat) => ({ authorization: `Bearer ${pat}`, "content-type": "application/json" });
const form = (id, secret) => ({ authorization: basicAuth(id, secret), "content-type": "application/x-www-form-urlencoded" });

function p99(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))];
}

async function main() {
  log(`soak: ${MINUTES} min, ${CONNECTIONS} load connections, ${CHURNERS} churners, ${MACHINES} machines, two instances on one PostgreSQL`);
  const db = await createDatabase("soak");
  const nodeArgs = ["--import", path.join(here, "lib", "mem-probe.mjs"), ...(process.env.SOAK_NODE_ARGS ?? "").split(" ").filter(Boolean)];
  const probeDir = tempDir("soak-probe");
  const probeA = path.join(probeDir, "a.json");
  const probeB = path.join(probeDir, "b.json");
  const a = await startPortcullis({ dataDir: tempDir("soak-a"), databaseUrl: db.url, name: "soak-a", nodeArgs, env: { PORTCULLIS_MEM_PROBE: probeA } });
  const b = await startPortcullis({ dataDir: tempDir("soak-b"), databaseUrl: db.url, name: "soak-b", nodeArgs, env: { PORTCULLIS_MEM_PROBE: probeB } });
  const probes = [probeA, probeB];
  log(`instance pids: A ${a.pid}, B ${b.pid}`);
  const instances = [a, b];
  const pat = a.pat;
  const admin = api(a.base, pat);

  // The pool the token load uses (never churned) and the machines the churners write.
  const pool = [];
  for (let i = 0; i < MACHINES; i++) {
    const id = await admin.addMachine(`soak-${i}`);
    const s = await admin.setSecret(id);
    pool.push({ id, clientId: s.clientId, secret: s.clientSecret });
  }
  const churnIds = [];
  for (let i = 0; i < CHURNERS; i++) churnIds.push(await admin.addMachine(`soak-churn-${i}`));
  const first = await request(a.base, "POST", "/oauth/v2/token", form(pool[0].clientId, pool[0].secret), TOKEN_BODY);
  const poolToken = JSON.parse(first.body).access_token;
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const publicKeyB64 = Buffer.from(publicKey.export({ type: "spki", format: "pem" })).toString("base64");

  let minute = newMinute();
  const minutes = [];
  const totals = { requests: 0, errors: 0, staleAccepts: 0, churnCycles: 0 };
  const errorSamples = [];
  function newMinute() {
    return { requests: 0, errors: 0, staleAccepts: 0, churnCycles: 0, tokenMs: [], readMs: [], writeMs: [] };
  }
  const error = (what, r) => {
    minute.errors++;
    totals.errors++;
    if (errorSamples.length < 20) errorSamples.push(`${what}: ${r.status} ${String(r.body).slice(0, 200)}`);
  };
  const stale = (what) => {
    minute.staleAccepts++;
    totals.staleAccepts++;
    if (errorSamples.length < 20) errorSamples.push(`STALE ACCEPT: ${what}`);
  };
  const count = (r, kind) => {
    minute.requests++;
    totals.requests++;
    minute[kind].push(r.ms);
  };

  const endAt = performance.now() + MINUTES * 60_000;
  const running = () => performance.now() < endAt;

  // Token requests and API reads on both instances.
  async function loader(n) {
    let i = n;
    while (running()) {
      const inst = instances[i % 2];
      const m = pool[i % pool.length];
      const op = i % 10;
      i++;
      if (op < 6) {
        const r = await request(inst.base, "POST", "/oauth/v2/token", form(m.clientId, m.secret), TOKEN_BODY);
        count(r, "tokenMs");
        if (r.status !== 200) error("token", r);
      } else if (op < 8) {
        const r = await request(inst.base, "GET", `/management/v1/users/${m.id}`, json(pat));
        count(r, "readMs");
        if (r.status !== 200) error("GetUserByID", r);
      } else if (op < 9) {
        const r = await request(inst.base, "POST", "/management/v1/users/_search", json(pat), JSON.stringify({ query: { limit: 20 } }));
        count(r, "readMs");
        if (r.status !== 200) error("ListUsers", r);
      } else {
        const r = await request(inst.base, "GET", "/oidc/v1/userinfo", { authorization: `Bearer ${poolToken}` });
        count(r, "readMs");
        if (r.status !== 200) error("userinfo", r);
      }
    }
  }

  // Credential writes and removals, each checked on the other instance right after it answered.
  async function churner(n) {
    let userId = churnIds[n];
    let cycle = 0;
    while (running()) {
      // A fresh machine every ROTATE cycles (the old one removed): credentials are rotated now and
      // then, not thousands of times on one user, whose event stream every reload would replay.
      if (cycle > 0 && cycle % ROTATE === 0) {
        const rm = await request(instances[cycle % 2].base, "DELETE", `/management/v1/users/${userId}`, json(pat));
        count(rm, "writeMs");
        if (rm.status !== 200) error("RemoveUser", rm);
        const add = await request(instances[(cycle + 1) % 2].base, "POST", "/management/v1/users/machine", json(pat), JSON.stringify({ userName: `soak-churn-${n}-${cycle}`, name: "churn" }));
        count(add, "writeMs");
        if (add.status !== 200) {
          error("AddMachineUser", add);
          continue;
        }
        userId = JSON.parse(add.body).userId;
      }
      const w = instances[cycle % 2];
      const r = instances[(cycle + 1) % 2];
      cycle++;
      const write = async (method, p, body) => {
        const res = await request(w.base, method, p, json(pat), body === undefined ? undefined : JSON.stringify(body));
        count(res, "writeMs");
        if (res.status !== 200) error(`${method} ${p.replace(userId, ":id")}`, res);
        return res;
      };
      // Secret: set, use on the other instance, remove, try again there (secret and its token).
      const set = await write("PUT", `/management/v1/users/${userId}/secret`, {});
      if (set.status !== 200) continue;
      const { clientId, clientSecret } = JSON.parse(set.body);
      const t = await request(r.base, "POST", "/oauth/v2/token", form(clientId, clientSecret), TOKEN_BODY);
      count(t, "tokenMs");
      if (t.status !== 200) error("token with a new secret on the other instance", t);
      const token = t.status === 200 ? JSON.parse(t.body).access_token : undefined;
      const removed = await write("DELETE", `/management/v1/users/${userId}/secret`);
      if (removed.status === 200) {
        const again = await request(r.base, "POST", "/oauth/v2/token", form(clientId, clientSecret), TOKEN_BODY);
        count(again, "tokenMs");
        if (again.status === 200) stale("token with a removed secret");
        else if (again.status !== 401) error("token with a removed secret", again);
        if (token) {
          const ui = await request(r.base, "GET", "/oidc/v1/userinfo", { authorization: `Bearer ${token}` });
          count(ui, "readMs");
          if (ui.status === 200) stale("access token of a removed secret");
          else if (ui.status !== 401) error("userinfo with a removed secret's token", ui);
        }
      }
      // PAT: add, use on the other instance, remove, try again.
      const added = await write("POST", `/management/v1/users/${userId}/pats`, {});
      if (added.status === 200) {
        const { token: patToken, tokenId } = JSON.parse(added.body);
        const use = await request(r.base, "GET", "/oidc/v1/userinfo", { authorization: `Bearer ${patToken}` });
        count(use, "readMs");
        if (use.status !== 200) error("new PAT on the other instance", use);
        const rm = await write("DELETE", `/management/v1/users/${userId}/pats/${tokenId}`);
        if (rm.status === 200) {
          const again = await request(r.base, "GET", "/oidc/v1/userinfo", { authorization: `Bearer ${patToken}` });
          count(again, "readMs");
          if (again.status === 200) stale("removed PAT");
          else if (again.status !== 401) error("removed PAT", again);
        }
      }
      // Machine key: add and remove (write load; key use is covered by the tests).
      const key = await write("POST", `/management/v1/users/${userId}/keys`, { type: "KEY_TYPE_JSON", publicKey: publicKeyB64 });
      if (key.status === 200) await write("DELETE", `/management/v1/users/${userId}/keys/${JSON.parse(key.body).keyId}`);
      minute.churnCycles++;
      totals.churnCycles++;
    }
  }

  // Memory every 5 s per instance: RSS, heap size, live heap after the latest full collection.
  let samples = [[], []];
  const readProbe = (file) => {
    try {
      return JSON.parse(readFileSync(file, "utf8"));
    } catch {
      return {};
    }
  };
  const sampleMemory = () =>
    instances.forEach((x, i) => {
      const p = readProbe(probes[i]);
      samples[i].push({ rss: x.memory().rss, heapTotal: p.heapTotal ?? NaN, live: p.liveAfterGc ?? NaN, external: p.external ?? NaN });
    });
  const sampler = setInterval(sampleMemory, 5000);
  const mib = (x) => round(x / 2 ** 20, 0);
  const medianOf = (xs) => (xs.length ? [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)] : NaN);

  const t0 = performance.now();
  const reporter = (async () => {
    for (let m = 1; performance.now() < endAt - 1000; m++) {
      await sleep(Math.max(0, Math.min(t0 + m * 60_000, endAt) - performance.now()));
      const cur = minute;
      minute = newMinute();
      sampleMemory();
      const mem = samples;
      samples = [[], []];
      const per = (f) => mem.map((xs) => mib(medianOf(xs.map(f))));
      const row = {
        minute: m,
        requests: cur.requests,
        rps: round(cur.requests / 60, 0),
        churnCycles: cur.churnCycles,
        errors: cur.errors,
        staleAccepts: cur.staleAccepts,
        rssMiB: per((s) => s.rss),
        rssMaxMiB: mem.map((xs) => mib(Math.max(...xs.map((s) => s.rss)))),
        heapTotalMiB: per((s) => s.heapTotal),
        liveHeapMiB: per((s) => s.live),
        externalMiB: per((s) => s.external),
        p99TokenMs: round(p99(cur.tokenMs), 1),
        p99ReadMs: round(p99(cur.readMs), 1),
        p99WriteMs: round(p99(cur.writeMs), 1),
      };
      minutes.push(row);
      log(
        `min ${String(m).padStart(2)}: ${row.rps} req/s, ${row.churnCycles} churn cycles, errors ${row.errors}, stale ${row.staleAccepts}, RSS ${row.rssMiB.join(" / ")} MiB (heap ${row.heapTotalMiB.join(" / ")}, live ${row.liveHeapMiB.join(" / ")}), p99 token ${row.p99TokenMs} ms, read ${row.p99ReadMs} ms, write ${row.p99WriteMs} ms`,
      );
    }
  })();
  await Promise.all([...Array.from({ length: CONNECTIONS }, (_, n) => loader(n)), ...Array.from({ length: CHURNERS }, (_, n) => churner(n))]);
  await reporter;
  clearInterval(sampler);

  // Growth per instance: the median of the last third of the minutes against the median of the first
  // third after the warm-up. RSS saws up and down with V8's collections (the heap grows to 2–4 times
  // the live heap between full collections), hence the medians of 5-second samples and of thirds;
  // short runs say little either way.
  const after = minutes.slice(WARMUP);
  const third = Math.max(1, Math.floor(after.length / 3));
  const growthOf = (field) =>
    after.length >= 2
      ? [0, 1].map((i) => round((medianOf(after.slice(-third).map((m) => m[field][i])) / medianOf(after.slice(0, third).map((m) => m[field][i])) - 1) * 100, 1))
      : [NaN, NaN];
  const growth = growthOf("rssMiB");
  const liveGrowth = growthOf("liveHeapMiB");
  const under10 = (g) => g.every((x) => Number.isFinite(x) && x < 10);
  const verdict = { staleAccepts: totals.staleAccepts === 0, errors: totals.errors === 0, rssGrowthUnder10pct: under10(growth), liveHeapGrowthUnder10pct: under10(liveGrowth) };
  const out = {
    command: `SOAK_MINUTES=${MINUTES} npm run soak`,
    date: new Date().toISOString(),
    machine: machineInfo(),
    settings: { minutes: MINUTES, warmupMinutes: WARMUP, connections: CONNECTIONS, churners: CHURNERS, machines: MACHINES },
    totals,
    rssGrowthPct: growth,
    liveHeapGrowthPct: liveGrowth,
    minutes,
    verdict,
    errorSamples,
  };
  mkdirSync(path.join(here, "results"), { recursive: true });
  writeFileSync(path.join(here, "results", "soak-latest.json"), JSON.stringify(out, null, 2) + "\n");
  log(`totals: ${totals.requests} requests, ${totals.churnCycles} churn cycles, errors ${totals.errors}, stale accepts ${totals.staleAccepts}, growth (median of the last third vs the first third after the ${WARMUP}-minute warm-up): RSS ${growth.join(" / ")} %, live heap ${liveGrowth.join(" / ")} %`);
  for (const e of errorSamples) log(`  ${e}`);
  log(`verdict: ${Object.entries(verdict).map(([k, v]) => `${k} ${v ? "ok" : "FAILED"}`).join(", ")}`);
  await a.stop();
  await b.stop();
  await db.drop();
  return Object.values(verdict).every(Boolean);
}

main()
  .then(async (ok) => {
    await cleanupAll();
    process.exit(ok ? 0 : 1);
  })
  .catch(async (e) => {
    log(`soak failed: ${e.stack ?? e}`);
    await cleanupAll();
    process.exit(1);
  });
