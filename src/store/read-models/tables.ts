/**
 * The read models' tables and columns, named once: the migrations create them, the projections
 * write them and the read-model queries read them (as ZITADEL's internal/query takes its table and
 * column names from the projection package).
 */

export const Tables = {
  instances: "proj_instances",
  orgs: "proj_orgs",
  users: "proj_users",
  machineKeys: "proj_machine_keys",
  pats: "proj_pats",
  userMetadata: "proj_user_metadata",
  members: "proj_members",
  projects: "proj_projects",
  projectRoles: "proj_project_roles",
  projectGrants: "proj_project_grants",
  userGrants: "proj_user_grants",
  machineSecrets: "proj_machine_secrets",
  // --- apps (branch apps) ---
  apps: "proj_apps",
  appKeys: "proj_app_keys",
  federationPolicies: "proj_federation_policies",
  federationBindings: "proj_federation_bindings",
} as const;

export const InstanceColumns = {
  id: "id",
  name: "name",
  defaultOrgId: "default_org_id",
  createdAt: "created_at",
  changedAt: "changed_at",
  sequence: "sequence",
} as const;

export const OrgColumns = {
  instanceId: "instance_id",
  id: "id",
  name: "name",
  state: "state",
  primaryDomain: "primary_domain",
  createdAt: "created_at",
  changedAt: "changed_at",
  sequence: "sequence",
} as const;

export const UserColumns = {
  instanceId: "instance_id",
  id: "id",
  orgId: "org_id",
  type: "user_type",
  userName: "username",
  state: "state",
  name: "name",
  description: "description",
  accessTokenType: "access_token_type",
  hasSecret: "has_secret",
  createdAt: "created_at",
  changedAt: "changed_at",
  sequence: "sequence",
} as const;

export const MachineKeyColumns = {
  instanceId: "instance_id",
  id: "id",
  userId: "user_id",
  orgId: "org_id",
  type: "key_type",
  expiration: "expiration",
  publicKey: "public_key",
  createdAt: "created_at",
  sequence: "sequence",
} as const;

export const PatColumns = {
  instanceId: "instance_id",
  id: "id",
  userId: "user_id",
  orgId: "org_id",
  expiration: "expiration",
  scopes: "scopes",
  createdAt: "created_at",
  sequence: "sequence",
} as const;

export const UserMetadataColumns = {
  instanceId: "instance_id",
  userId: "user_id",
  key: "key",
  value: "value",
  orgId: "org_id",
  createdAt: "created_at",
  changedAt: "changed_at",
  sequence: "sequence",
} as const;

export const ProjectColumns = {
  instanceId: "instance_id",
  id: "id",
  orgId: "org_id",
  name: "name",
  state: "state",
  projectRoleAssertion: "project_role_assertion",
  projectRoleCheck: "project_role_check",
  hasProjectCheck: "has_project_check",
  privateLabelingSetting: "private_labeling_setting",
  createdAt: "created_at",
  changedAt: "changed_at",
  sequence: "sequence",
} as const;

export const ProjectRoleColumns = {
  instanceId: "instance_id",
  projectId: "project_id",
  key: "role_key",
  orgId: "org_id",
  displayName: "display_name",
  group: "role_group",
  createdAt: "created_at",
  changedAt: "changed_at",
  sequence: "sequence",
} as const;

/** Project grants (migration 9): `org_id` is the project's org (the grant's resource owner). */
export const ProjectGrantColumns = {
  instanceId: "instance_id",
  grantId: "grant_id",
  projectId: "project_id",
  orgId: "org_id",
  grantedOrgId: "granted_org_id",
  roleKeys: "role_keys",
  state: "state",
  createdAt: "created_at",
  changedAt: "changed_at",
  sequence: "sequence",
} as const;

// --- apps (branch apps) ---
export const AppColumns = {
  instanceId: "instance_id",
  projectId: "project_id",
  id: "id",
  orgId: "org_id",
  name: "name",
  state: "state",
  clientId: "client_id",
  authMethodType: "auth_method_type",
  createdAt: "created_at",
  changedAt: "changed_at",
  sequence: "sequence",
  /** The current secret's id (the sequence of the event that set it) and creation (migration 13); null: none. */
  secretId: "secret_id",
  secretCreatedAt: "secret_created_at",
} as const;

/** User grants (migration 8). */
export const UserGrantColumns = {
  instanceId: "instance_id",
  id: "id",
  /** The granting org (the usergrant aggregate's resource owner). */
  orgId: "org_id",
  userId: "user_id",
  projectId: "project_id",
  projectGrantId: "project_grant_id",
  roleKeys: "role_keys",
  state: "state",
  createdAt: "created_at",
  changedAt: "changed_at",
  sequence: "sequence",
} as const;

/** A machine's client secrets (migration 6): never the secret nor its hash. */
export const MachineSecretColumns = {
  instanceId: "instance_id",
  userId: "user_id",
  id: "id",
  orgId: "org_id",
  description: "description",
  expiration: "expiration",
  createdAt: "created_at",
  changedAt: "changed_at",
  sequence: "sequence",
} as const;

export const AppKeyColumns = {
  instanceId: "instance_id",
  projectId: "project_id",
  appId: "app_id",
  id: "id",
  orgId: "org_id",
  type: "key_type",
  expiration: "expiration",
  createdAt: "created_at",
  sequence: "sequence",
} as const;

export const MemberColumns = {
  instanceId: "instance_id",
  /** "org", "instance" or "project". */
  scopeType: "scope_type",
  scopeId: "scope_id",
  userId: "user_id",
  roles: "roles",
  createdAt: "created_at",
  changedAt: "changed_at",
  sequence: "sequence",
} as const;

/** Every read-model table, in the order `projections rebuild` empties them. */
export const PROJECTION_TABLES = [
  Tables.instances,
  Tables.orgs,
  Tables.users,
  Tables.machineKeys,
  Tables.pats,
  Tables.userMetadata,
  Tables.members,
  Tables.projects,
  Tables.projectRoles,
  Tables.projectGrants,
  Tables.userGrants,
  Tables.machineSecrets,
  Tables.apps, // apps (branch apps)
  Tables.appKeys,
  Tables.federationPolicies,
  Tables.federationBindings,
] as const;
