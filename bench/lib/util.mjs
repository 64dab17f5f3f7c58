// Process, port, /proc and temp-dir helpers shared by the benchmark orchestrator.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const children = new Set();
const tempDirs = new Set();
const cleanups = [];

/** A temp directory under os.tmpdir(), removed at exit. */
export function tempDir(prefix) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `portcullis-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Registers an async cleanup (dropping a database, ...) run at exit, newest first. */
export function onCleanup(fn) {
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

export async function cleanupAll() {
  for (const c of [...children]) {
    try {
      process.kill(c.pid, "SIGKILL");
    } catch {}
  }
  children.clear();
  while (cleanups.length) {
    const fn = cleanups.pop();
    try {
      await fn();
    } catch (e) {
      process.stderr.write(`cleanup failed: ${e?.message ?? e}\n`);
    }
  }
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Spawns a node child (tracked: killed at exit). Keeps the tail of its stderr/stdout for error
 * messages. `ipc: true` adds an IPC channel (for fork-style messaging).
 */
export function spawnNode(args, { env = {}, name = "child", ipc = false, nodeArgs = [], cwd } = {}) {
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    env: { ...process.env, ...env },
    stdio: ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
    cwd,
  });
  children.add(child);
  let tail = "";
  const keep = (d) => {
    tail = (tail + d.toString()).slice(-4000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  child.once("exit", () => children.delete(child));
  child.tail = () => tail;
  child.label = name;
  child.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return child;
}

/** Sends a signal and waits for the exit (SIGKILL after `timeoutMs`). */
export async function stopChild(child, signal = "SIGTERM", timeoutMs = 15_000) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  try {
    child.kill(signal);
  } catch {}
  const t = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {}
  }, timeoutMs);
  const r = await child.exited;
  clearTimeout(t);
  return r;
}

/** Polls `url` until it answers 200; returns the elapsed ms since `since` (performance.now()). */
export async function waitHttp(url, { timeoutMs = 120_000, child, intervalMs = 10 } = {}) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null))
      throw new Error(`${child.label} exited (${child.exitCode ?? child.signalCode}) before ready:\n${child.tail()}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch {}
    if (performance.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms${child ? `:\n${child.tail()}` : ""}`);
    await sleep(intervalMs);
  }
}

const CLK_TCK = 100; // getconf CLK_TCK on Linux x86-64

/** user+system CPU seconds of a process (and its threads), from /proc/<pid>/stat. */
export function procCpuSeconds(pid) {
  const t = procCpuTimes(pid);
  return t.user + t.sys;
}

/** User and system (kernel: system calls, including loopback TCP) CPU seconds of a process. */
export function procCpuTimes(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { user: Number(f[11]) / CLK_TCK, sys: Number(f[12]) / CLK_TCK };
  } catch {
    return { user: NaN, sys: NaN };
  }
}

const PG_SHARED = /^postgres: (?:[^:]+: )?(?:checkpointer|background writer|walwriter|autovacuum launcher|logical replication launcher|stats collector|archiver)/;

/**
 * CPU seconds per PostgreSQL process working for `dbName`: its backends (their titles name their
 * database, autovacuum workers included) and the server's shared processes (WAL writer,
 * checkpointer, background writer), which every commit uses.
 */
export function postgresBackendsCpu(dbName) {
  const out = new Map();
  for (const pid of processIds()) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmd.startsWith("postgres: ") && (cmd.includes(` ${dbName} `) || cmd.includes(` ${dbName}\0`) || PG_SHARED.test(cmd))) out.set(pid, procCpuSeconds(pid));
    } catch {}
  }
  return out;
}

/** The ids of the processes on this machine ([] where /proc cannot be read). */
function processIds() {
  try {
    return readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
}

/** CPU seconds of every process on the machine, with a short name (for naming interference). */
export function allProcessesCpu() {
  const out = new Map();
  for (const pid of processIds()) {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = st.slice(st.indexOf("(") + 1, st.lastIndexOf(")"));
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      let name = comm;
      if (comm === "node" || comm.startsWith("postgres")) {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
        name = comm === "node" ? `node ${cmd.slice(1).find((a) => !a.startsWith("-"))?.split("/").slice(-2).join("/") ?? ""}` : cmd[0].slice(0, 60);
      }
      out.set(pid, { name, cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK });
    } catch {}
  }
  return out;
}

/** Resident memory of a process, in bytes (VmRSS and the peak VmHWM). */
export function procMemory(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN) * 1024;
    return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

/**
 * CPU seconds of the whole machine, from /proc/stat: `tasks` (user + nice + system, what processes
 * run), `irq` (hard and soft interrupts: loopback TCP delivery is softirq work no process is
 * charged for), `steal` (the hypervisor ran someone else), `busy` (all but idle and iowait).
 */
export function systemCpuSeconds() {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = v;
  const total = v.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
  return {
    busy: (total - idle - (iowait || 0)) / CLK_TCK,
    total: total / CLK_TCK,
    tasks: (user + nice + system) / CLK_TCK,
    irq: ((irq || 0) + (softirq || 0)) / CLK_TCK,
    steal: (steal || 0) / CLK_TCK,
  };
}

export function machineInfo() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const mhz = /^cpu MHz\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim();
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel: model,
    cpuMHz: mhz ? Number(mhz) : undefined,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export const round = (x, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

export function log(msg) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}
