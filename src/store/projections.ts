import { readEvent, type EventsOf, type StoredEvent, type TypedEvent } from "../domain/events.js";
import { InstanceEvents, OrgEvents, instanceEventMappers, orgEventMappers, type MemberPayload, type MemberRemovedPayload } from "../domain/orgs/events.js";
import { OrgStateNum } from "../domain/orgs/org.js";
import { ProjectEvents, projectEventMappers } from "../domain/projects/events.js";
import { ProjectGrantStateNum, ProjectStateNum } from "../domain/projects/project.js";
import { AppEvents } from "../domain/projects/app-events.js";
import { AppStateNum } from "../domain/projects/app-state.js";
import { UserGrantEvents, userGrantEventMappers } from "../domain/usergrants/events.js";
import { UserGrantStateNum } from "../domain/usergrants/user-grant.js";
import { UserEvents, userEventMappers } from "../domain/users/events.js";
import { UserStateNum, UserType } from "../domain/users/user.js";
import { projectFederation } from "./projections-federation.js";
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
  await projectFederation(tx, stored);
}

const eventMappers = { ...instanceEventMappers, ...orgEventMappers, ...userEventMappers, ...projectEventMappers, ...userGrantEventMappers };
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

const upsertMember = (scope: "org" | "instance" | "project"): Handler<TypedEvent<string, MemberPayload>> => (tx, e) =>
  tx.query(
    `INSERT INTO ${Tables.members} (instance_id, scope_type, scope_id, user_id, roles, created_at, changed_at, sequence)
     VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
     ON CONFLICT (instance_id, scope_type, scope_id, user_id) DO UPDATE SET roles = EXCLUDED.roles, changed_at = EXCLUDED.changed_at, sequence = EXCLUDED.sequence`,
    [e.instanceId, scope, e.aggregateId, e.payload.userId, JSON.stringify(e.payload.roles), e.createdAt, e.sequence],
  );

const removeMember = (scope: "org" | "instance" | "project"): Handler<TypedEvent<string, MemberRemovedPayload>> => (tx, e) =>
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
  // Its projects, with their roles and members (ZITADEL's project projections on org.removed).
  await tx.query(
    `DELETE FROM ${Tables.members} WHERE instance_id = $1 AND scope_type = 'project' AND scope_id IN (SELECT id FROM ${Tables.projects} WHERE instance_id = $1 AND org_id = $2)`,
    params,
  );
  await tx.query(`DELETE FROM ${Tables.projectRoles} WHERE instance_id = $1 AND org_id = $2`, params);
  await tx.query(`DELETE FROM ${Tables.appKeys} WHERE instance_id = $1 AND org_id = $2`, params); // apps (branch apps)
  await tx.query(`DELETE FROM ${Tables.apps} WHERE instance_id = $1 AND org_id = $2`, params);
  await tx.query(`DELETE FROM ${Tables.projects} WHERE instance_id = $1 AND org_id = $2`, params);
  // Project grants of its projects and grants made to it (ZITADEL's project grant projection on org.removed).
  await tx.query(`DELETE FROM ${Tables.projectGrants} WHERE instance_id = $1 AND (org_id = $2 OR granted_org_id = $2)`, params);
};

/**
 * A removed org's user grants go: those it made, those of its users and those on its projects
 * (ZITADEL's user-grant projection on org.removed); before its users and projects leave the tables.
 */
const removeOrgUserGrants = (tx: Queryable, e: EventMeta) =>
  tx.query(
    `DELETE FROM ${Tables.userGrants} WHERE instance_id = $1 AND (org_id = $2
       OR user_id IN (SELECT id FROM ${Tables.users} WHERE instance_id = $1 AND org_id = $2)
       OR project_id IN (SELECT id FROM ${Tables.projects} WHERE instance_id = $1 AND org_id = $2))`,
    [e.instanceId, e.aggregateId],
  );

const touchUserGrant = (tx: Queryable, e: EventMeta, set = "", params: unknown[] = []) =>
  tx.query(`UPDATE ${Tables.userGrants} SET changed_at = $3, sequence = $4${set ? ", " + set : ""} WHERE instance_id = $1 AND id = $2`, [
    e.instanceId,
    e.aggregateId,
    e.createdAt,
    e.sequence,
    ...params,
  ]);

const removeUserGrant: Handler<EventMeta> = (tx, e) => tx.query(`DELETE FROM ${Tables.userGrants} WHERE instance_id = $1 AND id = $2`, [e.instanceId, e.aggregateId]);

const touchProject = (tx: Queryable, e: EventMeta, set = "", params: unknown[] = []) =>
  tx.query(`UPDATE ${Tables.projects} SET changed_at = $3, sequence = $4${set ? ", " + set : ""} WHERE instance_id = $1 AND id = $2`, [
    e.instanceId,
    e.aggregateId,
    e.createdAt,
    e.sequence,
    ...params,
  ]);

/**
 * A removed project goes from every read model with its roles and members (as ZITADEL's projections
 * delete them), and its project grants. Extension point: the tables of its apps and app keys are emptied here too;
 * user grants are their own aggregate and get their own removal events (app/projects/cascade.ts).
 */
const removeProjectContents = async (tx: Queryable, e: EventMeta) => {
  const params = [e.instanceId, e.aggregateId];
  await tx.query(`DELETE FROM ${Tables.members} WHERE instance_id = $1 AND scope_type = 'project' AND scope_id = $2`, params);
  await tx.query(`DELETE FROM ${Tables.projectRoles} WHERE instance_id = $1 AND project_id = $2`, params);
  await tx.query(`DELETE FROM ${Tables.appKeys} WHERE instance_id = $1 AND project_id = $2`, params); // apps (branch apps)
  await tx.query(`DELETE FROM ${Tables.apps} WHERE instance_id = $1 AND project_id = $2`, params);
  await tx.query(`DELETE FROM ${Tables.projects} WHERE instance_id = $1 AND id = $2`, params);
  await tx.query(`DELETE FROM ${Tables.projectGrants} WHERE instance_id = $1 AND project_id = $2`, params); // project grants (PGRANT)
};

// --- project grants (PGRANT) ---
const touchProjectGrant = (tx: Queryable, e: EventMeta, grantId: string, set: string, params: unknown[]) =>
  tx.query(`UPDATE ${Tables.projectGrants} SET changed_at = $4, sequence = $5, ${set} WHERE instance_id = $1 AND project_id = $2 AND grant_id = $3`, [
    e.instanceId,
    e.aggregateId,
    grantId,
    e.createdAt,
    e.sequence,
    ...params,
  ]);
// --- end project grants ---

// --- apps (branch apps) ---
const touchApp = (tx: Queryable, e: EventMeta, appId: string, set = "", params: unknown[] = []) =>
  tx.query(`UPDATE ${Tables.apps} SET changed_at = $4, sequence = $5${set ? ", " + set : ""} WHERE instance_id = $1 AND project_id = $2 AND id = $3`, [
    e.instanceId,
    e.aggregateId,
    appId,
    e.createdAt,
    e.sequence,
    ...params,
  ]);

const insertSecret = (tx: Queryable, e: EventMeta, id: string, description: string, expiration: Date | undefined) =>
  tx.query(
    `INSERT INTO ${Tables.machineSecrets} (instance_id, user_id, id, org_id, description, expiration, created_at, changed_at, sequence)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)`,
    [e.instanceId, e.aggregateId, id, e.resourceOwner, description, expiration ?? null, e.createdAt, e.sequence],
  );

const appHandlers: Handlers = {
  [AppEvents.appAdded]: (tx, e) =>
    tx.query(
      `INSERT INTO ${Tables.apps} (instance_id, project_id, id, org_id, name, state, created_at, changed_at, sequence) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)`,
      [e.instanceId, e.aggregateId, e.payload.appId, e.resourceOwner, e.payload.name, AppStateNum.active, e.createdAt, e.sequence],
    ),
  [AppEvents.appChanged]: (tx, e) => touchApp(tx, e, e.payload.appId, "name = $6", [e.payload.name]),
  [AppEvents.appDeactivated]: (tx, e) => touchApp(tx, e, e.payload.appId, "state = $6", [AppStateNum.inactive]),
  [AppEvents.appReactivated]: (tx, e) => touchApp(tx, e, e.payload.appId, "state = $6", [AppStateNum.active]),
  [AppEvents.appRemoved]: async (tx, e) => {
    const params = [e.instanceId, e.aggregateId, e.payload.appId];
    await tx.query(`DELETE FROM ${Tables.appKeys} WHERE instance_id = $1 AND project_id = $2 AND app_id = $3`, params);
    await tx.query(`DELETE FROM ${Tables.apps} WHERE instance_id = $1 AND project_id = $2 AND id = $3`, params);
  },
  [AppEvents.apiConfigAdded]: (tx, e) =>
    touchApp(tx, e, e.payload.appId, "client_id = $6, auth_method_type = $7, secret_id = $8, secret_created_at = $9", [
      e.payload.clientId,
      e.payload.authMethodType,
      e.payload.hashedSecret ? String(e.sequence) : null,
      e.payload.hashedSecret ? e.createdAt : null,
    ]),
  [AppEvents.apiConfigChanged]: (tx, e) =>
    touchApp(tx, e, e.payload.appId, "auth_method_type = COALESCE($6, auth_method_type)", [e.payload.authMethodType ?? null]),
  [AppEvents.apiConfigSecretChanged]: (tx, e) => touchApp(tx, e, e.payload.appId, "secret_id = $6, secret_created_at = $4", [String(e.sequence)]),
  [AppEvents.appKeyAdded]: (tx, e) =>
    tx.query(
      `INSERT INTO ${Tables.appKeys} (instance_id, project_id, app_id, id, org_id, key_type, expiration, created_at, sequence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [e.instanceId, e.aggregateId, e.payload.applicationId, e.payload.keyId, e.resourceOwner, e.payload.type, e.payload.expirationDate, e.createdAt, e.sequence],
    ),
  [AppEvents.appKeyRemoved]: (tx, e) => tx.query(`DELETE FROM ${Tables.appKeys} WHERE instance_id = $1 AND id = $2`, [e.instanceId, e.payload.keyId]),
};

const handlers: Handlers = {
  ...appHandlers, // apps (branch apps)
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
    await removeOrgUserGrants(tx, e);
    await removeOrgContents(tx, e);
  },
  [OrgEvents.domainPrimarySet]: (tx, e) => touchOrg(tx, e, "primary_domain = $5", [e.payload.domain]),
  [OrgEvents.memberAdded]: upsertMember("org"),
  [OrgEvents.memberChanged]: upsertMember("org"),
  [OrgEvents.memberRemoved]: removeMember("org"),
  [OrgEvents.memberCascadeRemoved]: removeMember("org"),

  [ProjectEvents.added]: (tx, e) =>
    tx.query(
      `INSERT INTO ${Tables.projects} (instance_id, id, org_id, name, state, project_role_assertion, project_role_check, has_project_check, private_labeling_setting, created_at, changed_at, sequence)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)`,
      [
        e.instanceId,
        e.aggregateId,
        e.resourceOwner,
        e.payload.name,
        ProjectStateNum.active,
        e.payload.projectRoleAssertion,
        e.payload.projectRoleCheck,
        e.payload.hasProjectCheck,
        e.payload.privateLabelingSetting,
        e.createdAt,
        e.sequence,
      ],
    ),
  [ProjectEvents.changed]: (tx, e) => {
    const p = e.payload;
    return touchProject(
      tx,
      e,
      "name = COALESCE($5, name), project_role_assertion = COALESCE($6, project_role_assertion), project_role_check = COALESCE($7, project_role_check), has_project_check = COALESCE($8, has_project_check), private_labeling_setting = COALESCE($9, private_labeling_setting)",
      [p.name ?? null, p.projectRoleAssertion ?? null, p.projectRoleCheck ?? null, p.hasProjectCheck ?? null, p.privateLabelingSetting ?? null],
    );
  },
  [ProjectEvents.deactivated]: (tx, e) => touchProject(tx, e, "state = $5", [ProjectStateNum.inactive]),
  [ProjectEvents.reactivated]: (tx, e) => touchProject(tx, e, "state = $5", [ProjectStateNum.active]),
  [ProjectEvents.removed]: removeProjectContents,
  [ProjectEvents.roleAdded]: (tx, e) =>
    tx.query(
      `INSERT INTO ${Tables.projectRoles} (instance_id, project_id, role_key, org_id, display_name, role_group, created_at, changed_at, sequence)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)`,
      [e.instanceId, e.aggregateId, e.payload.key, e.resourceOwner, e.payload.displayName, e.payload.group, e.createdAt, e.sequence],
    ),
  [ProjectEvents.roleChanged]: (tx, e) =>
    tx.query(
      `UPDATE ${Tables.projectRoles} SET display_name = COALESCE($4, display_name), role_group = COALESCE($5, role_group), changed_at = $6, sequence = $7
       WHERE instance_id = $1 AND project_id = $2 AND role_key = $3`,
      [e.instanceId, e.aggregateId, e.payload.key, e.payload.displayName ?? null, e.payload.group ?? null, e.createdAt, e.sequence],
    ),
  [ProjectEvents.roleRemoved]: (tx, e) =>
    tx.query(`DELETE FROM ${Tables.projectRoles} WHERE instance_id = $1 AND project_id = $2 AND role_key = $3`, [e.instanceId, e.aggregateId, e.payload.key]),
  [ProjectEvents.memberAdded]: upsertMember("project"),
  [ProjectEvents.memberChanged]: upsertMember("project"),
  [ProjectEvents.memberRemoved]: removeMember("project"),
  [ProjectEvents.memberCascadeRemoved]: removeMember("project"),
  // --- project grants (PGRANT) ---
  [ProjectEvents.grantAdded]: (tx, e) =>
    tx.query(
      `INSERT INTO ${Tables.projectGrants} (instance_id, grant_id, project_id, org_id, granted_org_id, role_keys, state, created_at, changed_at, sequence)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)`,
      [e.instanceId, e.payload.grantId, e.aggregateId, e.resourceOwner, e.payload.grantedOrgId, JSON.stringify(e.payload.roleKeys), ProjectGrantStateNum.active, e.createdAt, e.sequence],
    ),
  [ProjectEvents.grantChanged]: (tx, e) => touchProjectGrant(tx, e, e.payload.grantId, "role_keys = $6", [JSON.stringify(e.payload.roleKeys)]),
  [ProjectEvents.grantCascadeChanged]: (tx, e) => touchProjectGrant(tx, e, e.payload.grantId, "role_keys = $6", [JSON.stringify(e.payload.roleKeys)]),
  [ProjectEvents.grantDeactivated]: (tx, e) => touchProjectGrant(tx, e, e.payload.grantId, "state = $6", [ProjectGrantStateNum.inactive]),
  [ProjectEvents.grantReactivated]: (tx, e) => touchProjectGrant(tx, e, e.payload.grantId, "state = $6", [ProjectGrantStateNum.active]),
  [ProjectEvents.grantRemoved]: (tx, e) =>
    tx.query(`DELETE FROM ${Tables.projectGrants} WHERE instance_id = $1 AND project_id = $2 AND grant_id = $3`, [e.instanceId, e.aggregateId, e.payload.grantId]),
  // --- end project grants ---

  [UserGrantEvents.added]: (tx, e) =>
    tx.query(
      `INSERT INTO ${Tables.userGrants} (instance_id, id, org_id, user_id, project_id, project_grant_id, role_keys, state, created_at, changed_at, sequence)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)`,
      [
        e.instanceId,
        e.aggregateId,
        e.resourceOwner,
        e.payload.userId,
        e.payload.projectId,
        e.payload.projectGrantId,
        JSON.stringify(e.payload.roleKeys),
        UserGrantStateNum.active,
        e.createdAt,
        e.sequence,
      ],
    ),
  [UserGrantEvents.changed]: (tx, e) => touchUserGrant(tx, e, "role_keys = $5", [JSON.stringify(e.payload.roleKeys)]),
  [UserGrantEvents.cascadeChanged]: (tx, e) => touchUserGrant(tx, e, "role_keys = $5", [JSON.stringify(e.payload.roleKeys)]),
  [UserGrantEvents.deactivated]: (tx, e) => touchUserGrant(tx, e, "state = $5", [UserGrantStateNum.inactive]),
  [UserGrantEvents.reactivated]: (tx, e) => touchUserGrant(tx, e, "state = $5", [UserGrantStateNum.active]),
  [UserGrantEvents.removed]: removeUserGrant,
  [UserGrantEvents.cascadeRemoved]: removeUserGrant,

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
