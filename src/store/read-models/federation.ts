import type { PolicyPayload } from "../../domain/federation/events.js";
import type { FederationAlgorithm } from "../../domain/federation/types.js";
import type { Queryable, Row } from "../sql.js";
import { asDate, asJson } from "./page.js";
import { Tables } from "./tables.js";

/** Reads of proj_federation_policies and proj_federation_bindings (migration 12). */

export interface FederationPolicyRow extends PolicyPayload {
  id: string;
  orgId: string;
  createdAt: Date;
  changedAt: Date;
  sequence: number;
}

export interface FederationBindingRow {
  id: string;
  policyId: string;
  userId: string;
  orgId: string;
  subject: string;
  condition: string;
  description: string;
  createdAt: Date;
  sequence: number;
}

const POLICY_COLUMNS =
  "id, org_id, name, issuer, jwks_uri, jwks, audiences, algorithms, max_token_age_seconds, required_claims, require_jti, created_at, changed_at, sequence";
const BINDING_COLUMNS = "id, policy_id, user_id, org_id, subject, condition, description, created_at, sequence";

const toPolicy = (r: Row): FederationPolicyRow => ({
  id: r.id as string,
  orgId: r.org_id as string,
  name: r.name as string,
  issuer: r.issuer as string,
  jwksUri: r.jwks_uri as string,
  jwks: r.jwks as string,
  audiences: asJson<string[]>(r.audiences),
  algorithms: asJson<FederationAlgorithm[]>(r.algorithms),
  maxTokenAgeSeconds: Number(r.max_token_age_seconds),
  requiredClaims: asJson<Record<string, string>>(r.required_claims),
  requireJti: r.require_jti === true,
  createdAt: asDate(r.created_at),
  changedAt: asDate(r.changed_at),
  sequence: Number(r.sequence),
});

const toBinding = (r: Row): FederationBindingRow => ({
  id: r.id as string,
  policyId: r.policy_id as string,
  userId: r.user_id as string,
  orgId: r.org_id as string,
  subject: r.subject as string,
  condition: r.condition as string,
  description: r.description as string,
  createdAt: asDate(r.created_at),
  sequence: Number(r.sequence),
});

/** Upper bound of rows one read returns (policies per org, bindings per policy set). */
const MAX_ROWS = 1000;

export function federationReads(db: Queryable) {
  return {
    /** Every org's policies for this exact issuer (the token's iss picks them). */
    async policiesByIssuer(instanceId: string, issuer: string): Promise<FederationPolicyRow[]> {
      const rows = await db.query(`SELECT ${POLICY_COLUMNS} FROM ${Tables.federationPolicies} WHERE instance_id = $1 AND issuer = $2 ORDER BY created_at, id LIMIT ${MAX_ROWS}`, [
        instanceId,
        issuer,
      ]);
      return rows.map(toPolicy);
    },
    /** The org's policies in creation order. */
    async policiesOfOrg(instanceId: string, orgId: string): Promise<FederationPolicyRow[]> {
      const rows = await db.query(`SELECT ${POLICY_COLUMNS} FROM ${Tables.federationPolicies} WHERE instance_id = $1 AND org_id = $2 ORDER BY created_at, id LIMIT ${MAX_ROWS}`, [
        instanceId,
        orgId,
      ]);
      return rows.map(toPolicy);
    },
    /** The bindings of these policies, in creation order. */
    async bindingsOfPolicies(instanceId: string, policyIds: readonly string[]): Promise<FederationBindingRow[]> {
      if (policyIds.length === 0) return [];
      const rows = await db.query(
        `SELECT ${BINDING_COLUMNS} FROM ${Tables.federationBindings} WHERE instance_id = $1 AND policy_id = ANY($2::text[]) ORDER BY created_at, id LIMIT ${MAX_ROWS * 10}`,
        [instanceId, [...policyIds]],
      );
      return rows.map(toBinding);
    },
    /** A machine's bindings, in creation order. */
    async bindingsOfUser(instanceId: string, orgId: string, userId: string): Promise<FederationBindingRow[]> {
      const rows = await db.query(
        `SELECT ${BINDING_COLUMNS} FROM ${Tables.federationBindings} WHERE instance_id = $1 AND org_id = $2 AND user_id = $3 ORDER BY created_at, id LIMIT ${MAX_ROWS}`,
        [instanceId, orgId, userId],
      );
      return rows.map(toBinding);
    },
  };
}

export type FederationReads = ReturnType<typeof federationReads>;
