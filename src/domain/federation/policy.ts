import type { StoredEvent } from "../events.js";
import { FederationEvents, readFederationEvent, type BindingAddedPayload, type PolicyPayload } from "./events.js";
import type { FederationBinding, TrustPolicy } from "./types.js";

/** The "federation_policy" aggregate: one trust policy of an org. */
export interface PolicyState extends PolicyPayload {
  id: string;
  orgId: string;
  exists: boolean;
  sequence: number;
  createdAt?: Date;
  changedAt?: Date;
}

export const emptyPolicy = (id: string): PolicyState => ({
  id,
  orgId: "",
  exists: false,
  name: "",
  issuer: "",
  jwksUri: "",
  jwks: "",
  audiences: [],
  algorithms: [],
  maxTokenAgeSeconds: 0,
  requiredClaims: {},
  requireJti: false,
  sequence: 0,
});

export function evolvePolicy(s: PolicyState, stored: StoredEvent): PolicyState {
  s.sequence = stored.sequence;
  s.changedAt = stored.createdAt;
  const e = readFederationEvent(stored);
  switch (e?.type) {
    case FederationEvents.policyAdded:
      Object.assign(s, e.payload, { exists: true, orgId: e.resourceOwner, createdAt: e.createdAt });
      break;
    case FederationEvents.policyChanged:
      Object.assign(s, e.payload);
      break;
    case FederationEvents.policyRemoved:
      s.exists = false;
      break;
  }
  return s;
}

export const reducePolicy = (id: string, events: StoredEvent[]) => events.reduce(evolvePolicy, emptyPolicy(id));

/** The engine's view of a policy (types.ts). An uploaded JWKS that does not parse is kept out (validated at write). */
export function trustPolicyOf(p: Pick<PolicyState, "id" | "orgId"> & PolicyPayload): TrustPolicy {
  let jwks: TrustPolicy["jwks"];
  if (p.jwks) {
    try {
      jwks = JSON.parse(p.jwks) as TrustPolicy["jwks"];
    } catch {
      jwks = { keys: [] };
    }
  }
  return {
    id: p.id,
    orgId: p.orgId,
    name: p.name,
    issuer: p.issuer,
    ...(p.jwksUri ? { jwksUri: p.jwksUri } : {}),
    ...(jwks ? { jwks } : {}),
    audiences: p.audiences,
    algorithms: p.algorithms,
    ...(p.maxTokenAgeSeconds ? { maxTokenAgeSeconds: p.maxTokenAgeSeconds } : {}),
    requiredClaims: p.requiredClaims,
  };
}

/** A binding as the user aggregate holds it. */
export interface BindingState extends BindingAddedPayload {
  sequence: number;
  createdAt: Date;
}

/** The binding events on a user's state (its `bindings` map); user.removed clears it (user.ts). */
export function evolveBindings(bindings: Map<string, BindingState>, stored: StoredEvent): void {
  const e = readFederationEvent(stored);
  if (e?.type === FederationEvents.bindingAdded) bindings.set(e.payload.bindingId, { ...e.payload, sequence: e.sequence, createdAt: e.createdAt });
  else if (e?.type === FederationEvents.bindingRemoved) bindings.delete(e.payload.bindingId);
}

export const bindingOf = (b: BindingAddedPayload, user: { id: string; orgId: string }): FederationBinding => ({
  id: b.bindingId,
  policyId: b.policyId,
  orgId: user.orgId,
  userId: user.id,
  ...(b.subject ? { subject: b.subject } : {}),
  ...(b.condition ? { condition: b.condition } : {}),
});
