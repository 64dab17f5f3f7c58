import { readEvent, type EventsOf, type StoredEvent, type TypedEvent } from "../domain/events.js";
import { InstanceEvents, OrgEvents, instanceEventMappers, orgEventMappers, type MemberPayload, type MemberRemovedPayload } from "../domain/orgs/events.js";
import { OrgStateNum } from "../domain/orgs/org.js";
import { UserEvents, userEventMappers } from "../domain/users/events.js";
import { UserStateNum, UserType } from "../domain/users/user.js";
import { Tables } from "./read-models/tables.js";
import type { Queryable } from "./sql.js";

/**
 * Inline projections: called for every event in the transaction that appends it, and by
 * `projections rebuild` in position order. A pure function of the event (and the rows earlier
 * events produced), so a rebuild reproduces the same tables.
 */
export async function project(tx: Queryable, stored: StoredEvent): Promise<void> {
  const e = readEvent(eventMappers, stored);
  const handler = e && (handlers[e.type] as Handler<ProjectedEvent> | undefined);
  if (handler) await handler(tx, e);
}

const eventMappers = { ...instanceEventMappers, ...orgEventMappers, ...userEventMappers };
type ProjectedEvent = EventsOf<typeof eventMappers>;
type Handler<E> = (tx: Queryable, e: E) => Promise<unknown>;
/** Each handler gets its event with the typed payload of its type. */
type Handlers = { [T in ProjectedEvent["type"]]?: Handler<Extract<ProjectedEvent, { type: T }>> };
/** What the handlers read besides the payload. */
type EventMeta = Omit<StoredEvent, "payload">;

const touchUser = (tx: Queryable, e: EventMeta, set = "", params: unknown[] = []) =>
  tx.query(
    `UPDATE ${Tables.users} SET changed_at = $3, sequence = $4${set ? ", " + set : ""} WHERE instance_id = $1 AND id = $2`,
    [e.instanceId, e.aggregateId, e.createdAt, e.sequence, ...params],
  );

const userState = (state: number): Handler<EventMeta> => (tx, e) => touchUser(tx, e, "state = $5", [state]);

const upsertMember = (scope: "org" | "instance"): Handler<TypedEvent<string, MemberPayload>> => (tx, e) =>
  tx.query(
    `INSERT INTO ${Tables.members} (instance_id, scope_type, scope_id, user_id, roles, created_at, changed_at, sequence)
     VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
     ON CONFLICT (instance_id, scope_type, scope_id, user_id) DO UPDATE SET roles = EXCLUDED.roles, changed_at = EXCLUDED.changed_at, sequence = EXCLUDED.sequence`,
    [e.instanceId, scope, e.aggregateId, e.payload.userId, JSON.stringify(e.payload.roles), e.createdAt, e.sequence],
  );

const removeMember = (scope: "org" | "instance"): Handler<TypedEvent<string, MemberRemovedPayload>> => (tx, e) =>
  tx.query(`DELETE FROM ${Tables.members} WHERE instance_id = $1 AND scope_type = $2 AND scope_id = $3 AND user_id = $4`, [
    e.instanceId,
    scope,
    e.aggregateId,
    e.payload.userId,
  ]);

const touchOrg = (tx: Queryable, e: EventMeta, set = "", params: unknown[] = []) =>
  tx.query(`UPDATE ${Tables.orgs} SET changed_at = $3, sequence = $4${set ? ", " + set : ""} WHERE instance_id = $1 AND id = $2`, [
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
const removeOrgContents = async (tx: Queryable, e: EventMeta) => {
  const params = [e.instanceId, e.aggregateId];
  for (const table of [Tables.machineKeys, Tables.pats, Tables.machineSecrets, Tables.userMetadata, Tables.users]) {
    await tx.query(`DELETE FROM ${table} WHERE instance_id = $1 AND org_id = $2`, params);
  }
  await tx.query(`DELETE FROM ${Tables.members} WHERE instance_id = $1 AND scope_type = 'org' AND scope_id = $2`, params);
};

const insertSecret = (tx: Queryable, e: EventMeta, id: string, description: string, expiration: Date | undefined) =>
  tx.query(
    `INSERT INTO ${Tables.machineSecrets} (instance_id, user_id, id, org_id, description, expiration, created_at, changed_at, sequence)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)`,
    [e.instanceId, e.aggregateId, id, e.resourceOwner, description, expiration ?? null, e.createdAt, e.sequence],
  );

const handlers: Handlers = {
  [InstanceEvents.added]: (tx, e) =>
    tx.query(`INSERT INTO ${Tables.instances} (id, name, created_at, changed_at, sequence) VALUES ($1, $2, $3, $3, $4)`, [
      e.aggregateId,
      e.payload.name,
      e.createdAt,
      e.sequence,
    ]),
  [InstanceEvents.defaultOrgSet]: (tx, e) =>
    tx.query(`UPDATE ${Tables.instances} SET default_org_id = $2, changed_at = $3, sequence = $4 WHERE id = $1`, [e.aggregateId, e.payload.orgId, e.createdAt, e.sequence]),
  [InstanceEvents.memberAdded]: upsertMember("instance"),
  [InstanceEvents.memberChanged]: upsertMember("instance"),
  [InstanceEvents.memberRemoved]: removeMember("instance"),
  [InstanceEvents.memberCascadeRemoved]: removeMember("instance"),

  [OrgEvents.added]: (tx, e) =>
    tx.query(`INSERT INTO ${Tables.orgs} (instance_id, id, name, state, created_at, changed_at, sequence) VALUES ($1, $2, $3, $4, $5, $5, $6)`, [
      e.instanceId,
      e.aggregateId,
      e.payload.name,
      OrgStateNum.active,
      e.createdAt,
      e.sequence,
    ]),
  [OrgEvents.changed]: (tx, e) => touchOrg(tx, e, "name = $5", [e.payload.name ?? ""]),
  [OrgEvents.deactivated]: (tx, e) => touchOrg(tx, e, "state = $5", [OrgStateNum.inactive]),
  [OrgEvents.reactivated]: (tx, e) => touchOrg(tx, e, "state = $5", [OrgStateNum.active]),
  [OrgEvents.removed]: async (tx, e) => {
    await touchOrg(tx, e, "state = $5", [OrgStateNum.removed]);
    await removeOrgContents(tx, e);
  },
  [OrgEvents.domainPrimarySet]: (tx, e) => touchOrg(tx, e, "primary_domain = $5", [e.payload.domain]),
  [OrgEvents.memberAdded]: upsertMember("org"),
  [OrgEvents.memberChanged]: upsertMember("org"),
  [OrgEvents.memberRemoved]: removeMember("org"),
  [OrgEvents.memberCascadeRemoved]: removeMember("org"),

  [UserEvents.machineAdded]: (tx, e) =>
    tx.query(
      `INSERT INTO ${Tables.users} (instance_id, id, org_id, user_type, username, state, name, description, access_token_type, created_at, changed_at, sequence)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)`,
      [
        e.instanceId,
        e.aggregateId,
        e.resourceOwner,
        UserType.machine,
        e.payload.userName,
        UserStateNum.active,
        e.payload.name,
        e.payload.description,
        e.payload.accessTokenType,
        e.createdAt,
        e.sequence,
      ],
    ),
  [UserEvents.machineChanged]: (tx, e) => {
    const p = e.payload;
    return touchUser(tx, e, "name = COALESCE($5, name), description = COALESCE($6, description), access_token_type = COALESCE($7, access_token_type)", [
      p.name ?? null,
      p.description ?? null,
      p.accessTokenType ?? null,
    ]);
  },
  [UserEvents.usernameChanged]: (tx, e) => touchUser(tx, e, "username = $5", [e.payload.userName]),
  [UserEvents.secretSet]: async (tx, e) => {
    await tx.query(`DELETE FROM ${Tables.machineSecrets} WHERE instance_id = $1 AND user_id = $2`, [e.instanceId, e.aggregateId]);
    await insertSecret(tx, e, e.payload.secretId || String(e.sequence), "", e.payload.expirationDate);
    return touchUser(tx, e, "has_secret = true");
  },
  [UserEvents.secretRemoved]: async (tx, e) => {
    await tx.query(`DELETE FROM ${Tables.machineSecrets} WHERE instance_id = $1 AND user_id = $2`, [e.instanceId, e.aggregateId]);
    return touchUser(tx, e, "has_secret = false");
  },
  [UserEvents.secretAdded]: async (tx, e) => {
    await insertSecret(tx, e, e.payload.secretId, e.payload.description, e.payload.expirationDate);
    return touchUser(tx, e, "has_secret = true");
  },
  [UserEvents.secretChanged]: async (tx, e) => {
    const p = e.payload;
    await tx.query(
      `UPDATE ${Tables.machineSecrets} SET description = COALESCE($4::text, description), expiration = CASE WHEN $5::boolean THEN $6::timestamptz ELSE expiration END,
              changed_at = $7, sequence = $8
        WHERE instance_id = $1 AND user_id = $2 AND id = $3`,
      [e.instanceId, e.aggregateId, p.secretId, p.description ?? null, p.expirationDate !== undefined, p.expirationDate ?? null, e.createdAt, e.sequence],
    );
    return touchUser(tx, e);
  },
  [UserEvents.secretDeleted]: async (tx, e) => {
    await tx.query(`DELETE FROM ${Tables.machineSecrets} WHERE instance_id = $1 AND user_id = $2 AND id = $3`, [e.instanceId, e.aggregateId, e.payload.secretId]);
    return touchUser(tx, e, `has_secret = EXISTS (SELECT 1 FROM ${Tables.machineSecrets} s WHERE s.instance_id = $1 AND s.user_id = $2)`);
  },
  [UserEvents.locked]: userState(UserStateNum.locked),
  [UserEvents.unlocked]: userState(UserStateNum.active),
  [UserEvents.deactivated]: userState(UserStateNum.inactive),
  [UserEvents.reactivated]: userState(UserStateNum.active),
  [UserEvents.removed]: async (tx, e) => {
    const params = [e.instanceId, e.aggregateId];
    await tx.query(`DELETE FROM ${Tables.users} WHERE instance_id = $1 AND id = $2`, params);
    await tx.query(`DELETE FROM ${Tables.machineKeys} WHERE instance_id = $1 AND user_id = $2`, params);
    await tx.query(`DELETE FROM ${Tables.pats} WHERE instance_id = $1 AND user_id = $2`, params);
    await tx.query(`DELETE FROM ${Tables.machineSecrets} WHERE instance_id = $1 AND user_id = $2`, params);
    await tx.query(`DELETE FROM ${Tables.userMetadata} WHERE instance_id = $1 AND user_id = $2`, params);
  },
  [UserEvents.keyAdded]: async (tx, e) => {
    await tx.query(
      `INSERT INTO ${Tables.machineKeys} (instance_id, id, user_id, org_id, key_type, expiration, public_key, created_at, sequence)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        e.instanceId,
        e.payload.keyId,
        e.aggregateId,
        e.resourceOwner,
        e.payload.type,
        e.payload.expirationDate,
        e.payload.publicKey,
        e.createdAt,
        e.sequence,
      ],
    );
    return touchUser(tx, e);
  },
  [UserEvents.keyRemoved]: async (tx, e) => {
    await tx.query(`DELETE FROM ${Tables.machineKeys} WHERE instance_id = $1 AND id = $2`, [e.instanceId, e.payload.keyId]);
    return touchUser(tx, e);
  },
  [UserEvents.patAdded]: async (tx, e) => {
    await tx.query(
      `INSERT INTO ${Tables.pats} (instance_id, id, user_id, org_id, expiration, scopes, created_at, sequence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [e.instanceId, e.payload.tokenId, e.aggregateId, e.resourceOwner, e.payload.expiration, JSON.stringify(e.payload.scopes), e.createdAt, e.sequence],
    );
    return touchUser(tx, e);
  },
  [UserEvents.patRemoved]: async (tx, e) => {
    await tx.query(`DELETE FROM ${Tables.pats} WHERE instance_id = $1 AND id = $2`, [e.instanceId, e.payload.tokenId]);
    return touchUser(tx, e);
  },
  [UserEvents.metadataSet]: async (tx, e) => {
    await tx.query(
      `INSERT INTO ${Tables.userMetadata} (instance_id, user_id, key, value, org_id, created_at, changed_at, sequence) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
       ON CONFLICT (instance_id, user_id, key) DO UPDATE SET value = EXCLUDED.value, changed_at = EXCLUDED.changed_at, sequence = EXCLUDED.sequence`,
      [e.instanceId, e.aggregateId, e.payload.key, Buffer.from(e.payload.value, "base64"), e.resourceOwner, e.createdAt, e.sequence],
    );
    return touchUser(tx, e);
  },
  [UserEvents.metadataRemoved]: async (tx, e) => {
    await tx.query(`DELETE FROM ${Tables.userMetadata} WHERE instance_id = $1 AND user_id = $2 AND key = $3`, [e.instanceId, e.aggregateId, e.payload.key]);
    return touchUser(tx, e);
  },
};
