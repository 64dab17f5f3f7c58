/**
 * Child process of `ensureCluster` (pglite-cluster.ts): creates a PGlite cluster in the directory
 * given as its argument and exits, so that initdb's memory (0.6–0.8 GiB) is returned to the system
 * instead of staying in the server. Runs under its parent's data-directory lock; exits as soon as
 * the parent is gone (its IPC channel closes), leaving the unfinished directory for the next start
 * to remove.
 */
import { createClusterHere, useBaselineWasmCompiler } from "./pglite-cluster.js";

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: pglite-initdb.js <directory>\n");
  process.exit(2);
}
process.on("disconnect", () => process.exit(75));
useBaselineWasmCompiler();
createClusterHere(dir).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
