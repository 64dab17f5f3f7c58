// Bulk seeding of machine users straight into a PostgreSQL store, in one transaction, with SQL
// (generate_series): for every user the same three events the API would write
// (user.machine.added, user.machine.secret.set, user.pat.added), its username claim in
// unique_constraints, and its proj_users / proj_pats rows as the inline projections leave them.
// `portcullis projections rebuild` on the result reproduces the same tables.
//
// Credentials are derived from (salt, i), so the bench can recompute any user's client secret and
// PAT without keeping a million of them: the secret is 64 hex characters, the PAT has the server's
// own format (src/crypto/tokens.ts) with 32 pseudo-random bytes, and both are stored as
// HMAC-SHA256(hmacKey, value) in base64url, the hmac key derived from the bench's master key with
// the server's own deriveKeys (dist/crypto/keys.js). HMAC is computed in SQL from the builtin
// sha256() with the key's inner and outer pads passed as parameters (RFC 2104).
import { createHash } from "node:crypto";
import pg from "pg";
import { deriveKeys } from "../../dist/crypto/keys.js";
import { PAT_SCOPES } from "../../dist/domain/users/rules.js";
import { NO_EXPIRY } from "../../dist/domain/expiration.js";
import { UserEvents } from "../../dist/domain/users/user.js";
import { MASTERKEY } from "./portcullis.mjs";

export const userId = (i) => "9" + String(i).padStart(17, "0");
export const tokenId = (i) => "8" + String(i).padStart(17, "0");
export const userName = (i) => `bench-machine-${i}`;

const md5 = (s) => createHash("md5").update(s).digest("hex");

export function credentialsOf(salt, i) {
  const secret = md5(`${salt}:a:${i}`) + md5(`${salt}:b:${i}`);
  const t = Buffer.from(tokenId(i));
  const u = Buffer.from(userId(i));
  const rnd = createHash("sha256").update(`${salt}:p:${i}`).digest();
  const pat = Buffer.concat([Buffer.of(2, t.length), t, Buffer.of(u.length), u, rnd]).toString("base64url");
  return { i, userId: userId(i), userName: userName(i), secret, pat };
}

/** Ids of the bootstrapped instance, its org and the admin user (the editor of the seeded events). */
export async function bootstrapIds(client) {
  const one = async (q) => (await client.query(q)).rows[0]?.id;
  return {
    instanceId: await one("SELECT aggregate_id AS id FROM events WHERE aggregate_type = 'instance' ORDER BY position LIMIT 1"),
    orgId: await one("SELECT aggregate_id AS id FROM events WHERE event_type = 'org.added' ORDER BY position LIMIT 1"),
    adminId: await one("SELECT aggregate_id AS id FROM events WHERE event_type = 'user.machine.added' ORDER BY position LIMIT 1"),
  };
}

function pads(key) {
  const k = Buffer.alloc(64);
  key.copy(k);
  return { ipad: Buffer.from(k.map((b) => b ^ 0x36)), opad: Buffer.from(k.map((b) => b ^ 0x5c)) };
}

const B64URL = (expr) => `rtrim(translate(replace(encode(${expr}, 'base64'), E'\\n', ''), '+/', '-_'), '=')`;
const HMAC = (text) => B64URL(`sha256($2::bytea || sha256($1::bytea || convert_to(${text}, 'UTF8')))`);

/** Seeds users from..to (inclusive) into the store at `url`; returns the elapsed ms. */
export async function seedMachines(url, { from, to, salt }) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const t0 = performance.now();
  try {
    const ids = await bootstrapIds(client);
    if (!ids.instanceId || !ids.orgId || !ids.adminId) throw new Error("seed: the store is not bootstrapped");
    const { ipad, opad } = pads(deriveKeys(MASTERKEY).hmac);
    const now = new Date();
    const expiration = NO_EXPIRY.toISOString();
    await client.query("BEGIN");
    await client.query("SET LOCAL work_mem = '256MB'");
    await client.query(
      `CREATE TEMP TABLE bench_seed ON COMMIT DROP AS
       SELECT i, uid, tid, uname, ${HMAC("secret")} AS secret_hash, ${HMAC("pat")} AS pat_hash
       FROM (
         SELECT i, uid, tid, uname, secret,
           ${B64URL(`'\\x0212'::bytea || convert_to(tid, 'UTF8') || '\\x12'::bytea || convert_to(uid, 'UTF8') || sha256(convert_to($5 || ':p:' || i, 'UTF8'))`)} AS pat
         FROM (
           SELECT i, '9' || lpad(i::text, 17, '0') AS uid, '8' || lpad(i::text, 17, '0') AS tid, 'bench-machine-' || i AS uname,
                  md5($5 || ':a:' || i) || md5($5 || ':b:' || i) AS secret
           FROM generate_series($3::bigint, $4::bigint) AS i
         ) a
       ) b`,
      [ipad, opad, from, to, salt],
    );
    const common = [ids.instanceId, ids.adminId, ids.orgId, now];
    const insertEvents = (seq, type, payload) =>
      client.query(
        `INSERT INTO events (instance_id, aggregate_type, aggregate_id, sequence, event_type, payload, editor_user, resource_owner, created_at)
         SELECT $1, 'user', uid, ${seq}, '${type}', ${payload}, $2, $3, $4 FROM bench_seed ORDER BY i`,
        [...common, ...(payload.includes("$5") ? [JSON.stringify(PAT_SCOPES)] : [])],
      );
    await insertEvents(1, UserEvents.machineAdded, `jsonb_build_object('userName', uname, 'name', 'Bench machine ' || i)`);
    await insertEvents(2, UserEvents.secretSet, `jsonb_build_object('hashedSecret', secret_hash)`);
    await insertEvents(
      3,
      UserEvents.patAdded,
      `jsonb_build_object('tokenId', tid, 'expiration', '${expiration}', 'scopes', $5::jsonb, 'tokenHash', pat_hash)`,
    );
    await client.query(`INSERT INTO unique_constraints (instance_id, unique_type, unique_field) SELECT $1, 'usernames', lower(uname) FROM bench_seed`, [ids.instanceId]);
    await client.query(
      `INSERT INTO proj_users (instance_id, id, org_id, user_type, username, state, name, description, access_token_type, has_secret, created_at, changed_at, sequence)
       SELECT $1, uid, $2, 2, uname, 1, 'Bench machine ' || i, '', 0, true, $3, $3, 3 FROM bench_seed ORDER BY i`,
      [ids.instanceId, ids.orgId, now],
    );
    await client.query(
      `INSERT INTO proj_pats (instance_id, id, user_id, org_id, expiration, scopes, created_at, sequence)
       SELECT $1, tid, uid, $2, $3, $4::jsonb, $5, 3 FROM bench_seed ORDER BY i`,
      [ids.instanceId, ids.orgId, NO_EXPIRY, JSON.stringify(PAT_SCOPES), now],
    );
    await client.query("COMMIT");
    const ms = performance.now() - t0;
    // A store in steady state has been vacuumed: do it now rather than have autovacuum scan the
    // fresh rows (and set their hint bits) in the middle of a measurement.
    const v0 = performance.now();
    await client.query("VACUUM (ANALYZE) events, unique_constraints, proj_users, proj_pats");
    return { ms, vacuumMs: performance.now() - v0, ...ids };
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  } finally {
    await client.end();
  }
}

/** Counts that must agree after seeding: users, their events, claims and projection rows. */
export async function storeCounts(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const n = async (q) => Number((await client.query(q)).rows[0].n);
    return {
      machineUsers: await n("SELECT count(*) AS n FROM proj_users WHERE user_type = 2"),
      userEvents: await n("SELECT count(*) AS n FROM events WHERE aggregate_type = 'user'"),
      usernameClaims: await n("SELECT count(*) AS n FROM unique_constraints WHERE unique_type = 'usernames'"),
      pats: await n("SELECT count(*) AS n FROM proj_pats"),
    };
  } finally {
    await client.end();
  }
}
