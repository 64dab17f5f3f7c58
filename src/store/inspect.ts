/**
 * Read-only looks at a database for `portcullis doctor`: nothing here writes, migrates or locks.
 */
import { migrations } from "./migrations.js";
import type { Queryable } from "./sql.js";

export interface MigrationStatus {
  /** Versions recorded in schema_migrations (empty for a database Portcullis never started on). */
  applied: number[];
  /** Versions this build has and the database lacks. */
  pending: number[];
  /** Versions the database has and this build does not know (a newer Portcullis migrated it). */
  unknown: number[];
}

const tableExists = async (sql: Queryable, table: string) =>
  (await sql.query<{ present: boolean }>("SELECT to_regclass($1) IS NOT NULL AS present", [table]))[0]?.present === true;

export async function migrationStatus(sql: Queryable): Promise<MigrationStatus> {
  const applied = (await tableExists(sql, "schema_migrations"))
    ? (await sql.query<{ version: number }>("SELECT version FROM schema_migrations ORDER BY version")).map((r) => Number(r.version))
    : [];
  const known = new Set(migrations.map((m) => m.version));
  const done = new Set(applied);
  return {
    applied,
    pending: migrations.map((m) => m.version).filter((v) => !done.has(v)),
    unknown: applied.filter((v) => !known.has(v)),
  };
}

/** The stored master key (only when it was generated) and its fingerprint, as the first start wrote them. */
export async function storedMasterKey(sql: Queryable): Promise<{ masterkey?: string; check?: string }> {
  if (!(await tableExists(sql, "system_settings"))) return {};
  const rows = await sql.query<{ key: string; value: string }>("SELECT key, value FROM system_settings WHERE key IN ('masterkey', 'masterkey_check')");
  const get = (k: string) => rows.find((r) => r.key === k)?.value;
  return { masterkey: get("masterkey"), check: get("masterkey_check") };
}

/** The database server's clock and version. */
export async function serverInfo(sql: Queryable): Promise<{ now: Date; version: string }> {
  const row = (await sql.query<{ now: Date | string; version: string }>("SELECT clock_timestamp() AS now, current_setting('server_version') AS version"))[0]!;
  return { now: row.now instanceof Date ? row.now : new Date(row.now), version: row.version };
}
