// Compiles Portcullis's own .proto files (proto/portcullis/**) with buf and protoc-gen-es — the
// toolchain @zitadel/proto is built with — into src/api/proto/portcullis/**/*_pb.ts (committed).
// The imported ZITADEL and Google protos are declared in proto-vendor/ (see its README); the
// generated code imports their real descriptors from @zitadel/proto (buf.gen.yaml).
//
//   node scripts/gen-proto.mjs          writes the modules (run by scripts/build.mjs when a .proto changed)
//   node scripts/gen-proto.mjs --check  exits 1 when a committed module is out of date
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const committed = path.join(root, "src", "api", "proto");
const check = process.argv.includes("--check");

/** The generated modules under `base`, as paths relative to it. */
function files(base, dir = base, out = []) {
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) files(base, p, out);
    else if (e.endsWith("_pb.ts")) out.push(path.relative(base, p));
  }
  return out.sort();
}
const read = (f) => {
  try {
    return readFileSync(f, "utf8");
  } catch {
    return undefined;
  }
};

// buf writes where buf.gen.yaml says (src/api/proto); --check generates into a copy of the project's
// proto inputs so that the working tree is not touched.
const work = check ? mkdtempSync(path.join(os.tmpdir(), "portcullis-gen-proto-")) : root;
try {
  if (check) {
    for (const f of ["buf.yaml", "buf.gen.yaml", "proto", "proto-vendor"]) cpSync(path.join(root, f), path.join(work, f), { recursive: true });
    symlinkSync(path.join(root, "node_modules"), path.join(work, "node_modules"), "dir");
  }
  const buf = path.join(root, "node_modules", ".bin", "buf");
  const r = spawnSync(buf, ["generate", "--path", "proto/portcullis"], { cwd: work, encoding: "utf8" });
  if (r.status !== 0) {
    process.stderr.write(`gen-proto: buf generate failed:\n${r.stderr || r.error}\n`);
    process.exit(1);
  }
  if (check) {
    const fresh = path.join(work, "src", "api", "proto");
    const stale = [...new Set([...files(fresh), ...files(committed)])].filter((f) => read(path.join(fresh, f)) !== read(path.join(committed, f)));
    for (const f of stale) process.stderr.write(`gen-proto: src/api/proto/${f} is out of date (run node scripts/gen-proto.mjs)\n`);
    process.exit(stale.length ? 1 : 0);
  }
} finally {
  if (check) rmSync(work, { recursive: true, force: true });
}
