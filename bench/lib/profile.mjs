// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per area.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");

/** Where a frame's code lives, for grouping: portcullis file, a package, node internals, V8. */
function areaOf(url, fn) {
  if (!url) return fn.startsWith("(") ? fn : "(native / V8 builtin)";
  if (url.startsWith("node:")) return url;
  let p = url.replace(/^file:\/\//, "");
  const nm = p.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const parts = p.slice(nm + 13).split("/");
    return `npm:${parts[0].startsWith("@") ? parts[0] + "/" + parts[1] : parts[0]}`;
  }
  if (p.startsWith(root)) p = path.relative(root, p);
  // Servers run from a snapshot of dist/ in a temp directory (see snapshotDist).
  const d = p.lastIndexOf("/dist/");
  if (d >= 0) p = p.slice(d + 1);
  return p;
}

/**
 * Self time (µs) per profile node id, counting only the samples inside `window` (all without one),
 * and the first and last sample time counted.
 */
export function selfTimes(prof, window) {
  const self = new Map();
  let t = prof.startTime;
  let first = Infinity;
  let last = -Infinity;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    t += dt;
    if (window && (t < window.fromUs || t > window.toUs)) continue;
    first = Math.min(first, t);
    last = Math.max(last, t);
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
  }
  return { self, first, last };
}

/**
 * `window` ({ fromUs, toUs }, CLOCK_MONOTONIC microseconds as process.hrtime.bigint() / 1000 in any
 * process on this machine, the clock V8 stamps samples with) keeps only the samples taken while the
 * load was measured: start-up, setup and warm-up are left out.
 */
export function summarizeProfile(file, { top = 20, window } = {}) {
  const prof = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const { self, first, last } = selfTimes(prof, window);
  let total = 0;
  let idle = 0;
  const fns = new Map();
  const areas = new Map();
  const keyOf = (cf) => {
    const name = cf.functionName || "(anonymous)";
    return `${name} ${areaOf(cf.url, name)}${cf.url ? `:${cf.lineNumber + 1}` : ""}`;
  };
  // Inclusive ("total") time of Portcullis's own functions: every sample counts once for each
  // distinct dist/ function on its stack.
  const inclusive = new Map();
  for (const [id, us] of self) {
    if ((byId.get(id).callFrame.functionName || "") === "(idle)") continue;
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur).callFrame;
      if (!cf.url || !areaOf(cf.url, "").startsWith("dist/")) continue;
      const k = keyOf(cf);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  for (const [id, us] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const name = cf.functionName || "(anonymous)";
    if (name === "(idle)") {
      idle += us;
      continue;
    }
    total += us;
    const area = areaOf(cf.url, name);
    const key = `${name} ${area}${cf.url ? `:${cf.lineNumber + 1}` : ""}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const rank = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ name: k, ms: Math.round(us / 1000), pct: Math.round((us / total) * 1000) / 10 }));
  return {
    file: path.basename(file),
    wallMs: Math.round((last - first) / 1000),
    busyMs: Math.round(total / 1000),
    idleMs: Math.round(idle / 1000),
    topSelf: rank(fns),
    byArea: rank(areas),
    portcullisInclusive: rank(inclusive),
  };
}

export function latestProfile(dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  if (files.length === 0) return undefined;
  return path.join(dir, files.sort().at(-1));
}
