import { randomBytes } from "node:crypto";
import type { Config } from "../config/schema.js";
import { deriveKeys, type ServerKeys } from "../crypto/keys.js";
import { MIGRATION_LOCK_KEY } from "../store/migrations.js";
import type { Queryable, SqlPort } from "../store/sql.js";

export class StartupError extends Error {
  override readonly name = "StartupError";
}

/**
 * The master key: PORTCULLIS_MASTERKEY when given, otherwise one generated on first start and kept
 * in the database (convenient, but then whoever reads the database can also mint tokens; see the
 * README). A fingerprint is stored either way, so a wrong key is refused at start instead of
 * silently invalidating every secret and token.
 *
 * Rotation: PORTCULLIS_MASTERKEY_PREVIOUS lists earlier keys. The stored fingerprint may then be the
 * current key's or a previous one's (until `portcullis masterkey rotate` re-wraps what can be
 * re-wrapped and moves the fingerprint to the current key). The time a key was first used as the
 * current one is recorded (`masterkey_current`), so the rotate command can tell which secrets and
 * PATs were hashed under an earlier key.
 */
export async function loadServerKeys(sql: SqlPort, config: Config, now: Date = new Date()): Promise<ServerKeys> {
  return sql.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MASTERKEY_LOCK]);
    const rows = await tx.query<{ key: string; value: string }>(
      "SELECT key, value FROM system_settings WHERE key IN ('masterkey', 'masterkey_check', 'masterkey_current')",
    );
    const stored = new Map(rows.map((r) => [r.key, r.value]));
    let material: string | Buffer;
    if (config.masterkey) material = config.masterkey;
    else if (stored.has("masterkey")) material = Buffer.from(stored.get("masterkey")!, "base64");
    else if (stored.has("masterkey_check"))
      throw new StartupError("this database was initialised with PORTCULLIS_MASTERKEY; set the same key to start");
    else {
      material = randomBytes(32);
      await tx.query("INSERT INTO system_settings (key, value) VALUES ('masterkey', $1)", [material.toString("base64")]);
    }
    const keys = deriveKeys(material, config.masterkeyPrevious ?? []);
    const check = stored.get("masterkey_check");
    if (check === undefined) await tx.query("INSERT INTO system_settings (key, value) VALUES ('masterkey_check', $1)", [keys.check]);
    else if (check !== keys.check && !keys.previous.some((p) => p.check === check))
      throw new StartupError(
        keys.previous.length > 0
          ? "neither PORTCULLIS_MASTERKEY nor PORTCULLIS_MASTERKEY_PREVIOUS matches the key this database was initialised with"
          : config.masterkey
            ? "PORTCULLIS_MASTERKEY does not match the key this database was initialised with"
            : "the stored master key does not match this database's key fingerprint",
      );
    const current = parseCurrent(stored.get("masterkey_current"));
    if (current?.check !== keys.check) {
      // First use of this key as the current one. A database whose fingerprint is this key's (a new
      // one, or one from before rotation existed) has never had another key: everything is under it.
      const since = current === undefined && (check === undefined || check === keys.check) ? new Date(0) : now;
      await tx.query(
        "INSERT INTO system_settings (key, value) VALUES ('masterkey_current', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        [JSON.stringify({ check: keys.check, since: since.toISOString() })],
      );
    }
    return keys;
  });
}

const MASTERKEY_LOCK = MIGRATION_LOCK_KEY + 1;

function parseCurrent(v: string | undefined): { check: string; since: string } | undefined {
  if (!v) return undefined;
  try {
    return JSON.parse(v) as { check: string; since: string };
  } catch {
    return undefined;
  }
}

/** Where the master key rotation stands: the stored fingerprint's key and when the current key came into use. */
export async function masterkeyStatus(q: Queryable, keys: ServerKeys): Promise<{ fingerprintIsCurrent: boolean; currentSince: Date }> {
  const rows = await q.query<{ key: string; value: string }>("SELECT key, value FROM system_settings WHERE key IN ('masterkey_check', 'masterkey_current')");
  const stored = new Map(rows.map((r) => [r.key, r.value]));
  const current = parseCurrent(stored.get("masterkey_current"));
  return {
    fingerprintIsCurrent: stored.get("masterkey_check") === keys.check,
    currentSince: current?.check === keys.check ? new Date(current.since) : new Date(0),
  };
}

/** After a rotation: the stored fingerprint becomes the current key's, so a start with only the new key is accepted. */
export async function setMasterkeyFingerprint(sql: SqlPort, keys: ServerKeys): Promise<void> {
  await sql.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MASTERKEY_LOCK]);
    await tx.query("UPDATE system_settings SET value = $1 WHERE key = 'masterkey_check'", [keys.check]);
  });
}
