import type { Queryable } from "./sql.js";

/**
 * Credentials stored only as an HMAC under the master key that was current when they were made: a
 * master-key rotation cannot re-key them (the clear secret is not kept), so they keep verifying
 * under the previous key until they are replaced. These queries find the ones made before a time.
 */
export interface HashedCredential {
  kind: "secret" | "pat";
  instanceId: string;
  userId: string;
  userName: string;
  /** The PAT's id (PATs only). */
  tokenId?: string;
  /** The secret's id (secrets only). */
  secretId?: string;
  createdAt: Date;
}

/** Unexpired machine secrets made before `since`, and unexpired PATs created before it. */
export async function credentialsHashedBefore(q: Queryable, since: Date, now: Date): Promise<HashedCredential[]> {
  const secrets = await q.query<{ instance_id: string; id: string; secret_id: string; username: string; set_at: Date | string }>(
    `SELECT s.instance_id, s.user_id AS id, s.id AS secret_id, u.username, s.created_at AS set_at
       FROM proj_machine_secrets s JOIN proj_users u ON u.instance_id = s.instance_id AND u.id = s.user_id
      WHERE s.created_at < $1 AND (s.expiration IS NULL OR s.expiration > $2)
      ORDER BY s.created_at, s.user_id, s.id`,
    [since, now],
  );
  const pats = await q.query<{ instance_id: string; id: string; user_id: string; username: string | null; created_at: Date | string }>(
    `SELECT p.instance_id, p.id, p.user_id, u.username, p.created_at
       FROM proj_pats p LEFT JOIN proj_users u ON u.instance_id = p.instance_id AND u.id = p.user_id
      WHERE p.created_at < $1 AND p.expiration > $2
      ORDER BY p.created_at, p.id`,
    [since, now],
  );
  return [
    ...secrets.map((r) => ({
      kind: "secret" as const,
      instanceId: r.instance_id,
      userId: r.id,
      userName: r.username,
      secretId: r.secret_id,
      createdAt: new Date(r.set_at),
    })),
    ...pats.map((r) => ({
      kind: "pat" as const,
      instanceId: r.instance_id,
      userId: r.user_id,
      userName: r.username ?? "",
      tokenId: r.id,
      createdAt: new Date(r.created_at),
    })),
  ];
}
