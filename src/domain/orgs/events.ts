import { int, readEvent, text, texts, type EventsOf, type PayloadMappers, type StoredEvent, type TypedNewEvent } from "../events.js";

/**
 * Org and instance events (ZITADEL's internal/repository/org and internal/repository/instance): per
 * event type its type name, payload type, constructor and mapper. Type names and payload fields are
 * ZITADEL's; they are stored, so they never change.
 */
export const OrgEvents = {
  added: "org.added",
  changed: "org.changed",
  deactivated: "org.deactivated",
  reactivated: "org.reactivated",
  removed: "org.removed",
  domainAdded: "org.domain.added",
  domainVerified: "org.domain.verified",
  domainPrimarySet: "org.domain.primary.set",
  domainRemoved: "org.domain.removed",
  memberAdded: "org.member.added",
  memberChanged: "org.member.changed",
  memberRemoved: "org.member.removed",
  memberCascadeRemoved: "org.member.cascade.removed",
  credentialPolicySet: "org.policy.credential.set",
} as const;
export type OrgEventType = (typeof OrgEvents)[keyof typeof OrgEvents];

export const InstanceEvents = {
  added: "instance.added",
  defaultOrgSet: "instance.default.org.set",
  projectSet: "instance.iam.project.set",
  memberAdded: "instance.member.added",
  memberChanged: "instance.member.changed",
  memberRemoved: "instance.member.removed",
  memberCascadeRemoved: "instance.member.cascade.removed",
} as const;
export type InstanceEventType = (typeof InstanceEvents)[keyof typeof InstanceEvents];

/** An org is its own resource owner. */
function orgEvent<T extends OrgEventType>(orgId: string, type: T, payload?: Record<string, unknown>): TypedNewEvent<T> {
  return { aggregateType: "org", aggregateId: orgId, resourceOwner: orgId, type, payload };
}

/** So is an instance. */
function instanceEvent<T extends InstanceEventType>(instanceId: string, type: T, payload?: Record<string, unknown>): TypedNewEvent<T> {
  return { aggregateType: "instance", aggregateId: instanceId, resourceOwner: instanceId, type, payload };
}

type NoPayload = Record<string, never>;
const noPayload = (): NoPayload => ({});

// Members: the same payloads on orgs and on the instance (ZITADEL's internal/repository/member).

export interface MemberPayload {
  userId: string;
  roles: string[];
}

export interface MemberRemovedPayload {
  userId: string;
}

const memberPayload = (userId: string, roles: readonly string[]) => ({ userId, roles: [...roles] });
const readMember = (p: Record<string, unknown>): MemberPayload => ({ userId: text(p.userId), roles: texts(p.roles) });
const readMemberRemoved = (p: Record<string, unknown>): MemberRemovedPayload => ({ userId: text(p.userId) });

// org.added / changed / removed

export interface OrgNamePayload {
  name: string;
}

export interface OrgChangedPayload {
  /** Always written; read as absent only from a payload without it, which keeps the current name. */
  name?: string;
}

export const newOrgAddedEvent = (orgId: string, name: string) => orgEvent(orgId, OrgEvents.added, { name });
export const newOrgChangedEvent = (orgId: string, name: string) => orgEvent(orgId, OrgEvents.changed, { name });
export const newOrgDeactivatedEvent = (orgId: string) => orgEvent(orgId, OrgEvents.deactivated);
export const newOrgReactivatedEvent = (orgId: string) => orgEvent(orgId, OrgEvents.reactivated);
/** Carries the name so that the name's claim can be released (as ZITADEL's OrgRemovedEvent). */
export const newOrgRemovedEvent = (orgId: string, name: string) => orgEvent(orgId, OrgEvents.removed, { name });

const readOrgName = (p: Record<string, unknown>): OrgNamePayload => ({ name: text(p.name) });
const readOrgChanged = (p: Record<string, unknown>): OrgChangedPayload => (p.name === undefined || p.name === null ? {} : { name: text(p.name) });

// org.domain.*

export interface DomainPayload {
  domain: string;
}

export interface DomainRemovedPayload {
  domain: string;
  isVerified: boolean;
}

export const newDomainAddedEvent = (orgId: string, domain: string) => orgEvent(orgId, OrgEvents.domainAdded, { domain });
export const newDomainVerifiedEvent = (orgId: string, domain: string) => orgEvent(orgId, OrgEvents.domainVerified, { domain });
export const newDomainPrimarySetEvent = (orgId: string, domain: string) => orgEvent(orgId, OrgEvents.domainPrimarySet, { domain });
export const newDomainRemovedEvent = (orgId: string, domain: string, isVerified: boolean) => orgEvent(orgId, OrgEvents.domainRemoved, { domain, isVerified });

const readDomain = (p: Record<string, unknown>): DomainPayload => ({ domain: text(p.domain) });
const readDomainRemoved = (p: Record<string, unknown>): DomainRemovedPayload => ({ domain: text(p.domain), isVerified: p.isVerified === true });

// org.member.*

export const newOrgMemberAddedEvent = (orgId: string, userId: string, roles: readonly string[]) => orgEvent(orgId, OrgEvents.memberAdded, memberPayload(userId, roles));
export const newOrgMemberChangedEvent = (orgId: string, userId: string, roles: readonly string[]) => orgEvent(orgId, OrgEvents.memberChanged, memberPayload(userId, roles));
export const newOrgMemberRemovedEvent = (orgId: string, userId: string) => orgEvent(orgId, OrgEvents.memberRemoved, { userId });
/** The member's user was removed. */
export const newOrgMemberCascadeRemovedEvent = (orgId: string, userId: string) => orgEvent(orgId, OrgEvents.memberCascadeRemoved, { userId });

// org.policy.credential.set (Portcullis: the longest lifetime of new credentials; 0 = no limit)

export interface CredentialPolicyPayload {
  /** Seconds; 0 = no limit. */
  maxSecretLifetime: number;
  maxKeyLifetime: number;
  maxPatLifetime: number;
}

export const newCredentialPolicySetEvent = (orgId: string, p: CredentialPolicyPayload) =>
  orgEvent(orgId, OrgEvents.credentialPolicySet, { maxSecretLifetime: p.maxSecretLifetime, maxKeyLifetime: p.maxKeyLifetime, maxPatLifetime: p.maxPatLifetime });

const readCredentialPolicy = (p: Record<string, unknown>): CredentialPolicyPayload => ({
  maxSecretLifetime: int(p.maxSecretLifetime, 0),
  maxKeyLifetime: int(p.maxKeyLifetime, 0),
  maxPatLifetime: int(p.maxPatLifetime, 0),
});

// instance.*

export interface InstanceAddedPayload {
  name: string;
}

export interface DefaultOrgSetPayload {
  orgId: string;
}

export interface IAMProjectSetPayload {
  iamProjectId: string;
}

export const newInstanceAddedEvent = (instanceId: string, name: string) => instanceEvent(instanceId, InstanceEvents.added, { name });
export const newDefaultOrgSetEvent = (instanceId: string, orgId: string) => instanceEvent(instanceId, InstanceEvents.defaultOrgSet, { orgId });
export const newIAMProjectSetEvent = (instanceId: string, iamProjectId: string) => instanceEvent(instanceId, InstanceEvents.projectSet, { iamProjectId });
export const newInstanceMemberAddedEvent = (instanceId: string, userId: string, roles: readonly string[]) =>
  instanceEvent(instanceId, InstanceEvents.memberAdded, memberPayload(userId, roles));
export const newInstanceMemberChangedEvent = (instanceId: string, userId: string, roles: readonly string[]) =>
  instanceEvent(instanceId, InstanceEvents.memberChanged, memberPayload(userId, roles));
export const newInstanceMemberRemovedEvent = (instanceId: string, userId: string) => instanceEvent(instanceId, InstanceEvents.memberRemoved, { userId });
/** The member's user was removed. */
export const newInstanceMemberCascadeRemovedEvent = (instanceId: string, userId: string) => instanceEvent(instanceId, InstanceEvents.memberCascadeRemoved, { userId });

const readInstanceAdded = (p: Record<string, unknown>): InstanceAddedPayload => ({ name: text(p.name) });
const readDefaultOrgSet = (p: Record<string, unknown>): DefaultOrgSetPayload => ({ orgId: text(p.orgId) });
const readIAMProjectSet = (p: Record<string, unknown>): IAMProjectSetPayload => ({ iamProjectId: text(p.iamProjectId) });

/** Every org event type with its mapper. */
export const orgEventMappers = {
  [OrgEvents.added]: readOrgName,
  [OrgEvents.changed]: readOrgChanged,
  [OrgEvents.deactivated]: noPayload,
  [OrgEvents.reactivated]: noPayload,
  [OrgEvents.removed]: readOrgName,
  [OrgEvents.domainAdded]: readDomain,
  [OrgEvents.domainVerified]: readDomain,
  [OrgEvents.domainPrimarySet]: readDomain,
  [OrgEvents.domainRemoved]: readDomainRemoved,
  [OrgEvents.memberAdded]: readMember,
  [OrgEvents.memberChanged]: readMember,
  [OrgEvents.memberRemoved]: readMemberRemoved,
  [OrgEvents.memberCascadeRemoved]: readMemberRemoved,
  [OrgEvents.credentialPolicySet]: readCredentialPolicy,
} satisfies PayloadMappers & Record<OrgEventType, unknown>;

/** Every instance event type with its mapper. */
export const instanceEventMappers = {
  [InstanceEvents.added]: readInstanceAdded,
  [InstanceEvents.defaultOrgSet]: readDefaultOrgSet,
  [InstanceEvents.projectSet]: readIAMProjectSet,
  [InstanceEvents.memberAdded]: readMember,
  [InstanceEvents.memberChanged]: readMember,
  [InstanceEvents.memberRemoved]: readMemberRemoved,
  [InstanceEvents.memberCascadeRemoved]: readMemberRemoved,
} satisfies PayloadMappers & Record<InstanceEventType, unknown>;

export type OrgEvent = EventsOf<typeof orgEventMappers>;
export type InstanceEvent = EventsOf<typeof instanceEventMappers>;

/** The stored event as a typed org event; undefined for a type that is not an org event. */
export const readOrgEvent = (e: StoredEvent): OrgEvent | undefined => readEvent(orgEventMappers, e);
/** The stored event as a typed instance event; undefined for a type that is not an instance event. */
export const readInstanceEvent = (e: StoredEvent): InstanceEvent | undefined => readEvent(instanceEventMappers, e);
