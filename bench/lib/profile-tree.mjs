// Prints the call tree of a .cpuprofile kept by `bench/quick.mjs --profile` (in the OS temp
// directory as quick-<target>.cpuprofile), as µs per request, for the samples taken while the load
// was measured. Diagnostics for hot-path work, not part of the benchmark of record.
//
//   node bench/lib/profile-tree.mjs <target> [min µs per request, default 2] [max depth, default 30]
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { selfTimes } from "./profile.mjs";

const [target = "opaque", minArg = "2", depthArg = "30"] = process.argv.slice(2);
const base = path.join(os.tmpdir(), `quick-${target}`);
if (!existsSync(`${base}.cpuprofile`) || !existsSync(`${base}.window.json`)) {
  console.error(`no profile of "${target}" in ${os.tmpdir()}: run \`node bench/quick.mjs ${target} --profile\` first (raw-post for the bare server)`);
  process.exit(2);
}
const prof = JSON.parse(readFileSync(`${base}.cpuprofile`, "utf8"));
const { window, requests } = JSON.parse(readFileSync(`${base}.window.json`, "utf8"));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const { self } = selfTimes(prof, window);
const total = new Map();
const sum = (id) => {
  const n = byId.get(id);
  let v = self.get(id) ?? 0;
  for (const c of n.children ?? []) v += sum(c);
  total.set(id, v);
  return v;
};
const rootId = prof.nodes[0].id;
sum(rootId);
const min = Number(minArg) * requests;
const short = (u) => (u ? u.replace(/^file:\/\//, "").replace(/.*\/(dist|node_modules)\//, "$1/") : "");
const print = (id, depth) => {
  const n = byId.get(id);
  const v = total.get(id);
  if (v < min || depth > Number(depthArg)) return;
  const cf = n.callFrame;
  console.log(`${(v / requests).toFixed(1).padStart(7)} ${((self.get(id) ?? 0) / requests).toFixed(1).padStart(6)} ${"  ".repeat(depth)}${cf.functionName || "(anonymous)"} ${short(cf.url)}${cf.url ? ":" + (cf.lineNumber + 1) : ""}`);
  for (const c of [...(n.children ?? [])].sort((a, b) => total.get(b) - total.get(a))) print(c, depth + 1);
};
console.log("  total   self  (µs per request)");
print(rootId, 0);
