import { int, readEvent, text, texts, type EventsOf, type PayloadMappers, type StoredEvent, type TypedNewEvent } from "../events.js";
import type { FederationAlgorithm } from "./types.js";

/**
 * Workload-federation events (Portcullis's own; ZITADEL has none):
 * - the "federation_policy" aggregate (id: the policy's id, resource owner: its org):
 *   federation.policy.added / changed / removed;
 * - bindings live on the machine's "user" aggregate (so ListUserChanges shows them, the aggregate
 *   cache invalidates them on every process with the user, and a token's `fed:<bindingId>` is checked
 *   against the user state as a secret's is): user.machine.federation.binding.added / removed.
 * One payload type, one constructor and one mapper per event type.
 */
export const FederationEvents = {
  policyAdded: "federation.policy.added",
  policyChanged: "federation.policy.changed",
  policyRemoved: "federation.policy.removed",
  bindingAdded: "user.machine.federation.binding.added",
  bindingRemoved: "user.machine.federation.binding.removed",
} as const;
export type FederationEventType = (typeof FederationEvents)[keyof typeof FederationEvents];

/** What a trust policy says (types.ts TrustPolicy without id and org). */
export interface PolicyPayload {
  name: string;
  issuer: string;
  /** "" = none (an uploaded JWKS instead). */
  jwksUri: string;
  /** The uploaded JWKS as JSON text; "" = none. */
  jwks: string;
  audiences: string[];
  algorithms: FederationAlgorithm[];
  /** 0 = no bound beyond exp. */
  maxTokenAgeSeconds: number;
  requiredClaims: Record<string, string>;
  /** Refuse tokens without a jti. */
  requireJti: boolean;
}

/** federation.policy.changed carries the whole new policy (the changed fields are few and small). */
export type PolicyChangedPayload = PolicyPayload;

export interface PolicyRemovedPayload {
  issuer: string;
}

export interface BindingAddedPayload {
  bindingId: string;
  policyId: string;
  /** Exactly one of subject / condition is non-empty. */
  subject: string;
  condition: string;
  description: string;
}

export interface BindingRemovedPayload {
  bindingId: string;
  policyId: string;
}

const policyEvent = <T extends FederationEventType>(policyId: string, orgId: string, type: T, payload?: Record<string, unknown>): TypedNewEvent<T> => ({
  aggregateType: "federation_policy",
  aggregateId: policyId,
  resourceOwner: orgId,
  type,
  payload,
});

const writePolicy = (p: PolicyPayload): Record<string, unknown> => ({
  name: p.name,
  issuer: p.issuer,
  ...(p.jwksUri ? { jwksUri: p.jwksUri } : {}),
  ...(p.jwks ? { jwks: p.jwks } : {}),
  audiences: [...p.audiences],
  algorithms: [...p.algorithms],
  ...(p.maxTokenAgeSeconds ? { maxTokenAgeSeconds: p.maxTokenAgeSeconds } : {}),
  ...(Object.keys(p.requiredClaims).length > 0 ? { requiredClaims: { ...p.requiredClaims } } : {}),
  ...(p.requireJti ? { requireJti: true } : {}),
});

export const newPolicyAddedEvent = (policyId: string, orgId: string, p: PolicyPayload) => policyEvent(policyId, orgId, FederationEvents.policyAdded, writePolicy(p));
export const newPolicyChangedEvent = (policyId: string, orgId: string, p: PolicyPayload) => policyEvent(policyId, orgId, FederationEvents.policyChanged, writePolicy(p));
export const newPolicyRemovedEvent = (policyId: string, orgId: string, issuer: string) => policyEvent(policyId, orgId, FederationEvents.policyRemoved, { issuer });

/** The machine the binding belongs to. */
export interface BindingOwner {
  id: string;
  orgId: string;
}

export const newBindingAddedEvent = (u: BindingOwner, b: BindingAddedPayload): TypedNewEvent<typeof FederationEvents.bindingAdded> => ({
  aggregateType: "user",
  aggregateId: u.id,
  resourceOwner: u.orgId,
  type: FederationEvents.bindingAdded,
  payload: {
    bindingId: b.bindingId,
    policyId: b.policyId,
    ...(b.subject ? { subject: b.subject } : {}),
    ...(b.condition ? { condition: b.condition } : {}),
    ...(b.description ? { description: b.description } : {}),
  },
});

/** Removed by RemoveFederationBinding, or with its policy (cascade). */
export const newBindingRemovedEvent = (u: BindingOwner, bindingId: string, policyId: string): TypedNewEvent<typeof FederationEvents.bindingRemoved> => ({
  aggregateType: "user",
  aggregateId: u.id,
  resourceOwner: u.orgId,
  type: FederationEvents.bindingRemoved,
  payload: { bindingId, policyId },
});

const stringMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (v && typeof v === "object" && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) out[k] = String(x);
  return out;
};

const readPolicy = (p: Record<string, unknown>): PolicyPayload => ({
  name: text(p.name),
  issuer: text(p.issuer),
  jwksUri: text(p.jwksUri),
  jwks: text(p.jwks),
  audiences: texts(p.audiences),
  algorithms: texts(p.algorithms) as FederationAlgorithm[],
  maxTokenAgeSeconds: int(p.maxTokenAgeSeconds, 0),
  requiredClaims: stringMap(p.requiredClaims),
  requireJti: p.requireJti === true,
});

export const federationEventMappers = {
  [FederationEvents.policyAdded]: readPolicy,
  [FederationEvents.policyChanged]: readPolicy,
  [FederationEvents.policyRemoved]: (p: Record<string, unknown>): PolicyRemovedPayload => ({ issuer: text(p.issuer) }),
  [FederationEvents.bindingAdded]: (p: Record<string, unknown>): BindingAddedPayload => ({
    bindingId: text(p.bindingId),
    policyId: text(p.policyId),
    subject: text(p.subject),
    condition: text(p.condition),
    description: text(p.description),
  }),
  [FederationEvents.bindingRemoved]: (p: Record<string, unknown>): BindingRemovedPayload => ({ bindingId: text(p.bindingId), policyId: text(p.policyId) }),
} satisfies PayloadMappers & Record<FederationEventType, unknown>;

export type FederationEvent = EventsOf<typeof federationEventMappers>;

export const readFederationEvent = (e: StoredEvent): FederationEvent | undefined => readEvent(federationEventMappers, e);
