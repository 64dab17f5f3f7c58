import { MIGRATION_LOCK_KEY } from "./migrations.js";
import type { Queryable, SqlPort } from "./sql.js";

/**
 * The token signing keys at rest: `signing_keys` holds each key (public JWK, private key sealed with
 * the master key's wrap key); the time a key starts signing is a `system_settings` row
 * `signing_key_activates:<kid>` (a key without one, as stored before rotation existed, started when
 * it was created).
 */
export interface SigningKeyRow {
  id: string;
  publicJwk: Record<string, unknown>;
  privateSealed: string;
  createdAt: Date;
  activateAt: Date;
}

const ACTIVATES = "signing_key_activates:";

/** Serializes every change of the key set across processes (advisory lock, released at commit). */
export const SIGNING_KEYS_LOCK = MIGRATION_LOCK_KEY + 2;

export async function readSigningKeys(q: Queryable): Promise<SigningKeyRow[]> {
  const rows = await q.query<{ id: string; public_jwk: unknown; private_sealed: string; created_at: Date | string; activates: string | null }>(
    `SELECT k.id, k.public_jwk, k.private_sealed, k.created_at, s.value AS activates
       FROM signing_keys k LEFT JOIN system_settings s ON s.key = '${ACTIVATES}' || k.id
      ORDER BY k.created_at, k.id`,
  );
  return rows.map((r) => ({
    id: r.id,
    publicJwk: (typeof r.public_jwk === "string" ? JSON.parse(r.public_jwk) : r.public_jwk) as Record<string, unknown>,
    privateSealed: r.private_sealed,
    createdAt: new Date(r.created_at),
    activateAt: new Date(r.activates ?? r.created_at),
  }));
}

/** Runs fn in a transaction holding the signing-key lock. */
export function withSigningKeysLock<T>(sql: SqlPort, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return sql.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [SIGNING_KEYS_LOCK]);
    return fn(tx);
  });
}

export async function insertSigningKey(tx: Queryable, k: SigningKeyRow): Promise<void> {
  await tx.query("INSERT INTO signing_keys (id, algorithm, public_jwk, private_sealed, created_at) VALUES ($1, 'RS256', $2, $3, $4)", [
    k.id,
    JSON.stringify(k.publicJwk),
    k.privateSealed,
    k.createdAt,
  ]);
  await setSigningKeyActivation(tx, k.id, k.activateAt);
}

export async function setSigningKeyActivation(tx: Queryable, id: string, at: Date): Promise<void> {
  await tx.query("INSERT INTO system_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", [
    ACTIVATES + id,
    at.toISOString(),
  ]);
}

export async function deleteSigningKey(tx: Queryable, id: string): Promise<void> {
  await tx.query("DELETE FROM signing_keys WHERE id = $1", [id]);
  await tx.query("DELETE FROM system_settings WHERE key = $1", [ACTIVATES + id]);
}

export async function updateSealedSigningKey(tx: Queryable, id: string, privateSealed: string): Promise<void> {
  await tx.query("UPDATE signing_keys SET private_sealed = $2 WHERE id = $1", [id, privateSealed]);
}
