import { accessSync, constants, existsSync } from "node:fs";
import path from "node:path";
import type { Config } from "../config/schema.js";
import { deriveKeys } from "../crypto/keys.js";
import { migrationStatus, serverInfo, storedMasterKey } from "../store/inspect.js";
import { describePgError, describePostgresUrl, probePostgres } from "../store/pg-startup.js";
import { openPglite } from "../store/pglite-adapter.js";
import { openPostgres } from "../store/postgres-adapter.js";
import type { SqlPort } from "../store/sql.js";

/**
 * `portcullis doctor`: configuration, database reachability, migrations, master key and clock, each
 * with what to fix. Read-only: it never migrates, bootstraps or generates a key. The embedded store
 * is opened only when no server holds its data directory (a running server keeps the lock; then the
 * database checks are skipped and doctor says so).
 */
export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What the operator should do (warn and fail). */
  fix?: string;
}

/** A clock this far from the database server's is reported (warn), and this far refused (fail). */
const CLOCK_WARN_MS = 2_000;
const CLOCK_FAIL_MS = 60_000;
const DATABASE_CHECKS = ["migrations", "master key", "clock"] as const;

export async function runDoctor(config: Config, now: () => number = Date.now): Promise<Check[]> {
  const checks: Check[] = [configurationCheck(config)];
  const skipRest = (detail: string) => {
    for (const name of DATABASE_CHECKS) checks.push({ name, status: "skip", detail });
    return checks;
  };

  let sql: SqlPort;
  if (config.databaseUrl) {
    const t = describePostgresUrl(config.databaseUrl);
    const where = `PostgreSQL at ${t.host}:${t.port}/${t.database}`;
    const error = await probePostgres(config.databaseUrl, config.db.connectTimeoutMs);
    if (error !== undefined) {
      checks.push({
        name: "database",
        status: "fail",
        detail: `${where} is not reachable: ${describePgError(error, config.databaseUrl)}`,
        fix: "check PORTCULLIS_DATABASE_URL (host, port, user, password, database) and that the database is up and reachable from here",
      });
      return skipRest("needs the database");
    }
    sql = await openPostgres(config.databaseUrl, { max: 1, connectTimeoutMs: config.db.connectTimeoutMs });
    checks.push({ name: "database", status: "ok", detail: `${where} is reachable` });
  } else {
    const pgdata = path.join(config.dataDir, "pgdata");
    if (!existsSync(path.join(pgdata, "PG_VERSION"))) {
      checks.push({
        name: "database",
        status: "warn",
        detail: `no embedded database in ${config.dataDir} yet`,
        fix: "the first `portcullis start` creates it; if you expected data there, check PORTCULLIS_DATA_DIR (or set PORTCULLIS_DATABASE_URL for PostgreSQL)",
      });
      return skipRest("no database yet");
    }
    try {
      sql = await openPglite(config.dataDir);
    } catch (e) {
      if ((e as { code?: unknown }).code === "EDATADIRLOCKED") {
        const pid = (e as { owner?: { pid?: number } }).owner?.pid;
        checks.push({
          name: "database",
          status: "skip",
          detail: `embedded database in ${config.dataDir} is in use by a running Portcullis${pid ? ` (pid ${pid})` : ""}; its readiness: GET /debug/ready`,
          fix: "stop that server to let doctor check migrations and the master key here",
        });
        return skipRest("the data directory is in use by a running server");
      }
      checks.push({ name: "database", status: "fail", detail: `embedded database in ${config.dataDir} cannot be opened: ${oneLine(e)}`, fix: "check PORTCULLIS_DATA_DIR and its permissions" });
      return skipRest("needs the database");
    }
    checks.push({ name: "database", status: "ok", detail: `embedded database in ${config.dataDir} opens` });
  }

  try {
    checks.push(await attempt("migrations", () => migrationsCheck(sql)));
    checks.push(await attempt("master key", () => masterKeyCheck(sql, config)));
    checks.push(sql.dialect === "pglite" ? { name: "clock", status: "skip", detail: "the embedded database uses this machine's clock" } : await attempt("clock", () => clockCheck(sql, now)));
  } finally {
    await sql.close();
  }
  return checks;
}

const oneLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0]!;

async function attempt(name: string, fn: () => Promise<Check>): Promise<Check> {
  try {
    return await fn();
  } catch (e) {
    const cause = (e as { cause?: unknown }).cause;
    return { name, status: "fail", detail: `could not be checked: ${oneLine(cause ?? e)}`, fix: "check that the database user may read Portcullis's tables" };
  }
}

function configurationCheck(config: Config): Check {
  const storage = config.databaseUrl
    ? (() => {
        const t = describePostgresUrl(config.databaseUrl);
        return `PostgreSQL at ${t.host}:${t.port}/${t.database}`;
      })()
    : `embedded in ${config.dataDir}`;
  const detail = `valid; storage ${storage}, issuer ${config.externalUrl}`;
  if (config.tls) {
    for (const [key, file] of [["tls.cert", config.tls.cert], ["tls.key", config.tls.key]] as const) {
      try {
        accessSync(file, constants.R_OK);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? "unreadable";
        return { name: "configuration", status: "fail", detail: `${key} ${file} cannot be read (${code})`, fix: `point PORTCULLIS_${key === "tls.cert" ? "TLS_CERT" : "TLS_KEY"} at a readable PEM file` };
      }
    }
  }
  if (config.externalUrl === `http://localhost:${config.port}`)
    return {
      name: "configuration",
      status: "warn",
      detail: `${detail} (the default)`,
      fix: "set PORTCULLIS_EXTERNAL_URL to the URL clients use: tokens name it as their issuer",
    };
  return { name: "configuration", status: "ok", detail };
}

async function migrationsCheck(sql: SqlPort): Promise<Check> {
  const s = await migrationStatus(sql);
  if (s.unknown.length > 0)
    return {
      name: "migrations",
      status: "fail",
      detail: `the database has migration${s.unknown.length === 1 ? "" : "s"} ${s.unknown.join(", ")}, unknown to this version of Portcullis`,
      fix: "a newer Portcullis migrated this database: run that version (or newer)",
    };
  if (s.pending.length > 0)
    return {
      name: "migrations",
      status: "warn",
      detail: s.applied.length === 0 ? `empty database: ${s.pending.length} migrations pending` : `${s.pending.length} pending (${s.pending.join(", ")})`,
      fix: "`portcullis start` applies them, or run `portcullis migrate`",
    };
  return { name: "migrations", status: "ok", detail: `up to date (${s.applied.length} applied)` };
}

const fingerprint = (check: string) => check.slice(0, 12);

async function masterKeyCheck(sql: SqlPort, config: Config): Promise<Check> {
  const name = "master key";
  const stored = await storedMasterKey(sql);
  if (stored.check === undefined)
    return config.masterkey
      ? { name, status: "ok", detail: `PORTCULLIS_MASTERKEY is set (fingerprint ${fingerprint(deriveKeys(config.masterkey).check)}); the first start records it` }
      : {
          name,
          status: "warn",
          detail: "not set: the first start generates one and keeps it in the database",
          fix: "in production set PORTCULLIS_MASTERKEY (≥ 32 characters) from a secret store before the first start",
        };
  if (config.masterkey) {
    const keys = deriveKeys(config.masterkey, config.masterkeyPrevious ?? []);
    if (keys.check === stored.check)
      return {
        name,
        status: "ok",
        detail:
          `PORTCULLIS_MASTERKEY matches this database (fingerprint ${fingerprint(keys.check)})` +
          (keys.previous.length > 0 ? "; PORTCULLIS_MASTERKEY_PREVIOUS is set: `portcullis masterkey rotate` reports what still needs it" : ""),
      };
    const previous = keys.previous.findIndex((k) => k.check === stored.check);
    if (previous >= 0)
      return {
        name,
        status: "warn",
        detail: `the database's fingerprint is that of PORTCULLIS_MASTERKEY_PREVIOUS key ${previous + 1} (${fingerprint(stored.check)}), not PORTCULLIS_MASTERKEY's (${fingerprint(keys.check)})`,
        fix: "a master key rotation is under way: once every process runs with the new key, run `portcullis masterkey rotate`",
      };
    return {
      name,
      status: "fail",
      detail:
        `${keys.previous.length > 0 ? "neither PORTCULLIS_MASTERKEY nor PORTCULLIS_MASTERKEY_PREVIOUS" : "PORTCULLIS_MASTERKEY"} (fingerprint ${fingerprint(keys.check)}) ` +
        `${keys.previous.length > 0 ? "matches" : "does not match"} the key this database was initialised with (fingerprint ${fingerprint(stored.check)})`,
      fix: "set PORTCULLIS_MASTERKEY to the key this database was initialised with; the server refuses to start with another one",
    };
  }
  if (stored.masterkey === undefined)
    return {
      name,
      status: "fail",
      detail: `this database was initialised with PORTCULLIS_MASTERKEY (fingerprint ${fingerprint(stored.check)}), which is not set`,
      fix: "set PORTCULLIS_MASTERKEY to the same key",
    };
  const generated = deriveKeys(Buffer.from(stored.masterkey, "base64")).check;
  if (generated !== stored.check)
    return { name, status: "fail", detail: "the master key kept in the database does not match its own fingerprint", fix: "restore system_settings from a backup, or set the PORTCULLIS_MASTERKEY that matches the stored fingerprint" };
  return {
    name,
    status: "warn",
    detail: `generated and kept in the database (fingerprint ${fingerprint(generated)}): whoever reads the database can mint tokens`,
    fix: "fine for development; in production keep the key out of the database (see the README, \"The master key\")",
  };
}

async function clockCheck(sql: SqlPort, now: () => number): Promise<Check> {
  const sent = now();
  const info = await serverInfo(sql);
  const received = now();
  const skew = info.now.getTime() - (sent + received) / 2;
  const abs = Math.abs(Math.round(skew));
  const detail = `${abs} ms ${skew >= 0 ? "behind" : "ahead of"} the database server's clock (PostgreSQL ${info.version}; measured to ±${Math.ceil((received - sent) / 2)} ms)`;
  if (abs <= CLOCK_WARN_MS) return { name: "clock", status: "ok", detail };
  return {
    name: "clock",
    status: abs > CLOCK_FAIL_MS ? "fail" : "warn",
    detail,
    fix: "synchronise this machine's clock and the database server's (NTP): token lifetimes, assertion checks and event times depend on them",
  };
}

const LABEL: Record<CheckStatus, string> = { ok: "ok", warn: "WARN", fail: "FAIL", skip: "skip" };

/** One line per check (and a `fix:` line under each warning and failure), then a summary. */
export function formatDoctorReport(checks: readonly Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.flatMap((c) => {
    const head = `${LABEL[c.status].padEnd(5)} ${c.name.padEnd(width)}  ${c.detail}`;
    return c.fix && c.status !== "ok" ? [head, `${"".padEnd(5 + width + 3)}fix: ${c.fix}`] : [head];
  });
  const failed = checks.filter((c) => c.status === "fail").length;
  const warned = checks.filter((c) => c.status === "warn").length;
  lines.push(
    failed > 0
      ? `${failed} check${failed === 1 ? "" : "s"} failed${warned ? `, ${warned} warning${warned === 1 ? "" : "s"}` : ""}: fix what is marked FAIL above`
      : warned > 0
        ? `no failures, ${warned} warning${warned === 1 ? "" : "s"}`
        : "all checks passed",
  );
  return lines.join("\n") + "\n";
}
