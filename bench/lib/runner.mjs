// Runs one measurement: a load-generator child (bench/lib/load.mjs) against a server child, and
// samples the CPU time of the server, the load generator and the whole machine over the measured
// window, so each result says how busy the server was and how much CPU something else took.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { allProcessesCpu, postgresBackendsCpu, procCpuTimes, round, sleep, spawnNode, systemCpuSeconds } from "./util.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

export const settings = {
  duration: Number(process.env.BENCH_DURATION ?? 5),
  warmup: Number(process.env.BENCH_WARMUP ?? 2),
  connections: 50,
};

/** Forks a child script with IPC, sends `spec`, and resolves with its "result" message. */
export function runChild(script, spec, { onMessage, name, nodeArgs } = {}) {
  const child = spawnNode([path.join(here, script)], { ipc: true, name: name ?? script, nodeArgs });
  return new Promise((resolve, reject) => {
    let settled = false;
    child.on("message", (m) => {
      if (m.type === "result") {
        settled = true;
        resolve(m.result);
      } else if (m.type === "error") {
        settled = true;
        reject(new Error(`${script}: ${m.error}`));
      } else onMessage?.(m);
    });
    child.once("exit", (code, signal) => {
      if (!settled) reject(new Error(`${script} exited (${code ?? signal}) without a result:\n${child.tail()}`));
    });
    child.send(spec);
  });
}

/**
 * Measures `request` against `url` with the common settings (50 connections, pipelining 1,
 * keep-alive, warm-up then BENCH_DURATION seconds). `serverPids` are sampled for CPU.
 */
export async function measure(url, request, { serverPids = [], dbName, duration = settings.duration, warmup = settings.warmup, connections = settings.connections, overallRate } = {}) {
  let before;
  let after;
  const sample = () => ({
    t: performance.now(),
    hrUs: Number(process.hrtime.bigint() / 1000n),
    sys: systemCpuSeconds(),
    servers: serverPids.map(procCpuTimes),
    db: dbName ? postgresBackendsCpu(dbName) : undefined,
    self: process.cpuUsage(),
    all: allProcessesCpu(),
  });
  const result = await runChild(
    "load.mjs",
    { url, connections, duration, warmup, request, overallRate },
    {
      onMessage: (m) => {
        if (m.type === "measure-start") before = sample();
        if (m.type === "measure-end") after = sample();
      },
    },
  );
  if (before && after) {
    result.windowUs = { fromUs: before.hrUs, toUs: after.hrUs };
    const wall = (after.t - before.t) / 1000;
    const serverUser = serverPids.map((_, i) => after.servers[i].user - before.servers[i].user).reduce((a, b) => a + b, 0);
    const serverSys = serverPids.map((_, i) => after.servers[i].sys - before.servers[i].sys).reduce((a, b) => a + b, 0);
    const serverCpu = serverUser + serverSys;
    const selfCpu = (after.self.user + after.self.system - before.self.user - before.self.system) / 1e6;
    const busy = after.sys.busy - before.sys.busy;
    const tasks = after.sys.tasks - before.sys.tasks;
    const irq = after.sys.irq - before.sys.irq;
    const steal = after.sys.steal - before.sys.steal;
    let dbCpu = 0;
    if (after.db) for (const [pid, cpu] of after.db) dbCpu += cpu - (before.db.get(pid) ?? 0);
    result.cpu = {
      // Cores (1.0 = one core busy for the whole window).
      server: round(serverCpu / wall),
      // CPU the server spent per answered request, in µs: user space and kernel (system calls).
      serverUsPerRequest: round((serverCpu * 1e6) / Math.max(1, result.total), 1),
      serverUserUsPerRequest: round((serverUser * 1e6) / Math.max(1, result.total), 1),
      serverSysUsPerRequest: round((serverSys * 1e6) / Math.max(1, result.total), 1),
      loadgen: round(result.loadgenCpuSeconds / wall),
      machine: round(busy / wall),
      // The PostgreSQL backends serving the benchmark's database and PostgreSQL's shared processes.
      ...(dbName ? { database: round(dbCpu / wall), databaseUsPerRequest: round((dbCpu * 1e6) / Math.max(1, result.total), 1) } : {}),
      // Process time none of the above nor this orchestrator used: other processes (interference),
      // and PostgreSQL's shared processes (WAL writer, checkpointer).
      other: round(Math.max(0, tasks - serverCpu - dbCpu - result.loadgenCpuSeconds - selfCpu) / wall),
      // Interrupt time (loopback TCP delivery runs as softirq, charged to no process).
      irq: round(irq / wall),
      // Time the hypervisor gave this VM's CPUs to someone else.
      steal: round(steal / wall),
    };
    // Who else used the CPU (processes that are not the server, its database or the load generator).
    const ours = new Set([...serverPids.map(String), String(process.pid), ...(after.db ? after.db.keys() : [])]);
    const others = new Map();
    for (const [pid, p] of after.all) {
      if (ours.has(pid) || p.name.includes("bench/lib/load.mjs") || p.name.endsWith("lib/load.mjs")) continue;
      const used = p.cpu - (before.all.get(pid)?.cpu ?? 0);
      if (used > 0) others.set(p.name, (others.get(p.name) ?? 0) + used);
    }
    result.cpu.otherTop = [...others]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .filter(([, c]) => c / wall >= 0.02)
      .map(([name, c]) => `${name} ${round(c / wall)}`);
  }
  return result;
}

/**
 * Waits (up to `maxWaitMs`) until the machine is quiet: less than `cores` of CPU busy over half a
 * second, everything counted (our idle servers use next to nothing). Returns how long it waited.
 */
export async function waitQuiet(maxWaitMs, cores = 0.2) {
  const t0 = performance.now();
  for (;;) {
    const a = systemCpuSeconds();
    await sleep(500);
    const b = systemCpuSeconds();
    const busy = (b.busy - a.busy) / 0.5;
    const waited = performance.now() - t0;
    if (busy < cores) return { waitedMs: Math.round(waited), quiet: true, busy: round(busy) };
    if (waited >= maxWaitMs) return { waitedMs: Math.round(waited), quiet: false, busy: round(busy) };
  }
}

/** A compact summary of a load result for logs. */
export function summary(r) {
  const l = r.latencyMs;
  return `${Math.round(r.rps)} req/s  p50 ${round(l.p50)} ms  p99 ${round(l.p99)} ms  non2xx ${r.non2xx}  errors ${r.errors}${r.cpu ? `  cpu server ${r.cpu.server} (${r.cpu.serverUserUsPerRequest}+${r.cpu.serverSysUsPerRequest} µs/req)${r.cpu.database !== undefined ? ` db ${r.cpu.database}` : ""} loadgen ${r.cpu.loadgen} other ${r.cpu.other} irq ${r.cpu.irq} steal ${r.cpu.steal}${r.cpu.otherTop?.length ? ` [${r.cpu.otherTop.join(", ")}]` : ""}` : ""}`;
}
