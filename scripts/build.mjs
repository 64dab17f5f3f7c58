// `npm run build` (run by `npm start`, `npm test` and `npm run bench` too): compiles src/ into dist/
// with tsc when an input changed since the last build, writes the OpenAPI documents, and makes the embedded store's template
// (dist/pglite-template, see src/store/pglite-cluster.ts) when there is none for the installed
// PGlite. With nothing changed it takes a few tens of milliseconds, so `npm start` answers soon.
//
// The inputs are identified by content (SHA-256 of every compiled source file, the tsconfig files
// and the package files), not by modification times, so a checkout, stash or copy that keeps old
// mtimes still rebuilds. tsc itself runs incrementally (tsconfig.build.json: dist/.tsbuildinfo).
// `--force` compiles regardless.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const stampFile = path.join(dist, ".build-inputs");
const force = process.argv.includes("--force");

/** The files tsconfig.build.json compiles: src/**\/*.ts without tests and test harnesses. */
function sources(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "testing") sources(p, out);
    } else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

/** Portcullis's own .proto files and the declarations they import (compiled into src/api/proto by scripts/gen-proto.mjs). */
function protos(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) protos(p, out);
    else if (e.name.endsWith(".proto")) out.push(p);
  }
  return out;
}

function inputsHash() {
  const files = [...protos(path.join(root, "proto")), ...protos(path.join(root, "proto-vendor")), ...sources(path.join(root, "src")), ...["buf.yaml", "buf.gen.yaml", "tsconfig.json", "tsconfig.build.json", "package.json", "package-lock.json"].map((f) => path.join(root, f))];
  const h = createHash("sha256");
  for (const f of files.map((f) => path.relative(root, f)).sort()) {
    h.update(f).update("\0");
    h.update(existsSync(path.join(root, f)) ? readFileSync(path.join(root, f)) : "(missing)").update("\0");
  }
  return h.digest("hex");
}

const hash = inputsHash();
let previous;
try {
  previous = JSON.parse(readFileSync(stampFile, "utf8")).inputs;
} catch {}
const upToDate = !force && previous === hash && existsSync(path.join(dist, "cli", "main.js"));
if (!upToDate) {
  // Without a stamp the outputs may not match tsc's incremental state: compile everything.
  if (previous === undefined || force) rmSync(path.join(dist, ".tsbuildinfo"), { force: true });
  rmSync(stampFile, { force: true });
  // The descriptor modules of proto/ (committed; rewritten only when a .proto changed).
  const gen = spawnSync(process.execPath, [path.join(root, "scripts", "gen-proto.mjs")], { stdio: "inherit", cwd: root });
  if (gen.status !== 0) process.exit(gen.status ?? 1);
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json")], { stdio: "inherit", cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
  writeFileSync(stampFile, JSON.stringify({ inputs: hash }) + "\n");
}

// The OpenAPI documents (dist/openapi/), from the compiled descriptors: after every compile.
if (!upToDate || !existsSync(path.join(dist, "openapi"))) {
  const r = spawnSync(process.execPath, [path.join(dist, "cli", "build-openapi.js")], { stdio: "inherit", cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const cluster = await import(pathToFileURL(path.join(dist, "store", "pglite-cluster.js")).href);
if (!cluster.findTemplate(cluster.TEMPLATE_DIR)) {
  process.stderr.write("build: making the embedded store's template (dist/pglite-template), once per PGlite version ...\n");
  cluster.useBaselineWasmCompiler();
  await cluster.makeTemplate();
}
