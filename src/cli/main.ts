#!/usr/bin/env node
// The `portcullis` command: dispatch and --help. It loads only what the command needs: the operator
// commands (ops.ts, a client of a running server) without any server module, the server-side commands
// (server-commands.ts) from the build's bundle when it is current (one file instead of some 570
// modules: about 0.4 s of CPU less per start, docs/benchmarks.md "Footprint of the embedded store").
import module from "node:module";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// V8's code cache for the modules loaded from here on (Node ≥ 22.1; absent on Node 20). Node keeps it
// in <os.tmpdir()>/node-compile-cache, keyed by file content, safe for concurrent processes;
// NODE_DISABLE_COMPILE_CACHE=1 turns it off.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

/** The operator commands (ops.ts): a client of a running server's API. */
const OPERATOR_COMMANDS = ["login", "logout", "machine", "secret", "key", "pat", "token", "member", "console", "completion"];

/** The server-side commands (server-commands.ts runs them) with their summaries. */
const commands: Record<string, { summary: string }> = {
  start: { summary: "Run the server (migrates and bootstraps on first start); --workers N|auto: N processes on one port (PostgreSQL)." },
  migrate: { summary: "Apply pending database migrations and exit." },
  "projections rebuild": { summary: "Rebuild every projection table from the events and exit." },
  "config print": { summary: "Print the effective configuration (secrets redacted) and exit." },
  "keys list": { summary: "List the token signing keys with their state (next, active, retired) and exit." },
  "keys rotate": { summary: "Make a key that has not signed yet (the published next key, else a new one) sign now; the old one stays published until its tokens expired." },
  "keys publish": { summary: "Publish a new next signing key now; it starts signing after signingKeys.publishAhead (a graceful rotation)." },
  "masterkey rotate": { summary: "Re-wrap the signing keys and the fingerprint under PORTCULLIS_MASTERKEY and report what still depends on PORTCULLIS_MASTERKEY_PREVIOUS." },
  backup: {
    summary: "backup <file> [--token <PAT>] [--server-url <url>]: write a consistent backup of the embedded store (of the running server, through its API, when it holds the data directory). PostgreSQL: pg_dump.",
  },
  restore: {
    summary: "restore <file>: replace the embedded store by a backup (server stopped; the master key must be the backup's). PostgreSQL: pg_restore.",
  },
  doctor: {
    summary: "Check configuration, database, migrations, master key and clock without changing anything; exit 1 if a check fails.",
  },
};

function usage(): string {
  const lines = [
    "Usage: portcullis <command> [flags]",
    "",
    "Commands:",
    ...Object.entries(commands).map(([n, c]) => `  ${n.padEnd(24)}${c.summary}`),
    "",
    "Operator commands (a client of a running server's API; `portcullis login <url>` first):",
    `  ${"login <url>".padEnd(24)}Store a PAT (from stdin or --token-file) for the server at <url>.`,
    `  ${"machine create|ls|rm".padEnd(24)}Machine users.`,
    `  ${"secret add|ls|rotate|rm".padEnd(24)}A machine user's client secrets (printed once, to stdout).`,
    `  ${"key add|ls|rm".padEnd(24)}A machine user's keys (key add --out key.json).`,
    `  ${"pat add|ls|rm".padEnd(24)}A machine user's personal access tokens (pat add --expires 90d).`,
    `  ${"token <machine>".padEnd(24)}Get an access token for a machine user to test with.`,
    `  ${"member add|ls|rm|roles".padEnd(24)}Organization members and their roles.`,
    `  ${"console login".padEnd(24)}Print a single-use sign-in link for the web console (/ui/console).`,
    `  ${"completion bash".padEnd(24)}Print a bash completion script.`,
    "  Each takes --org <id>, --output table|json and --help.",
    "",
    "Run 'portcullis <command> --help' for the flags of a command.",
  ];
  return lines.join("\n");
}

async function commandHelp(name: string): Promise<string> {
  const { envName, flagName, keys } = await import("../config/schema.js");
  const lines = [
    `Usage: portcullis ${name} [flags]`,
    "",
    commands[name]!.summary,
    "",
    "Flags (each also an environment variable; precedence: flag > environment > --config file > default):",
    `  --config <file>`.padEnd(34) + "YAML file with the keys below (env PORTCULLIS_CONFIG).",
    ...keys.map((k) => {
      const def = k.default !== undefined ? ` (default ${String(k.default)})` : "";
      return `  ${(flagName(k.path) + " <value>").padEnd(32)}${k.description}${def}\n  ${"".padEnd(32)}env ${envName(k.path)}`;
    }),
    "",
    "First-instance bootstrap reads ZITADEL's variables: ZITADEL_FIRSTINSTANCE_ORG_NAME (default Portcullis),",
    "ZITADEL_FIRSTINSTANCE_ORG_MACHINE_MACHINE_USERNAME (default admin; empty: no admin), _MACHINE_NAME,",
    "ZITADEL_FIRSTINSTANCE_ORG_MACHINE_PAT_EXPIRATIONDATE, ZITADEL_FIRSTINSTANCE_PATPATH (default <data dir>/admin.pat),",
    "ZITADEL_FIRSTINSTANCE_ORG_MACHINE_MACHINEKEY_TYPE=1 and ZITADEL_FIRSTINSTANCE_MACHINEKEYPATH.",
    "",
    "Tracing (OpenTelemetry, OTLP/HTTP JSON) is on when OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "or OTEL_TRACES_EXPORTER=otlp is set; also read: OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME, OTEL_SDK_DISABLED.",
  ];
  return lines.join("\n");
}

type ServerCommands = typeof import("./server-commands.js");
let loaded: ServerCommands | undefined;

/**
 * The server-side commands: the build's bundle of server-commands.js and everything it imports
 * (dist/bundle, made by scripts/build.mjs after each compile) when it was made from this compile (its
 * stamp names the hash of tsc's .tsbuildinfo, which a compile rewrites), else the modules themselves.
 */
async function serverCommands(): Promise<ServerCommands> {
  const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
  const bundle = path.join(dist, "bundle", "server-commands.js");
  let current: boolean;
  try {
    const stamp = JSON.parse(readFileSync(path.join(dist, "bundle", "stamp.json"), "utf8")) as { tsbuildinfo?: unknown };
    current = existsSync(bundle) && stamp.tsbuildinfo === bundleStamp(dist);
  } catch {
    current = false; // no bundle (running from src/, or built without rolldown)
  }
  loaded = (await import(current ? pathToFileURL(bundle).href : "./server-commands.js")) as ServerCommands;
  return loaded;
}

/** What the bundle's stamp records: the hash of dist/.tsbuildinfo (null without one). scripts/build.mjs writes it the same way. */
function bundleStamp(dist: string): string | null {
  const info = path.join(dist, ".tsbuildinfo");
  return existsSync(info) ? createHash("sha256").update(readFileSync(info)).digest("hex") : null;
}

/** Stack traces are shown with logLevel debug or trace (the environment's, or the loaded configuration's). */
const showStacks = () => (loaded ? loaded.stackTraces() : /^(debug|trace)$/.test(process.env.PORTCULLIS_LOG_LEVEL ?? ""));

async function main() {
  const args = process.argv.slice(2);
  if (args.length === 0 || args[0] === "--help" || args[0] === "-h" || args[0] === "help") {
    process.stdout.write(usage() + "\n");
    return;
  }
  if (OPERATOR_COMMANDS.includes(args[0]!)) {
    const { runOperator } = await import("./ops.js");
    process.exitCode = await runOperator(args);
    return;
  }
  let name = args[0]!;
  let rest = args.slice(1);
  if (!commands[name] && args[1] && commands[`${args[0]} ${args[1]}`]) {
    name = `${args[0]} ${args[1]}`;
    rest = args.slice(2);
  }
  const cmd = commands[name];
  // `start` on the embedded store (unless the environment or a flag names PostgreSQL; a config file
  // that does is read later, and the compile is then dropped): PGlite's WebAssembly starts compiling
  // on V8's background threads now, while the server's modules load (store/pglite-wasm.ts).
  if (name === "start" && !process.env.PORTCULLIS_DATABASE_URL && !rest.some((a) => a === "--database-url" || a.startsWith("--database-url=")))
    void import("../store/pglite-wasm.js").then((m) => m.compiledPgliteModule());
  if (!cmd) {
    process.stderr.write(`portcullis: unknown command "${args.slice(0, 2).join(" ")}"\n\n${usage()}\n`);
    process.exit(2);
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write((await commandHelp(name)) + "\n");
    return;
  }
  const run = (await serverCommands()).serverCommands[name]!;
  await run(rest);
}

/**
 * Problems the operator fixes (configuration, database, data directory, port): their message says what
 * to do. By name: the bundle has its own copies of the classes (ConfigError, StartupError, DatabaseUnreachableError).
 */
const OPERATOR_ERRORS = new Set(["ConfigError", "StartupError", "DatabaseUnreachableError"]);
const isOperatorError = (e: unknown) =>
  e instanceof Error && (OPERATOR_ERRORS.has(e.name) || (e as { code?: unknown }).code === "EDATADIRLOCKED" || /^data directory /.test(e.message));

/** One line, whatever failed: the cause's message where there is one. */
function errorLine(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (isOperatorError(e)) return e.message;
  const cause = (e as { cause?: unknown }).cause;
  const message = (e.message || e.name) + (cause instanceof Error && cause.message && !e.message.includes(cause.message) ? `: ${cause.message}` : "");
  return `${message.split("\n")[0]}${showStacks() ? "" : " (PORTCULLIS_LOG_LEVEL=debug shows the stack trace)"}`;
}

main().catch((e: unknown) => {
  // Every start-up problem is one line; the stack trace only at log level debug.
  process.stderr.write(`portcullis: ${errorLine(e)}\n`);
  if (showStacks() && e instanceof Error && e.stack) process.stderr.write(e.stack + "\n");
  process.exit(1);
});

