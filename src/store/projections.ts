import type { StoredEvent } from "../domain/events.js";
import { InstanceEvents, OrgEvents, OrgStateNum } from "../domain/orgs/org.js";
import { UserEvents, UserStateNum, UserType } from "../domain/users/user.js";
import type { Queryable } from "./sql.js";

/**
 * Inline projections: called for every event in the transaction that appends it, and by
 * `projections rebuild` in position order. A pure function of the event (and the rows earlier
 * events produced), so a rebuild reproduces the same tables.
 */
export async function project(tx: Queryable, e: StoredEvent): Promise<void> {
  const handler = handlers[e.type];
  if (handler) await handler(tx, e);
}

type Handler = (tx: Queryable, e: StoredEvent) => Promise<unknown>;

const touchUser = (tx: Queryable, e: StoredEvent, set = "", params: unknown[] = []) =>
  tx.query(
    `UPDATE proj_users SET changed_at = $3, sequence = $4${set ? ", " + set : ""} WHERE instance_id = $1 AND id = $2`,
    [e.instanceId, e.aggregateId, e.createdAt, e.sequence, ...params],
  );

const userState = (state: number): Handler => (tx, e) => touchUser(tx, e, "state = $5", [state]);

const upsertMember = (scope: "org" | "instance"): Handler => (tx, e) =>
  tx.query(
    `INSERT INTO proj_members (instance_id, scope_type, scope_id, user_id, roles, created_at, changed_at, sequence)
     VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
     ON CONFLICT (instance_id, scope_type, scope_id, user_id) DO UPDATE SET roles = EXCLUDED.roles, changed_at = EXCLUDED.changed_at, sequence = EXCLUDED.sequence`,
    [e.instanceId, scope, e.aggregateId, String(e.payload.userId), JSON.stringify(e.payload.roles ?? []), e.createdAt, e.sequence],
  );

const removeMember = (scope: "org" | "instance"): Handler => (tx, e) =>
  tx.query("DELETE FROM proj_members WHERE instance_id = $1 AND scope_type = $2 AND scope_id = $3 AND user_id = $4", [
    e.instanceId,
    scope,
    e.aggregateId,
    String(e.payload.userId),
  ]);

const touchOrg = (tx: Queryable, e: StoredEvent, set = "", params: unknown[] = []) =>
  tx.query(`UPDATE proj_orgs SET changed_at = $3, sequence = $4${set ? ", " + set : ""} WHERE instance_id = $1 AND id = $2`, [
    e.instanceId,
    e.aggregateId,
    e.createdAt,
    e.sequence,
    ...params,
  ]);

/**
 * A removed org takes its users (with their keys, PATs and metadata) and its memberships along, as
 * ZITADEL's projections do on org.removed; the event released the usernames, so the rows must go
 * before another org reuses a name.
 */
const removeOrgContents = async (tx: Queryable, e: StoredEvent) => {
  const params = [e.instanceId, e.aggregateId];
  for (const table of ["proj_machine_keys", "proj_pats", "proj_user_metadata", "proj_users"]) {
    await tx.query(`DELETE FROM ${table} WHERE instance_id = $1 AND org_id = $2`, params);
  }
  await tx.query("DELETE FROM proj_members WHERE instance_id = $1 AND scope_type = 'org' AND scope_id = $2", params);
};

const handlers: Record<string, Handler> = {
  [InstanceEvents.added]: (tx, e) =>
    tx.query("INSERT INTO proj_instances (id, name, created_at, changed_at, sequence) VALUES ($1, $2, $3, $3, $4)", [
      e.aggregateId,
      String(e.payload.name ?? ""),
      e.createdAt,
      e.sequence,
    ]),
  [InstanceEvents.defaultOrgSet]: (tx, e) =>
    tx.query("UPDATE proj_instances SET default_org_id = $2, changed_at = $3, sequence = $4 WHERE id = $1", [e.aggregateId, String(e.payload.orgId), e.createdAt, e.sequence]),
  [InstanceEvents.memberAdded]: upsertMember("instance"),
  [InstanceEvents.memberChanged]: upsertMember("instance"),
  [InstanceEvents.memberRemoved]: removeMember("instance"),
  [InstanceEvents.memberCascadeRemoved]: removeMember("instance"),

  [OrgEvents.added]: (tx, e) =>
    tx.query("INSERT INTO proj_orgs (instance_id, id, name, state, created_at, changed_at, sequence) VALUES ($1, $2, $3, $4, $5, $5, $6)", [
      e.instanceId,
      e.aggregateId,
      String(e.payload.name ?? ""),
      OrgStateNum.active,
      e.createdAt,
      e.sequence,
    ]),
  [OrgEvents.changed]: (tx, e) => touchOrg(tx, e, "name = $5", [String(e.payload.name ?? "")]),
  [OrgEvents.deactivated]: (tx, e) => touchOrg(tx, e, "state = $5", [OrgStateNum.inactive]),
  [OrgEvents.reactivated]: (tx, e) => touchOrg(tx, e, "state = $5", [OrgStateNum.active]),
  [OrgEvents.removed]: async (tx, e) => {
    await touchOrg(tx, e, "state = $5", [OrgStateNum.removed]);
    await removeOrgContents(tx, e);
  },
  [OrgEvents.domainPrimarySet]: (tx, e) => touchOrg(tx, e, "primary_domain = $5", [String(e.payload.domain ?? "")]),
  [OrgEvents.memberAdded]: upsertMember("org"),
  [OrgEvents.memberChanged]: upsertMember("org"),
  [OrgEvents.memberRemoved]: removeMember("org"),
  [OrgEvents.memberCascadeRemoved]: removeMember("org"),

  [UserEvents.machineAdded]: (tx, e) =>
    tx.query(
      `INSERT INTO proj_users (instance_id, id, org_id, user_type, username, state, name, description, access_token_type, created_at, changed_at, sequence)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)`,
      [
        e.instanceId,
        e.aggregateId,
        e.resourceOwner,
        UserType.machine,
        String(e.payload.userName ?? ""),
        UserStateNum.active,
        String(e.payload.name ?? ""),
        String(e.payload.description ?? ""),
        Number(e.payload.accessTokenType ?? 0),
        e.createdAt,
        e.sequence,
      ],
    ),
  [UserEvents.machineChanged]: (tx, e) => {
    const p = e.payload;
    return touchUser(tx, e, "name = COALESCE($5, name), description = COALESCE($6, description), access_token_type = COALESCE($7, access_token_type)", [
      "name" in p ? String(p.name ?? "") : null,
      "description" in p ? String(p.description ?? "") : null,
      "accessTokenType" in p ? Number(p.accessTokenType ?? 0) : null,
    ]);
  },
  [UserEvents.usernameChanged]: (tx, e) => touchUser(tx, e, "username = $5", [String(e.payload.userName ?? "")]),
  [UserEvents.secretSet]: (tx, e) => touchUser(tx, e, "has_secret = true"),
  [UserEvents.secretRemoved]: (tx, e) => touchUser(tx, e, "has_secret = false"),
  [UserEvents.locked]: userState(UserStateNum.locked),
  [UserEvents.unlocked]: userState(UserStateNum.active),
  [UserEvents.deactivated]: userState(UserStateNum.inactive),
  [UserEvents.reactivated]: userState(UserStateNum.active),
  [UserEvents.removed]: async (tx, e) => {
    const params = [e.instanceId, e.aggregateId];
    await tx.query("DELETE FROM proj_users WHERE instance_id = $1 AND id = $2", params);
    await tx.query("DELETE FROM proj_machine_keys WHERE instance_id = $1 AND user_id = $2", params);
    await tx.query("DELETE FROM proj_pats WHERE instance_id = $1 AND user_id = $2", params);
    await tx.query("DELETE FROM proj_user_metadata WHERE instance_id = $1 AND user_id = $2", params);
  },
  [UserEvents.keyAdded]: async (tx, e) => {
    await tx.query(
      `INSERT INTO proj_machine_keys (instance_id, id, user_id, org_id, key_type, expiration, public_key, created_at, sequence)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        e.instanceId,
        String(e.payload.keyId),
        e.aggregateId,
        e.resourceOwner,
        Number(e.payload.type ?? 1),
        new Date(String(e.payload.expirationDate)),
        String(e.payload.publicKey ?? ""),
        e.createdAt,
        e.sequence,
      ],
    );
    return touchUser(tx, e);
  },
  [UserEvents.keyRemoved]: async (tx, e) => {
    await tx.query("DELETE FROM proj_machine_keys WHERE instance_id = $1 AND id = $2", [e.instanceId, String(e.payload.keyId)]);
    return touchUser(tx, e);
  },
  [UserEvents.patAdded]: async (tx, e) => {
    await tx.query(
      `INSERT INTO proj_pats (instance_id, id, user_id, org_id, expiration, scopes, created_at, sequence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [e.instanceId, String(e.payload.tokenId), e.aggregateId, e.resourceOwner, new Date(String(e.payload.expiration)), JSON.stringify(e.payload.scopes ?? []), e.createdAt, e.sequence],
    );
    return touchUser(tx, e);
  },
  [UserEvents.patRemoved]: async (tx, e) => {
    await tx.query("DELETE FROM proj_pats WHERE instance_id = $1 AND id = $2", [e.instanceId, String(e.payload.tokenId)]);
    return touchUser(tx, e);
  },
  [UserEvents.metadataSet]: async (tx, e) => {
    await tx.query(
      `INSERT INTO proj_user_metadata (instance_id, user_id, key, value, org_id, created_at, changed_at, sequence) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
       ON CONFLICT (instance_id, user_id, key) DO UPDATE SET value = EXCLUDED.value, changed_at = EXCLUDED.changed_at, sequence = EXCLUDED.sequence`,
      [e.instanceId, e.aggregateId, String(e.payload.key), Buffer.from(String(e.payload.value ?? ""), "base64"), e.resourceOwner, e.createdAt, e.sequence],
    );
    return touchUser(tx, e);
  },
  [UserEvents.metadataRemoved]: async (tx, e) => {
    await tx.query("DELETE FROM proj_user_metadata WHERE instance_id = $1 AND user_id = $2 AND key = $3", [e.instanceId, e.aggregateId, String(e.payload.key)]);
    return touchUser(tx, e);
  },
};
