import type { StoredEvent } from "../domain/events.js";
import { FederationEvents, readFederationEvent } from "../domain/federation/events.js";
import { OrgEvents } from "../domain/orgs/events.js";
import { UserEvents } from "../domain/users/events.js";
import { Tables } from "./read-models/tables.js";
import type { Queryable } from "./sql.js";

/**
 * The federation read models (migration 12), projected inline with the other projections
 * (projections.ts calls this for every event): policies from the federation_policy aggregate,
 * bindings from the user aggregate; a removed user takes its bindings, a removed org its policies
 * and bindings.
 */
export async function projectFederation(tx: Queryable, stored: StoredEvent): Promise<void> {
  const key = [stored.instanceId, stored.aggregateId];
  if (stored.type === UserEvents.removed) {
    await tx.query(`DELETE FROM ${Tables.federationBindings} WHERE instance_id = $1 AND user_id = $2`, key);
    return;
  }
  if (stored.type === OrgEvents.removed) {
    await tx.query(`DELETE FROM ${Tables.federationBindings} WHERE instance_id = $1 AND org_id = $2`, key);
    await tx.query(`DELETE FROM ${Tables.federationPolicies} WHERE instance_id = $1 AND org_id = $2`, key);
    return;
  }
  const e = readFederationEvent(stored);
  switch (e?.type) {
    case FederationEvents.policyAdded:
    case FederationEvents.policyChanged: {
      const p = e.payload;
      await tx.query(
        `INSERT INTO ${Tables.federationPolicies}
           (instance_id, id, org_id, name, issuer, jwks_uri, jwks, audiences, algorithms, max_token_age_seconds, required_claims, require_jti, created_at, changed_at, sequence)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14)
         ON CONFLICT (instance_id, id) DO UPDATE SET name = EXCLUDED.name, issuer = EXCLUDED.issuer, jwks_uri = EXCLUDED.jwks_uri, jwks = EXCLUDED.jwks,
           audiences = EXCLUDED.audiences, algorithms = EXCLUDED.algorithms, max_token_age_seconds = EXCLUDED.max_token_age_seconds,
           required_claims = EXCLUDED.required_claims, require_jti = EXCLUDED.require_jti, changed_at = EXCLUDED.changed_at, sequence = EXCLUDED.sequence`,
        [
          e.instanceId,
          e.aggregateId,
          e.resourceOwner,
          p.name,
          p.issuer,
          p.jwksUri,
          p.jwks,
          JSON.stringify(p.audiences),
          JSON.stringify(p.algorithms),
          p.maxTokenAgeSeconds,
          JSON.stringify(p.requiredClaims),
          p.requireJti,
          e.createdAt,
          e.sequence,
        ],
      );
      return;
    }
    case FederationEvents.policyRemoved:
      await tx.query(`DELETE FROM ${Tables.federationPolicies} WHERE instance_id = $1 AND id = $2`, key);
      await tx.query(`DELETE FROM ${Tables.federationBindings} WHERE instance_id = $1 AND policy_id = $2`, key);
      return;
    case FederationEvents.bindingAdded: {
      const b = e.payload;
      await tx.query(
        `INSERT INTO ${Tables.federationBindings} (instance_id, id, policy_id, user_id, org_id, subject, condition, description, created_at, sequence)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (instance_id, id) DO NOTHING`,
        [e.instanceId, b.bindingId, b.policyId, e.aggregateId, e.resourceOwner, b.subject, b.condition, b.description, e.createdAt, e.sequence],
      );
      await touchUser(tx, stored);
      return;
    }
    case FederationEvents.bindingRemoved:
      await tx.query(`DELETE FROM ${Tables.federationBindings} WHERE instance_id = $1 AND id = $2`, [e.instanceId, e.payload.bindingId]);
      await touchUser(tx, stored);
      return;
  }
}

/** A binding change is a change of the machine (its sequence and change date in the users table). */
const touchUser = (tx: Queryable, e: StoredEvent) =>
  tx.query(`UPDATE ${Tables.users} SET changed_at = $3, sequence = $4 WHERE instance_id = $1 AND id = $2`, [e.instanceId, e.aggregateId, e.createdAt, e.sequence]);
