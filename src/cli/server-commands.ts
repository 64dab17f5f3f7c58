// The server-side commands of `portcullis` (start, migrate, keys, backup, doctor, …): everything that
// opens the store or serves. Loaded by main.ts only when one of them runs (the operator commands and
// --help load none of it), from the build's bundle (dist/bundle, scripts/build.mjs) when it is current.
import { ConfigError, loadConfig, redactedConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { createLogger, openStorage, startRuntime } from "../server/runtime.js";
import { loadServerKeys, StartupError } from "../server/system.js";
import { listSigningKeys, publishNextSigningKey, rotateSigningKeysNow } from "../server/signing-keys.js";
import { formatRewrapReport, rewrapUnderCurrentKey } from "../server/masterkey-rotation.js";
import { createIdGenerator } from "../app/core/ids.js";
import type { ServerKeys } from "../crypto/keys.js";
import type { SqlPort } from "../store/sql.js";
import { randomInt } from "node:crypto";
import type { RunningServer } from "../server/http.js";
import { migrate } from "../store/migrations.js";
import { compiledPgliteModule, discardPgliteModule } from "../store/pglite-wasm.js";
import { rebuildProjections } from "../store/rebuild.js";
import { addPersonalAccessToken } from "../app/users/pats.js";
import { signInLink, SIGNIN_LINK_MINUTES } from "./signin-link.js";
import cluster from "node:cluster";
import { reportReady, superviseWorkers, workerCount, workerMetrics, workerSlot } from "../server/workers.js";
import { backupCommand, restoreCommand } from "../server/backup.js";

/** Stack traces of start-up errors are for debugging: shown only with logLevel debug or trace (main.ts asks stackTraces()). */
let showStacks = /^(debug|trace)$/.test(process.env.PORTCULLIS_LOG_LEVEL ?? "");

function load(argv: string[]): Config {
  const config = loadConfig({ env: process.env, argv });
  showStacks = config.logLevel === "debug" || config.logLevel === "trace";
  return config;
}

async function start(argv: string[]) {
  const config = load(argv);
  // The embedded store's WebAssembly compiles on V8's background threads while the rest loads
  // (main.ts may have started it already; a compile started for a configuration that names
  // PostgreSQL is dropped).
  if (!config.databaseUrl) void compiledPgliteModule();
  else discardPgliteModule();
  const slot = workerSlot();
  const log = slot ? createLogger(config).child({ worker: slot }) : createLogger(config);
  if (cluster.isPrimary) {
    const n = workerCount(config.workers);
    if (n > 1 && !config.databaseUrl)
      log.warn(
        { workers: config.workers },
        `the embedded store runs in one process: --workers ${config.workers} needs PostgreSQL (PORTCULLIS_DATABASE_URL); starting one process`,
      );
    else if (n > 1) return superviseWorkers(config, log, n);
  }
  // The server's modules load while PGlite's WebAssembly compiles on V8's background threads: on the
  // embedded store before the store opens, which would otherwise only wait for the compile
  // (docs/benchmarks.md, "Footprint of the embedded store"); on PostgreSQL while it connects.
  const api = import("../server/http.js");
  api.catch(() => undefined); // a failed store start reports its own error first
  if (!config.databaseUrl) await api.catch(() => undefined);
  const rt = await startRuntime(config, log);
  const { startServer } = await api.catch(async (e: unknown) => {
    await rt.close().catch(() => undefined);
    throw e;
  });
  let server: RunningServer;
  try {
    const registry = rt.deps.metrics.registry;
    server = await startServer(rt.deps, log, () => rt.sql.ping(), { metrics: slot && registry ? workerMetrics(registry) : undefined });
  } catch (e) {
    await rt.close().catch(() => undefined);
    throw listenError(e, config);
  }
  const base = config.externalUrl;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    await server.close();
    await rt.close();
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  if (slot) {
    // The supervisor decides: Ctrl-C reaches every process of the group, the primary then sends SIGTERM.
    process.on("SIGINT", () => undefined);
    // The supervisor is gone (killed): nobody would replace or stop this worker.
    process.on("disconnect", () => void stop("supervisor gone"));
  } else process.on("SIGINT", () => void stop("SIGINT"));
  if (rt.boot.created && rt.boot.patPath) {
    process.stderr.write(
      `\nFirst start: admin machine user "${rt.boot.adminUserName}" created; its PAT was written to ${rt.boot.patPath}\n` +
        `Try:  curl -H "Authorization: Bearer $(cat ${rt.boot.patPath})" ${base}/management/v1/orgs/me\n\n`,
    );
    if (!process.stderr.isTTY) {
      // A credential goes to a person at a terminal, never into a log collector that keeps stderr.
      process.stderr.write(`Web console: ${base}/ui/console/ (a single-use sign-in link: portcullis console login)\n\n`);
    } else if (rt.boot.adminUserId && rt.boot.orgId) {
      // A single-use sign-in link for the web console, short-lived (docs/design.md, "Console sign-in").
      const caller = { userId: rt.boot.adminUserId, resourceOwner: rt.boot.orgId, orgId: rt.boot.orgId, system: true as const };
      const expires = new Date(rt.deps.clock().getTime() + SIGNIN_LINK_MINUTES * 60_000);
      const link = await addPersonalAccessToken(rt.deps, caller, rt.boot.adminUserId, expires).catch(() => undefined);
      if (link) process.stderr.write(`Web console (single use, for ${SIGNIN_LINK_MINUTES} minutes):  ${signInLink(base, link.tokenId, link.token)}\n\n`);
    }
  }
  if (slot) return reportReady(server.port, base, rt.boot.instanceId);
  log.info({ port: server.port, issuer: base, storage: config.databaseUrl ? "postgres" : `pglite:${config.dataDir}`, instanceId: rt.boot.instanceId }, "portcullis ready");
}

/** The port or address cannot be used, or a TLS file cannot be read: say which, and what to set. */
function listenError(e: unknown, config: Config): unknown {
  const err = e as NodeJS.ErrnoException;
  if (err?.syscall === "listen" || err?.syscall === "bind") {
    const where = `${config.host}:${config.port}`;
    if (err.code === "EADDRINUSE") return new StartupError(`port ${config.port} is already in use (${where}); stop the other process or set PORTCULLIS_PORT`);
    if (err.code === "EACCES") return new StartupError(`not allowed to listen on ${where} (ports below 1024 need privileges); set PORTCULLIS_PORT`);
    if (err.code === "EADDRNOTAVAIL") return new StartupError(`address ${config.host} is not an address of this machine; set PORTCULLIS_HOST`);
  }
  if (err?.syscall === "open" && err.path) return new StartupError(`cannot read ${err.path} (${err.code}); check PORTCULLIS_TLS_CERT and PORTCULLIS_TLS_KEY`);
  return e;
}

async function migrateCmd(argv: string[]) {
  const config = load(argv);
  const sql = await openStorage(config, createLogger(config));
  try {
    const applied = await migrate(sql);
    process.stdout.write(applied.length ? `applied migrations: ${applied.join(", ")}\n` : "database is up to date\n");
  } finally {
    await sql.close();
  }
}

async function rebuild(argv: string[]) {
  const config = load(argv);
  const sql = await openStorage(config, createLogger(config));
  try {
    await migrate(sql);
    const n = await rebuildProjections(sql);
    process.stdout.write(`projections rebuilt from ${n} events\n`);
  } finally {
    await sql.close();
  }
}

async function printConfig(argv: string[]) {
  const config = load(argv);
  process.stdout.write(JSON.stringify(redactedConfig(config), null, 2) + "\n");
}

/**
 * Opens the database (migrated) and the master keys for an operator command. With the embedded store
 * the server must be stopped (the data directory is locked); on PostgreSQL running processes pick the
 * change up at their next reload (signingKeys.reloadInterval) or on the first token naming a new kid.
 */
async function withKeys(argv: string[], fn: (sql: SqlPort, keys: ServerKeys, config: Config) => Promise<void>) {
  const config = load(argv);
  const sql = await openStorage(config, createLogger(config));
  try {
    await migrate(sql);
    await fn(sql, await loadServerKeys(sql, config), config);
  } finally {
    await sql.close();
  }
}

/** Kids only need to be unique among the signing keys; a random node keeps the command out of the cluster's node table. */
const operatorIds = () => createIdGenerator(randomInt(1024));

async function keysList(argv: string[]) {
  await withKeys(argv, async (sql, _keys, config) => {
    const rows = await listSigningKeys(sql, config, new Date());
    const lines = [`${"kid".padEnd(24)}${"state".padEnd(9)}${"signs from".padEnd(26)}published until`];
    for (const r of rows)
      lines.push(`${r.record.id.padEnd(24)}${r.state.padEnd(9)}${r.record.activateAt.toISOString().padEnd(26)}${r.removeAt ? r.removeAt.toISOString() : "-"}`);
    process.stdout.write(lines.join("\n") + "\n");
  });
}

async function keysRotate(argv: string[]) {
  await withKeys(argv, async (sql, keys, config) => {
    const r = await rotateSigningKeysNow(sql, keys, config, operatorIds(), new Date());
    process.stdout.write(`signing key ${r.active} signs from now on (${r.promoted ? "it was the published next key" : "new"})\n`);
    if (r.retired) process.stdout.write(`signing key ${r.retired.id} is retired: published until ${r.retired.removeAt.toISOString()}\n`);
  });
}

async function keysPublish(argv: string[]) {
  await withKeys(argv, async (sql, keys, config) => {
    const r = await publishNextSigningKey(sql, keys, config, operatorIds(), new Date());
    process.stdout.write(
      r.created
        ? `signing key ${r.id} published; it starts signing at ${r.activateAt.toISOString()}\n`
        : `signing key ${r.id} is already published as the next key; it starts signing at ${r.activateAt.toISOString()}\n`,
    );
  });
}

async function masterkeyRotate(argv: string[]) {
  await withKeys(argv, async (sql, keys, config) => {
    const report = await rewrapUnderCurrentKey(sql, keys, config, new Date());
    process.stdout.write(formatRewrapReport(report, keys) + "\n");
  });
}

/** The positional file and this command's own flags; the rest are configuration flags. */
function fileArgs(argv: string[], own: string[] = []): { file: string; flags: Record<string, string>; rest: string[] } {
  const rest: string[] = [];
  const flags: Record<string, string> = {};
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.startsWith("--") ? a.slice(2).split("=")[0]! : "";
    if (own.includes(name)) {
      flags[name] = a.includes("=") ? a.slice(a.indexOf("=") + 1) : (argv[++i] ?? "");
    } else if (!a.startsWith("-") && file === undefined && (i === 0 || !argv[i - 1]!.startsWith("--") || argv[i - 1]!.includes("="))) file = a;
    else rest.push(a);
  }
  if (!file) throw new StartupError("name the backup file: portcullis backup <file> / portcullis restore <file>");
  return { file, flags, rest };
}

async function backup(argv: string[]) {
  const { file, flags, rest } = fileArgs(argv, ["token", "server-url"]);
  const config = load(rest);
  process.stdout.write((await backupCommand(config, file, { ...(flags.token ? { token: flags.token } : {}), ...(flags["server-url"] ? { serverUrl: flags["server-url"] } : {}) })) + "\n");
}

async function restore(argv: string[]) {
  const { file, rest } = fileArgs(argv);
  const config = load(rest);
  process.stdout.write((await restoreCommand(config, file)) + "\n");
}

async function doctor(argv: string[]) {
  // The PostgreSQL driver comes with it: loaded for this command only.
  const { formatDoctorReport, runDoctor } = await import("../server/doctor.js");
  let config: Config;
  try {
    config = load(argv);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stdout.write(formatDoctorReport([{ name: "configuration", status: "fail", detail: e.message, fix: "correct that value (`portcullis doctor --help` lists every key)" }]));
    process.exitCode = 1;
    return;
  }
  const checks = await runDoctor(config);
  process.stdout.write(formatDoctorReport(checks));
  if (checks.some((c) => c.status === "fail")) process.exitCode = 1;
}
export const stackTraces = (): boolean => showStacks;

/** The commands by name (their summaries are main.ts's, for --help without loading this module). */
export const serverCommands: Record<string, (argv: string[]) => Promise<void>> = {
  start,
  migrate: migrateCmd,
  "projections rebuild": rebuild,
  "config print": printConfig,
  "keys list": keysList,
  "keys rotate": keysRotate,
  "keys publish": keysPublish,
  "masterkey rotate": masterkeyRotate,
  backup,
  restore,
  doctor,
};
