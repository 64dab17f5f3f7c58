/**
 * The embedded cluster (`<dataDir>/pgdata`): how PGlite is started, and how a new cluster is made
 * without running initdb in the server process.
 *
 * PGlite's `create` on an empty directory runs initdb inside the calling process: a second
 * PostgreSQL instance in memory, initdb's own WebAssembly module and a tar of the result, about
 * 0.6–0.8 GiB of RSS that the process keeps (WebAssembly memory never shrinks, and glibc keeps the
 * freed arenas). So a new cluster is made elsewhere and only ever *reopened* in the server:
 *
 * - `npm run build` makes a template once (`dist/pglite-template/pgdata`, a cluster PGlite made and
 *   closed cleanly, with `template.json` naming the PGlite version); the first start copies it
 *   (`copyTemplate`), which takes a fraction of a second and no PostgreSQL at all.
 * - Without a template (a build that skipped it, another PGlite version), the cluster is made in a
 *   short-lived child process (`pglite-initdb.js`) that exits when done, or with its parent.
 *
 * Either way the new cluster is written to `pgdata.new-<pid>-<n>` under the caller's data-directory
 * lock and renamed to `pgdata` when complete, so an interrupted first start leaves no half-made
 * `pgdata` (the leftover is removed on the next start).
 */
import { fork } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { compiledModuleOption, useBaselineWasmCompiler } from "./pglite-wasm.js";
import type { PGlite } from "@electric-sql/pglite";
import { NodeFS } from "@electric-sql/pglite/nodefs";

/**
 * PostgreSQL settings of the embedded store, given as `-c` start parameters (the cluster's
 * postgresql.conf is not changed). PGlite allocates and initialises the whole buffer pool in its
 * WebAssembly memory at start, so `shared_buffers` is resident from the first second: 128 MB
 * (initdb's default) was 0.15 GiB of the process. Pages that do not fit are read from the files
 * through the kernel's page cache. See docs/benchmarks.md ("Footprint of the embedded store").
 */
export const PGLITE_SETTINGS: Readonly<Record<string, string>> = {
  shared_buffers: "16MB",
};

/**
 * PGlite's own start parameters (single-user mode; fsync off) plus PGLITE_SETTINGS; with `fsync`,
 * PostgreSQL's fsync is on (PGlite's `-F` dropped) with `wal_sync_method=fsync`: the one sync call
 * that reaches the file system (emscripten's fdatasync does nothing), where `syncingNodeFS` makes it
 * a real fdatasync. Without `fsync` PostgreSQL never syncs: a commit is in the OS's page cache.
 */
export function pgliteStartParams(pglite: Pick<typeof PGlite, "defaultStartParams">, opts: { fsync?: boolean } = {}): string[] {
  const base = opts.fsync ? [...pglite.defaultStartParams.filter((p) => p !== "-F"), "-c", "fsync=on", "-c", "wal_sync_method=fsync"] : pglite.defaultStartParams;
  return [...base, ...Object.entries(PGLITE_SETTINGS).flatMap(([k, v]) => ["-c", `${k}=${v}`])];
}

/** Emscripten's EIO. */
const WASM_EIO = 29;

/**
 * PGlite's NodeFS, with the fsync emscripten's NODEFS lacks (its stream operations have none, so a
 * sync call of PostgreSQL did nothing): `fs.fdatasyncSync` on the file's descriptor. PostgreSQL calls
 * it at every commit (the WAL) and at checkpoints (data files, directories). A failing sync fails
 * the call with EIO, as a disk error would (PostgreSQL then refuses to go on, as it should).
 */
export class SyncingNodeFS extends NodeFS {
  override async init(pg: PGlite, opts: Parameters<NodeFS["init"]>[1]) {
    const r = await super.init(pg, opts);
    const preRun = [...(r.emscriptenOpts.preRun ?? [])];
    preRun.push((mod: { NODEFS: { stream_ops: Record<string, unknown> }; FS: { ErrnoError: new (errno: number) => Error } }) => {
      mod.NODEFS.stream_ops.fsync = (stream: { nfd?: number }) => {
        if (stream.nfd === undefined) return 0;
        try {
          fs.fdatasyncSync(stream.nfd);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === "EINVAL" || code === "EBADF") return 0; // a descriptor that cannot be synced (nothing to lose)
          throw new mod.FS.ErrnoError(WASM_EIO);
        }
        return 0;
      };
    });
    return { ...r, emscriptenOpts: { ...r.emscriptenOpts, preRun } };
  }
}

export { compiledModuleOption, useBaselineWasmCompiler };

const here = path.dirname(fileURLToPath(import.meta.url));
/** The build's template, next to the compiled store (dist/pglite-template). */
export const TEMPLATE_DIR = path.resolve(here, "..", "pglite-template");
/** Where a template is looked for: next to this module, and dist/'s when running from src/ (unit tests). */
const TEMPLATE_DIRS = [TEMPLATE_DIR, path.resolve(here, "..", "..", "dist", "pglite-template")];
/** dist/store/pglite-initdb.js, also from the bundle of the server (dist/bundle, one level below dist/ too). */
const CHILD_SCRIPT = path.resolve(here, "..", "store", "pglite-initdb.js");
const NEW_PREFIX = "pgdata.new-";

export interface TemplateInfo {
  pgliteVersion: string;
  createdAt: string;
}

/** The version of the PGlite package this process runs. */
export function pgliteVersion(): string {
  const entry = fileURLToPath(import.meta.resolve("@electric-sql/pglite"));
  let dir = path.dirname(entry);
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
      const v = (JSON.parse(fs.readFileSync(pkg, "utf8")) as { name?: string; version?: string });
      if (v.name === "@electric-sql/pglite" && typeof v.version === "string") return v.version;
    }
    const up = path.dirname(dir);
    if (up === dir) return "unknown";
    dir = up;
  }
}

/** The template's cluster directory if there is one for this PGlite version. */
export function findTemplate(templateDir?: string): string | undefined {
  const version = pgliteVersion();
  for (const dir of templateDir ? [templateDir] : TEMPLATE_DIRS) {
    try {
      const info = JSON.parse(fs.readFileSync(path.join(dir, "template.json"), "utf8")) as Partial<TemplateInfo>;
      const pgdata = path.join(dir, "pgdata");
      if (info.pgliteVersion === version && fs.existsSync(path.join(pgdata, "PG_VERSION"))) return pgdata;
    } catch {
      /* no template here */
    }
  }
  return undefined;
}

/** Runs initdb in this process: PGlite.create on an empty directory, then a clean close. */
export async function createClusterHere(dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  // Loaded here, not at the top: `npm run build` checks the template without loading PGlite.
  const { PGlite } = await import("@electric-sql/pglite");
  const db = await PGlite.create({ dataDir: dir, relaxedDurability: false, ...(await compiledModuleOption()), startParams: pgliteStartParams(PGlite) });
  await db.close();
  if (!fs.existsSync(path.join(dir, "PG_VERSION"))) throw new Error(`initdb did not create a cluster in ${dir}`);
}

/** Runs initdb in a child process (pglite-initdb.js) that dies with this one. */
function createClusterInChild(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD_SCRIPT, [dir], { stdio: ["ignore", "ignore", "pipe", "ipc"], execArgv: [] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`creating the embedded database in ${dir} failed (${signal ?? `exit code ${code}`}): ${stderr.trim()}`));
    });
  });
}

/**
 * Copies the template file by file (modes kept; a reflink where the filesystem offers one). Not
 * fsynced, like everything PGlite writes (it runs PostgreSQL with fsync off; see pglite-adapter.ts).
 */
function copyTree(from: string, to: string): void {
  const st = fs.statSync(from);
  fs.mkdirSync(to, { mode: st.mode & 0o7777 });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, e.name);
    const dst = path.join(to, e.name);
    if (e.isDirectory()) copyTree(src, dst);
    else if (e.isFile()) fs.copyFileSync(src, dst, fs.constants.COPYFILE_FICLONE);
    else throw new Error(`unexpected entry in the template: ${src}`);
  }
}

/** Makes `dataDir/pgdata` if it is not a cluster yet. The caller holds the data-directory lock. */
export async function ensureCluster(root: string, opts: { templateDir?: string; onWarning?: (msg: string) => void } = {}): Promise<"existing" | "template" | "initdb"> {
  const pgdata = path.join(root, "pgdata");
  if (fs.existsSync(path.join(pgdata, "PG_VERSION"))) return "existing";
  // Leftovers of an interrupted first start (ours: we hold the lock).
  for (const name of fs.readdirSync(root)) if (name.startsWith(NEW_PREFIX)) fs.rmSync(path.join(root, name), { recursive: true, force: true });
  const fresh = path.join(root, `${NEW_PREFIX}${process.pid}-${Date.now()}`);
  const template = findTemplate(opts.templateDir);
  let how: "template" | "initdb";
  try {
    if (template) {
      copyTree(template, fresh);
      how = "template";
    } else {
      if (fs.existsSync(CHILD_SCRIPT)) await createClusterInChild(fresh);
      else await createClusterHere(fresh); // running from the TypeScript sources (unit tests)
      how = "initdb";
    }
  } catch (e) {
    fs.rmSync(fresh, { recursive: true, force: true });
    throw e;
  }
  // A pgdata without PG_VERSION is not a cluster (a first start of an older version that stopped
  // during initdb): an empty one is removed, anything else kept aside.
  if (fs.existsSync(pgdata)) {
    if (fs.readdirSync(pgdata).length === 0) fs.rmdirSync(pgdata);
    else {
      const aside = path.join(root, `pgdata.incomplete-${new Date().toISOString().replace(/[:.]/g, "-")}`);
      fs.renameSync(pgdata, aside);
      opts.onWarning?.(`${pgdata} held no database (no PG_VERSION); moved it to ${aside} and created a new one`);
    }
  }
  fs.renameSync(fresh, pgdata);
  return how;
}

/**
 * Makes the template (`npm run build` does, once per PGlite version): a cluster created and closed
 * cleanly by this PGlite, with template.json next to it. Written beside `templateDir` and renamed
 * into place, so a concurrent or interrupted build never leaves half a template.
 */
export async function makeTemplate(templateDir = TEMPLATE_DIR): Promise<void> {
  const tmp = `${templateDir}.tmp-${process.pid}-${Date.now()}`;
  try {
    await createClusterHere(path.join(tmp, "pgdata"));
    const info: TemplateInfo = { pgliteVersion: pgliteVersion(), createdAt: new Date().toISOString() };
    fs.writeFileSync(path.join(tmp, "template.json"), JSON.stringify(info, null, 2) + "\n");
    if (findTemplate(templateDir)) return; // another build made it meanwhile
    fs.rmSync(templateDir, { recursive: true, force: true });
    fs.renameSync(tmp, templateDir);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
