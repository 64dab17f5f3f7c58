import { UserEvents } from "../domain/users/user.js";
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
  createdAt: Date;
}

/** Current machine secrets set before `since`, and unexpired PATs created before it. */
export async function credentialsHashedBefore(q: Queryable, since: Date, now: Date): Promise<HashedCredential[]> {
  const secrets = await q.query<{ instance_id: string; id: string; username: string; set_at: Date | string }>(
    `SELECT u.instance_id, u.id, u.username, max(e.created_at) AS set_at
       FROM proj_users u
       JOIN events e ON e.instance_id = u.instance_id AND e.aggregate_type = 'user' AND e.aggregate_id = u.id AND e.event_type = $1
      WHERE u.has_secret
      GROUP BY u.instance_id, u.id, u.username
     HAVING max(e.created_at) < $2
      ORDER BY set_at, u.id`,
    [UserEvents.secretSet, since],
  );
  const pats = await q.query<{ instance_id: string; id: string; user_id: string; username: string | null; created_at: Date | string }>(
    `SELECT p.instance_id, p.id, p.user_id, u.username, p.created_at
       FROM proj_pats p LEFT JOIN proj_users u ON u.instance_id = p.instance_id AND u.id = p.user_id
      WHERE p.created_at < $1 AND p.expiration > $2
      ORDER BY p.created_at, p.id`,
    [since, now],
  );
  return [
    ...secrets.map((r) => ({ kind: "secret" as const, instanceId: r.instance_id, userId: r.id, userName: r.username, createdAt: new Date(r.set_at) })),
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
