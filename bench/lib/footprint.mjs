// The footprint of the embedded store (BENCH_ONLY=footprint): what a new user gets from
// `npm start`. Portcullis on a fresh PGlite data directory (first start), then again on the same
// directory (restart): time to ready, the CPU the process used until then, RSS at ready, and RSS
// after BENCH_FOOTPRINT_LOAD seconds of token requests; VmHWM is the peak over the process's whole
// life (start-up included). The process tree is sampled during start-up too, so a child process
// (PGlite's initdb when the build's template is missing) would show in the peak.
// Then `npm start` itself on the restart directory with nothing changed since the build.
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { api, MASTERKEY, RATE_LIMIT_ENV, startPortcullis, tokenRequest } from "./portcullis.mjs";
import { measure, summary } from "./runner.mjs";
import { freePort, log, procCpuTimes, procMemory, round, sleep, spawnNode, stopChild, tempDir, waitHttp } from "./util.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The process and its descendants (from /proc/<pid>/task/<pid>/children). */
function tree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const kids = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, "utf8").trim();
      if (kids) out.push(...kids.split(/\s+/).map(Number));
    } catch {}
  }
  return out;
}

/** Samples the summed RSS of a process tree every 20 ms until stopped; returns the peak. */
function treeSampler(pid) {
  let peak = 0;
  let processes = 1;
  let on = true;
  const loop = (async () => {
    while (on) {
      const pids = tree(pid);
      processes = Math.max(processes, pids.length);
      const sum = pids.map((p) => procMemory(p).rss).filter(Number.isFinite).reduce((a, b) => a + b, 0);
      peak = Math.max(peak, sum);
      await sleep(20);
    }
  })();
  return async () => {
    on = false;
    await loop;
    return { peakTreeRssBytes: peak, processes };
  };
}

async function startMeasured(name, dataDir) {
  // The sampler needs the pid before ready: start the server with a hook on spawnNode's child.
  let stopSampler;
  const srv = await startPortcullis({
    dataDir,
    name,
    onSpawn: (child) => {
      stopSampler = treeSampler(child.pid);
    },
  });
  const cpu = procCpuTimes(srv.pid);
  const atReady = srv.memory();
  const sampled = await stopSampler();
  // The API services load on the first request that needs one (src/server/http.ts): how long after
  // the spawn that first answer comes, and what the process holds once they are loaded.
  const t = performance.now();
  const me = await fetch(`${srv.base}/management/v1/orgs/me`, { headers: { authorization: `Bearer ${srv.pat}` } });
  await me.text();
  if (me.status !== 200) throw new Error(`first API request (GetMyOrg) → ${me.status}`);
  const firstApiMs = srv.readyMs + (performance.now() - t);
  return {
    srv,
    out: {
      readyMs: round(srv.readyMs),
      cpuToReadyMs: round((cpu.user + cpu.sys) * 1000),
      firstApiMs: round(firstApiMs),
      rssAfterFirstApiBytes: srv.memory().rss,
      rssAtReadyBytes: atReady.rss,
      peakAtReadyBytes: atReady.hwm,
      peakTreeAtStartBytes: sampled.peakTreeRssBytes,
      processesAtStart: sampled.processes,
      loadAverage: os.loadavg().map((x) => round(x)),
    },
  };
}

async function tokenLoad(srv, client, seconds) {
  const r = await measure(srv.base, tokenRequest(client.clientId, client.clientSecret), { serverPids: [srv.pid], duration: seconds, warmup: 0 });
  const m = srv.memory();
  log(`  token load: ${summary(r)}`);
  return { rps: round(r.rps), p50: round(r.latencyMs.p50), p99: round(r.latencyMs.p99), non2xx: r.non2xx, errors: r.errors, rssAfterLoadBytes: m.rss, peakBytes: m.hwm };
}

/** `npm start` in the repository (nothing changed since the build): spawn → first 200 from /debug/ready. */
async function npmStart(dataDir) {
  const candidates = [process.env.npm_execpath, path.join(path.dirname(process.execPath), "..", "lib", "node_modules", "npm", "bin", "npm-cli.js")];
  const npmCli = candidates.find((c) => c?.endsWith(".js") && existsSync(c));
  if (!npmCli) return { skipped: "npm's npm-cli.js not found" };
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = spawnNode([npmCli, "start", "--silent"], {
    name: "npm-start",
    cwd: root,
    env: {
      PORTCULLIS_PORT: String(port),
      PORTCULLIS_HOST: "127.0.0.1",
      PORTCULLIS_EXTERNAL_URL: base,
      PORTCULLIS_DATA_DIR: dataDir,
      PORTCULLIS_LOG_LEVEL: "warn",
      PORTCULLIS_MASTERKEY: MASTERKEY,
      ...RATE_LIMIT_ENV,
    },
  });
  try {
    await waitHttp(`${base}/debug/ready`, { child, intervalMs: 5 });
    return { readyMs: round(performance.now() - t0), loadAverage: os.loadavg().map((x) => round(x)) };
  } finally {
    // npm → sh → node: stop the server itself, then npm exits.
    for (const pid of tree(child.pid).reverse()) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {}
    }
    await stopChild(child);
  }
}

export async function footprintSection({ loadSeconds }) {
  const out = { loadSeconds };
  const dataDir = tempDir("footprint");

  log("footprint: first start on an empty data directory ...");
  const first = await startMeasured("portcullis-footprint-first", dataDir);
  const a = api(first.srv.base, first.srv.pat);
  const client = await a.setSecret(await a.addMachine("footprint-client"));
  out.first = first.out;
  log(`  first start: ready ${first.out.readyMs} ms (CPU ${first.out.cpuToReadyMs} ms), RSS ${round(first.out.rssAtReadyBytes / 2 ** 20)} MiB (peak ${round(first.out.peakAtReadyBytes / 2 ** 20)} MiB, process tree ${round(first.out.peakTreeAtStartBytes / 2 ** 20)} MiB)`);
  Object.assign(out.first, await tokenLoad(first.srv, client, loadSeconds));
  await first.srv.stop();

  log("footprint: restart on the same data directory ...");
  const again = await startMeasured("portcullis-footprint-restart", dataDir);
  out.restart = again.out;
  log(`  restart: ready ${again.out.readyMs} ms (CPU ${again.out.cpuToReadyMs} ms), RSS ${round(again.out.rssAtReadyBytes / 2 ** 20)} MiB (peak ${round(again.out.peakAtReadyBytes / 2 ** 20)} MiB)`);
  Object.assign(out.restart, await tokenLoad(again.srv, client, loadSeconds));
  await again.srv.stop();

  log("footprint: npm start, nothing changed since the build ...");
  out.npmStart = await npmStart(dataDir);
  log(`  npm start: ${out.npmStart.skipped ?? `ready ${out.npmStart.readyMs} ms`}`);
  return out;
}
