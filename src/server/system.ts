import { generateKeyPairSync, randomBytes, createPrivateKey, createPublicKey } from "node:crypto";
import type { Config } from "../config/schema.js";
import { deriveKeys, open, seal, type ServerKeys } from "../crypto/keys.js";
import type { SigningKey } from "../crypto/jwt.js";
import { MIGRATION_LOCK_KEY } from "../store/migrations.js";
import type { SqlPort } from "../store/sql.js";

export class StartupError extends Error {
  override readonly name = "StartupError";
}

/**
 * The master key: PORTCULLIS_MASTERKEY when given, otherwise one generated on first start and kept
 * in the database (convenient, but then whoever reads the database can also mint tokens; see the
 * README). A fingerprint is stored either way, so a wrong key is refused at start instead of
 * silently invalidating every secret and token.
 */
export async function loadServerKeys(sql: SqlPort, config: Config): Promise<ServerKeys> {
  return sql.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY + 1]);
    const rows = await tx.query<{ key: string; value: string }>("SELECT key, value FROM system_settings WHERE key IN ('masterkey', 'masterkey_check')");
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
    const keys = deriveKeys(material);
    const check = stored.get("masterkey_check");
    if (check === undefined) await tx.query("INSERT INTO system_settings (key, value) VALUES ('masterkey_check', $1)", [keys.check]);
    else if (check !== keys.check)
      throw new StartupError(
        config.masterkey
          ? "PORTCULLIS_MASTERKEY does not match the key this database was initialised with"
          : "the stored master key does not match this database's key fingerprint",
      );
    return keys;
  });
}

/**
 * A node slot (0..1023) for the id generator and the cluster, unique among the processes alive on
 * the database: taken under an advisory lock, skipping slots whose holder heartbeated recently.
 */
export async function allocateNode(sql: SqlPort): Promise<number> {
  return sql.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY + 3]);
    const live = new Set(
      (await tx.query<{ node_id: number | string }>("SELECT node_id FROM nodes WHERE last_seen > now() - interval '10 seconds'")).map((r) => Number(r.node_id)),
    );
    if (live.size >= 1024) throw new StartupError("1024 Portcullis processes are already running on this database");
    let slot: number;
    do slot = Number((await tx.query<{ n: string | number }>("SELECT nextval('node_ids') AS n"))[0]!.n) % 1024;
    while (live.has(slot));
    await tx.query("INSERT INTO nodes (node_id) VALUES ($1) ON CONFLICT (node_id) DO UPDATE SET last_seen = now(), started_at = now()", [slot]);
    return slot;
  });
}

/** The RS256 key that signs JWT access tokens and id tokens; created at first start, kept sealed at rest. */
export async function loadSigningKeys(sql: SqlPort, keys: ServerKeys, newId: () => string, now: Date): Promise<SigningKey[]> {
  const rows = await sql.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY + 2]);
    const existing = await tx.query<{ id: string; public_jwk: unknown; private_sealed: string }>(
      "SELECT id, public_jwk, private_sealed FROM signing_keys ORDER BY created_at DESC",
    );
    if (existing.length > 0) return existing;
    const id = newId();
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const jwk = { ...publicKey.export({ format: "jwk" }), kid: id, alg: "RS256", use: "sig" };
    const pem = privateKey.export({ format: "pem", type: "pkcs8" }) as string;
    const sealed = seal(keys.wrap, Buffer.from(pem), Buffer.from(id)).toString("base64");
    await tx.query("INSERT INTO signing_keys (id, algorithm, public_jwk, private_sealed, created_at) VALUES ($1, 'RS256', $2, $3, $4)", [
      id,
      JSON.stringify(jwk),
      sealed,
      now,
    ]);
    return [{ id, public_jwk: jwk, private_sealed: sealed }];
  });
  return rows.map((r) => {
    const pem = open(keys.wrap, Buffer.from(r.private_sealed, "base64"), Buffer.from(r.id));
    if (!pem) throw new StartupError(`signing key ${r.id} cannot be unsealed with this master key`);
    const privateKey = createPrivateKey(pem.toString());
    const publicJwk = (typeof r.public_jwk === "string" ? JSON.parse(r.public_jwk) : r.public_jwk) as Record<string, unknown>;
    return { id: r.id, privateKey, publicKey: createPublicKey(privateKey), publicJwk };
  });
}
