// PGlite's WebAssembly module: compiled with V8's baseline compiler only, once per process, as early
// as the start can tell that the store is embedded. Small and dependency-free on purpose: the CLI's
// entry (main.ts) imports it before it loads the server's bundle, which inlines its own copy of this
// module; the two share the compile through a process-wide symbol.
import * as fs from "node:fs";
import type { PGliteOptions } from "@electric-sql/pglite";
import * as v8 from "node:v8";

/**
 * V8 compiles PGlite's 9 MB WebAssembly module with its baseline compiler (Liftoff) only: tiering
 * hot functions up to TurboFan costs 60–80 MiB of resident compiler memory that glibc keeps, for no
 * measurable gain on the embedded store's queries (docs/benchmarks.md). Must run before the module
 * is compiled (the first PGlite.create of the process); it affects WebAssembly only.
 */
export function useBaselineWasmCompiler(): void {
  // Node 24's V8 does not derive the tier-up flags from --liftoff-only when it is set at run time
  // (only on the command line), and compiles with TurboFan anyway: 0.6 GiB resident instead of
  // 0.2. Setting the implied flags too holds on Node 20, 22 and 24 (test/footprint.test.ts).
  for (const flag of ["--liftoff-only", "--no-wasm-tier-up", "--no-wasm-dynamic-tiering"]) v8.setFlagsFromString(flag);
}

/** PGlite's own name for a compiled module (this project's TypeScript libs have no WebAssembly types). */
type WasmModule = NonNullable<PGliteOptions["pgliteWasmModule"]>;
const { WebAssembly: wasmApi } = globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> } };

const COMPILED = Symbol.for("portcullis.pgliteWasmModule");
type Holder = { [COMPILED]?: Promise<WasmModule | undefined> };

/**
 * PGlite's WebAssembly module (9 MB), compiled once per process on V8's background threads. The
 * start asks for it before anything else loads (main.ts, when no PostgreSQL is named), so the
 * compile overlaps loading the server instead of PGlite's create waiting for it (docs/benchmarks.md,
 * "Footprint of the embedded store"); every later open in the process (tests, backup) reuses it.
 * Undefined when the file cannot be found or compiled here: PGlite then loads and compiles it itself.
 */
export function compiledPgliteModule(): Promise<WasmModule | undefined> {
  const holder = globalThis as Holder;
  holder[COMPILED] ??= (async () => {
    useBaselineWasmCompiler();
    try {
      const wasm = new URL("pglite.wasm", import.meta.resolve("@electric-sql/pglite"));
      return await wasmApi.compile(await fs.promises.readFile(wasm));
    } catch {
      return undefined;
    }
  })();
  return holder[COMPILED];
}

/** The part of PGlite.create's options that reuses the process's compile (empty when there is none). */
export async function compiledModuleOption(): Promise<{ pgliteWasmModule?: WasmModule }> {
  const pgliteWasmModule = await compiledPgliteModule();
  return pgliteWasmModule ? { pgliteWasmModule } : {};
}

/** Drops a compile started for nothing (the configuration named PostgreSQL after all): its memory can go. */
export function discardPgliteModule(): void {
  delete (globalThis as Holder)[COMPILED];
}
