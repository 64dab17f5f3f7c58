import type { SqlPort } from "./sql.js";

/**
 * Numbered migrations, the same SQL on PGlite and PostgreSQL. Applied in order at start and by
 * `portcullis migrate`, under an advisory lock so that several processes starting at once on one
 * database run each migration exactly once (one wins, the others wait and proceed).
 */
export const migrations: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: "event store",
    sql: `
CREATE TABLE events (
  instance_id     text        NOT NULL,
  aggregate_type  text        NOT NULL,
  aggregate_id    text        NOT NULL,
  sequence        bigint      NOT NULL,
  position        bigserial   NOT NULL,
  event_type      text        NOT NULL,
  payload         jsonb       NOT NULL DEFAULT '{}'::jsonb,
  editor_user     text        NOT NULL,
  resource_owner  text        NOT NULL,
  created_at      timestamptz NOT NULL,
  CONSTRAINT events_aggregate_sequence PRIMARY KEY (instance_id, aggregate_type, aggregate_id, sequence),
  CONSTRAINT events_position UNIQUE (position)
);
CREATE TABLE unique_constraints (
  instance_id  text NOT NULL,
  unique_type  text NOT NULL,
  unique_field text NOT NULL,
  CONSTRAINT unique_constraints_claim PRIMARY KEY (instance_id, unique_type, unique_field)
);
CREATE TABLE system_settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);
CREATE SEQUENCE node_ids;
CREATE TABLE signing_keys (
  id              text PRIMARY KEY,
  algorithm       text NOT NULL,
  public_jwk      jsonb NOT NULL,
  private_sealed  text NOT NULL,
  created_at      timestamptz NOT NULL
);
`,
  },
  {
    version: 2,
    name: "projections",
    sql: `
CREATE TABLE proj_instances (
  id              text PRIMARY KEY,
  name            text NOT NULL,
  default_org_id  text,
  created_at      timestamptz NOT NULL,
  changed_at      timestamptz NOT NULL,
  sequence        bigint NOT NULL
);
CREATE TABLE proj_orgs (
  instance_id     text NOT NULL,
  id              text NOT NULL,
  name            text NOT NULL,
  state           smallint NOT NULL,
  primary_domain  text NOT NULL DEFAULT '',
  created_at      timestamptz NOT NULL,
  changed_at      timestamptz NOT NULL,
  sequence        bigint NOT NULL,
  PRIMARY KEY (instance_id, id)
);
CREATE TABLE proj_users (
  instance_id        text NOT NULL,
  id                 text NOT NULL,
  org_id             text NOT NULL,
  user_type          smallint NOT NULL,
  username           text NOT NULL,
  state              smallint NOT NULL,
  name               text NOT NULL DEFAULT '',
  description        text NOT NULL DEFAULT '',
  access_token_type  smallint NOT NULL DEFAULT 0,
  has_secret         boolean NOT NULL DEFAULT false,
  created_at         timestamptz NOT NULL,
  changed_at         timestamptz NOT NULL,
  sequence           bigint NOT NULL,
  PRIMARY KEY (instance_id, id)
);
CREATE INDEX proj_users_username ON proj_users (instance_id, lower(username));
CREATE INDEX proj_users_org ON proj_users (instance_id, org_id, id);
CREATE TABLE proj_machine_keys (
  instance_id  text NOT NULL,
  id           text NOT NULL,
  user_id      text NOT NULL,
  org_id       text NOT NULL,
  key_type     smallint NOT NULL,
  expiration   timestamptz NOT NULL,
  public_key   text NOT NULL,
  created_at   timestamptz NOT NULL,
  sequence     bigint NOT NULL,
  PRIMARY KEY (instance_id, id)
);
CREATE INDEX proj_machine_keys_user ON proj_machine_keys (instance_id, user_id);
CREATE TABLE proj_pats (
  instance_id  text NOT NULL,
  id           text NOT NULL,
  user_id      text NOT NULL,
  org_id       text NOT NULL,
  expiration   timestamptz NOT NULL,
  scopes       jsonb NOT NULL,
  created_at   timestamptz NOT NULL,
  sequence     bigint NOT NULL,
  PRIMARY KEY (instance_id, id)
);
CREATE INDEX proj_pats_user ON proj_pats (instance_id, user_id);
CREATE TABLE proj_user_metadata (
  instance_id  text NOT NULL,
  user_id      text NOT NULL,
  key          text NOT NULL,
  value        bytea NOT NULL,
  org_id       text NOT NULL,
  created_at   timestamptz NOT NULL,
  changed_at   timestamptz NOT NULL,
  sequence     bigint NOT NULL,
  PRIMARY KEY (instance_id, user_id, key)
);
CREATE TABLE proj_members (
  instance_id   text NOT NULL,
  scope_type    text NOT NULL,
  scope_id      text NOT NULL,
  user_id       text NOT NULL,
  roles         jsonb NOT NULL,
  created_at    timestamptz NOT NULL,
  changed_at    timestamptz NOT NULL,
  sequence      bigint NOT NULL,
  PRIMARY KEY (instance_id, scope_type, scope_id, user_id)
);
CREATE INDEX proj_members_user ON proj_members (instance_id, user_id);
`,
  },
  {
    version: 3,
    name: "cluster nodes",
    sql: `
CREATE TABLE nodes (
  node_id     bigint PRIMARY KEY,
  started_at  timestamptz NOT NULL DEFAULT now(),
  last_seen   timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 4,
    name: "used assertions",
    // The single-use check of RFC 7523 assertions, shared by every process (store/used-assertions.ts).
    sql: `
CREATE TABLE used_assertions (
  instance_id  text        NOT NULL,
  id           text        NOT NULL,
  expires_at   timestamptz NOT NULL,
  PRIMARY KEY (instance_id, id)
);
CREATE INDEX used_assertions_expiry ON used_assertions (expires_at);
`,
  },
  {
    version: 5,
    name: "projects",
    // Projects and their roles (projections of the "project" aggregate); project members go to
    // proj_members with scope_type 'project'.
    sql: `
CREATE TABLE proj_projects (
  instance_id               text NOT NULL,
  id                        text NOT NULL,
  org_id                    text NOT NULL,
  name                      text NOT NULL,
  state                     smallint NOT NULL,
  project_role_assertion    boolean NOT NULL DEFAULT false,
  project_role_check        boolean NOT NULL DEFAULT false,
  has_project_check         boolean NOT NULL DEFAULT false,
  private_labeling_setting  smallint NOT NULL DEFAULT 0,
  created_at                timestamptz NOT NULL,
  changed_at                timestamptz NOT NULL,
  sequence                  bigint NOT NULL,
  PRIMARY KEY (instance_id, id)
);
CREATE INDEX proj_projects_org ON proj_projects (instance_id, org_id);
CREATE TABLE proj_project_roles (
  instance_id   text NOT NULL,
  project_id    text NOT NULL,
  role_key      text NOT NULL,
  org_id        text NOT NULL,
  display_name  text NOT NULL,
  role_group    text NOT NULL,
  created_at    timestamptz NOT NULL,
  changed_at    timestamptz NOT NULL,
  sequence      bigint NOT NULL,
  PRIMARY KEY (instance_id, project_id, role_key)
);
CREATE INDEX proj_project_roles_org ON proj_project_roles (instance_id, org_id);
`,
  },
  {
    version: 6,
    name: "machine secrets and credentials' last use",
    // Version 5 is another branch's. The set of a machine's client secrets (never the secret, nor its hash),
    // filled from the secret each machine has: before this version a machine had at most one.
    sql: `
CREATE TABLE proj_machine_secrets (
  instance_id  text        NOT NULL,
  user_id      text        NOT NULL,
  id           text        NOT NULL,
  org_id       text        NOT NULL,
  description  text        NOT NULL DEFAULT '',
  expiration   timestamptz,
  created_at   timestamptz NOT NULL,
  changed_at   timestamptz NOT NULL,
  sequence     bigint      NOT NULL,
  PRIMARY KEY (instance_id, user_id, id)
);
CREATE INDEX proj_machine_secrets_org_expiration ON proj_machine_secrets (instance_id, org_id, expiration);
CREATE TABLE credential_last_used (
  instance_id  text        NOT NULL,
  kind         text        NOT NULL,
  user_id      text        NOT NULL,
  cred_id      text        NOT NULL,
  last_used    timestamptz NOT NULL,
  PRIMARY KEY (instance_id, kind, user_id, cred_id)
);
INSERT INTO proj_machine_secrets (instance_id, user_id, id, org_id, description, expiration, created_at, changed_at, sequence)
SELECT DISTINCT ON (e.instance_id, e.aggregate_id)
       e.instance_id, e.aggregate_id, COALESCE(NULLIF(e.payload->>'secretId', ''), e.sequence::text), u.org_id, '',
       NULLIF(e.payload->>'expirationDate', '')::timestamptz, e.created_at, e.created_at, e.sequence
  FROM events e JOIN proj_users u ON u.instance_id = e.instance_id AND u.id = e.aggregate_id
 WHERE e.aggregate_type = 'user' AND e.event_type = 'user.machine.secret.set' AND u.has_secret
 ORDER BY e.instance_id, e.aggregate_id, e.sequence DESC;
`,
  },
  {
    version: 7,
    name: "fenced node slots",
    // Each registration of a node slot gets its own number (`lease`, from node_ids); a PostgreSQL
    // write transaction starts with portcullis_fence(slot, lease), which fails with SQLSTATE PCF01
    // when the slot has been handed to another process since (server/node-slot.ts). The function's
    // body is one line: migrations are split into statements at a semicolon that ends a line.
    sql: `
ALTER TABLE nodes ADD COLUMN lease bigint NOT NULL DEFAULT 0;
CREATE FUNCTION portcullis_fence(slot bigint, holder bigint) RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM 1 FROM nodes WHERE node_id = slot AND lease = holder; IF NOT FOUND THEN RAISE EXCEPTION 'node slot % is no longer held by this process', slot USING ERRCODE = 'PCF01'; END IF; END $$;
`,
  },
  {
    version: 8,
    name: "user grants",
    // The "usergrant" aggregate's read model (ZITADEL's projections.user_grants5): one row per grant
    // not removed; names of users, orgs and projects are joined at query time.
    sql: `
CREATE TABLE proj_user_grants (
  instance_id       text NOT NULL,
  id                text NOT NULL,
  org_id            text NOT NULL,
  user_id           text NOT NULL,
  project_id        text NOT NULL,
  project_grant_id  text NOT NULL,
  role_keys         jsonb NOT NULL,
  state             smallint NOT NULL,
  created_at        timestamptz NOT NULL,
  changed_at        timestamptz NOT NULL,
  sequence          bigint NOT NULL,
  PRIMARY KEY (instance_id, id)
);
CREATE INDEX proj_user_grants_user ON proj_user_grants (instance_id, user_id);
CREATE INDEX proj_user_grants_project ON proj_user_grants (instance_id, project_id);
CREATE INDEX proj_user_grants_org ON proj_user_grants (instance_id, org_id);
`,
  },
  {
    version: 9,
    name: "project grants",
    // Project grants (projection of project.grant.* on the "project" aggregate): org_id is the
    // project's org, granted_org_id the org the project is granted to, role_keys a JSON array.
    sql: `
CREATE TABLE proj_project_grants (
  instance_id     text NOT NULL,
  grant_id        text NOT NULL,
  project_id      text NOT NULL,
  org_id          text NOT NULL,
  granted_org_id  text NOT NULL,
  role_keys       jsonb NOT NULL DEFAULT '[]'::jsonb,
  state           smallint NOT NULL,
  created_at      timestamptz NOT NULL,
  changed_at      timestamptz NOT NULL,
  sequence        bigint NOT NULL,
  PRIMARY KEY (instance_id, grant_id)
);
CREATE INDEX proj_project_grants_project ON proj_project_grants (instance_id, project_id);
CREATE INDEX proj_project_grants_org ON proj_project_grants (instance_id, org_id);
CREATE INDEX proj_project_grants_granted_org ON proj_project_grants (instance_id, granted_org_id);
`,
  },
  {
    version: 10,
    name: "applications",
    // API applications and their keys (projections of project.application.* on the project
    // aggregate). No secret, hash or public key is kept here: the aggregate holds what
    // authentication needs.
    sql: `
CREATE TABLE proj_apps (
  instance_id       text NOT NULL,
  project_id        text NOT NULL,
  id                text NOT NULL,
  org_id            text NOT NULL,
  name              text NOT NULL,
  state             smallint NOT NULL,
  client_id         text NOT NULL DEFAULT '',
  auth_method_type  smallint NOT NULL DEFAULT 0,
  created_at        timestamptz NOT NULL,
  changed_at        timestamptz NOT NULL,
  sequence          bigint NOT NULL,
  PRIMARY KEY (instance_id, project_id, id)
);
CREATE INDEX proj_apps_client ON proj_apps (instance_id, client_id);
CREATE INDEX proj_apps_org ON proj_apps (instance_id, org_id);
CREATE TABLE proj_app_keys (
  instance_id  text NOT NULL,
  project_id   text NOT NULL,
  app_id       text NOT NULL,
  id           text NOT NULL,
  org_id       text NOT NULL,
  key_type     smallint NOT NULL,
  expiration   timestamptz NOT NULL,
  created_at   timestamptz NOT NULL,
  sequence     bigint NOT NULL,
  PRIMARY KEY (instance_id, id)
);
CREATE INDEX proj_app_keys_app ON proj_app_keys (instance_id, project_id, app_id);
CREATE INDEX proj_app_keys_org ON proj_app_keys (instance_id, org_id);
`,
  },
  {
    version: 11,
    name: "webhooks",
    // Operational state, not projections (not rebuilt from events): the subscriptions with their
    // sealed signing secret, each one's delivery cursor (the last position delivered or skipped) and
    // lease (one deliverer per subscription across processes), and the dead-letter list.
    sql: `
CREATE TABLE webhook_subscriptions (
  instance_id      text        NOT NULL,
  id               text        NOT NULL,
  url              text        NOT NULL,
  event_types      jsonb       NOT NULL DEFAULT '[]'::jsonb,
  aggregate_types  jsonb       NOT NULL DEFAULT '[]'::jsonb,
  secret_sealed    text        NOT NULL,
  cursor           bigint      NOT NULL,
  created_at       timestamptz NOT NULL,
  lease_owner      text,
  lease_until      timestamptz,
  last_error       text,
  PRIMARY KEY (instance_id, id)
);
CREATE TABLE webhook_dead_letters (
  instance_id      text        NOT NULL,
  subscription_id  text        NOT NULL,
  position         bigint      NOT NULL,
  event_type       text        NOT NULL,
  attempts         integer     NOT NULL,
  last_error       text        NOT NULL,
  failed_at        timestamptz NOT NULL,
  redrive          boolean     NOT NULL DEFAULT false,
  PRIMARY KEY (instance_id, subscription_id, position)
);
`,
  },
  {
    version: 12,
    name: "workload identity federation",
    // Trust policies (the federation_policy aggregate) and the bindings of machines to them (events
    // on the user aggregate). The token path finds the policies of an issuer here.
    sql: `
CREATE TABLE proj_federation_policies (
  instance_id           text        NOT NULL,
  id                    text        NOT NULL,
  org_id                text        NOT NULL,
  name                  text        NOT NULL,
  issuer                text        NOT NULL,
  jwks_uri              text        NOT NULL DEFAULT '',
  jwks                  text        NOT NULL DEFAULT '',
  audiences             jsonb       NOT NULL DEFAULT '[]'::jsonb,
  algorithms            jsonb       NOT NULL DEFAULT '[]'::jsonb,
  max_token_age_seconds integer     NOT NULL DEFAULT 0,
  required_claims       jsonb       NOT NULL DEFAULT '{}'::jsonb,
  require_jti           boolean     NOT NULL DEFAULT false,
  created_at            timestamptz NOT NULL,
  changed_at            timestamptz NOT NULL,
  sequence              bigint      NOT NULL,
  PRIMARY KEY (instance_id, id)
);
CREATE INDEX proj_federation_policies_issuer ON proj_federation_policies (instance_id, issuer);
CREATE INDEX proj_federation_policies_org ON proj_federation_policies (instance_id, org_id);
CREATE TABLE proj_federation_bindings (
  instance_id  text        NOT NULL,
  id           text        NOT NULL,
  policy_id    text        NOT NULL,
  user_id      text        NOT NULL,
  org_id       text        NOT NULL,
  subject      text        NOT NULL DEFAULT '',
  condition    text        NOT NULL DEFAULT '',
  description  text        NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL,
  sequence     bigint      NOT NULL,
  PRIMARY KEY (instance_id, id)
);
CREATE INDEX proj_federation_bindings_policy ON proj_federation_bindings (instance_id, policy_id);
CREATE INDEX proj_federation_bindings_user ON proj_federation_bindings (instance_id, user_id);
`,
  },
  {
    version: 13,
    name: "app secret dates",
    // Which secret an API application holds (the sequence of the event that set it, its id for
    // lists and last use) and since when: filled from each app's latest config or secret event.
    sql: `
ALTER TABLE proj_apps ADD COLUMN secret_id text, ADD COLUMN secret_created_at timestamptz;
UPDATE proj_apps a
   SET secret_id = CASE WHEN s.hashed <> '' THEN s.sequence::text END,
       secret_created_at = CASE WHEN s.hashed <> '' THEN s.created_at END
  FROM (SELECT DISTINCT ON (e.instance_id, e.aggregate_id, e.payload->>'appId')
               e.instance_id, e.aggregate_id, e.payload->>'appId' AS app_id, COALESCE(e.payload->>'hashedSecret', '') AS hashed, e.sequence, e.created_at
          FROM events e
         WHERE e.aggregate_type = 'project'
           AND e.event_type IN ('project.application.config.api.added', 'project.application.config.api.secret.changed')
         ORDER BY e.instance_id, e.aggregate_id, e.payload->>'appId', e.sequence DESC) s
 WHERE a.instance_id = s.instance_id AND a.project_id = s.aggregate_id AND a.id = s.app_id;
`,
  },
];

export { PROJECTION_TABLES } from "./read-models/tables.js";

/** A fixed advisory-lock key for migrations and bootstrap ("portcull" in ASCII). */
export const MIGRATION_LOCK_KEY = 0x706f7274637568;

export async function migrate(sql: SqlPort): Promise<number[]> {
  return sql.transaction(async (tx) => {
    // Serializes concurrent starters on PostgreSQL; harmless on PGlite (one process).
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
    await tx.query("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    const done = new Set((await tx.query<{ version: number }>("SELECT version FROM schema_migrations")).map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      for (const stmt of splitStatements(m.sql)) await tx.query(stmt);
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}

const splitStatements = (sql: string) =>
  sql
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
