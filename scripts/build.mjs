// `npm run build` (run by `npm start`, `npm test` and `npm run bench` too): compiles src/ into dist/
// with tsc when an input changed since the last build, writes the OpenAPI documents, and makes the embedded store's template
// (dist/pglite-template, see src/store/pglite-cluster.ts) when there is none for the installed
// PGlite. With nothing changed it takes a few tens of milliseconds, so `npm start` answers soon.
//
// The inputs are identified by content (SHA-256 of every compiled source file, the tsconfig files
// and the package files), not by modification times, so a checkout, stash or copy that keeps old
// mtimes still rebuilds. tsc itself runs incrementally (tsconfig.build.json: dist/.tsbuildinfo).
// `--force` compiles regardless.
//
// The web console (console/, preact + Vite) is built the same way into dist/console: only when a file
// under console/, the generated protos it imports (src/api/proto) or the package files changed (stamp dist/.console-inputs), and the build fails when
// the initial bundle (the scripts and styles index.html loads) exceeds 250 KB gzipped.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
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

// The server-side commands bundled into one module graph (dist/bundle/server-commands.js, loaded by
// dist/cli/main.js): Node resolves, reads and links some 570 ES modules one by one otherwise (the
// ZITADEL descriptors, protobuf-es, connect, zod and dist/ itself), about 0.4 s of CPU per start.
// Packages that are CommonJS or find files next to themselves (PGlite's WebAssembly, pino's worker)
// stay outside. The stamp names the compile it was made from (main.ts checks it the same way).
const bundleDir = path.join(dist, "bundle");
const bundleStamp = () => (existsSync(path.join(dist, ".tsbuildinfo")) ? createHash("sha256").update(readFileSync(path.join(dist, ".tsbuildinfo"))).digest("hex") : null);
let bundledFrom;
try {
  bundledFrom = JSON.parse(readFileSync(path.join(bundleDir, "stamp.json"), "utf8")).tsbuildinfo;
} catch {}
if (!upToDate || bundledFrom !== bundleStamp() || !existsSync(path.join(bundleDir, "server-commands.js"))) {
  rmSync(bundleDir, { recursive: true, force: true });
  let rolldown;
  try {
    rolldown = await import("rolldown");
  } catch {
    process.stderr.write("build: rolldown (a devDependency, via vite) is not installed: the server runs from its modules (a slower start)\n");
  }
  if (rolldown) {
    const inline = /^(@bufbuild\/protobuf|@bufbuild\/cel|@bufbuild\/cel-spec|@bufbuild\/re2|@connectrpc\/connect|@connectrpc\/connect-node|@zitadel\/proto|zod)(\/|$)/;
    await rolldown.build({
      input: path.join(dist, "cli", "server-commands.js"),
      platform: "node",
      external: (id) => !id.startsWith(".") && !path.isAbsolute(id) && !inline.test(id),
      output: { dir: bundleDir, format: "esm" },
      // ops-client.ts imports the descriptors lazily for the operator commands; here they are in anyway.
      onLog: (level, log, handler) => log.code !== "INEFFECTIVE_DYNAMIC_IMPORT" && handler(level, log),
      logLevel: "warn",
    });
    writeFileSync(path.join(bundleDir, "stamp.json"), JSON.stringify({ tsbuildinfo: bundleStamp() }) + "\n");
  }
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

// The console: Vite, when console/, src/api/proto or the package files changed.
function consoleFiles(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) consoleFiles(p, out);
    else out.push(p);
  }
  return out;
}
const consoleDir = path.join(root, "console");
const consoleOut = path.join(dist, "console");
const consoleStamp = path.join(dist, ".console-inputs");
const ch = createHash("sha256");
for (const f of [...consoleFiles(consoleDir), ...consoleFiles(path.join(root, "src", "api", "proto")), path.join(root, "package-lock.json")].map((f) => path.relative(root, f)).sort())
  ch.update(f).update("\0").update(readFileSync(path.join(root, f))).update("\0");
const consoleHash = ch.digest("hex");
let previousConsole;
try {
  previousConsole = JSON.parse(readFileSync(consoleStamp, "utf8")).inputs;
} catch {}
if (existsSync(consoleDir) && (force || previousConsole !== consoleHash || !existsSync(path.join(consoleOut, "index.html")))) {
  rmSync(consoleStamp, { force: true });
  let vite;
  try {
    vite = await import("vite");
  } catch {
    // A production install without devDependencies: the server answers /ui/console with a hint.
    process.stderr.write("build: vite is not installed (devDependency): the web console is not built\n");
    process.exit(0);
  }
  await vite.build({ configFile: path.join(consoleDir, "vite.config.mjs") });
  // The initial bundle: every script and stylesheet index.html loads, gzipped.
  const html = readFileSync(path.join(consoleOut, "index.html"), "utf8");
  if (/<script(?![^>]*\ssrc=)[^>]*>/i.test(html)) {
    process.stderr.write("build: dist/console/index.html has an inline script; the Content-Security-Policy forbids it\n");
    process.exit(1);
  }
  let gz = 0;
  for (const [, ref] of html.matchAll(/(?:src|href)="\/ui\/console\/(assets\/[^"]+)"/g)) gz += gzipSync(readFileSync(path.join(consoleOut, ref))).length;
  const limit = 250 * 1024;
  process.stderr.write(`build: console built (initial bundle ${(gz / 1024).toFixed(1)} KB gzipped, limit ${limit / 1024} KB)\n`);
  if (gz > limit) process.exit(1);
  writeFileSync(path.join(consoleOut, "bundle-size.json"), JSON.stringify({ initialGzipBytes: gz, limitBytes: limit }) + "\n");
  writeFileSync(consoleStamp, JSON.stringify({ inputs: consoleHash }) + "\n");
}
