import type { StoredEvent } from "../events.js";
import { InstanceEvents, OrgEvents, readInstanceEvent, readOrgEvent, type CredentialPolicyPayload, type MemberPayload, type MemberRemovedPayload } from "./events.js";

/** Also here, beside the aggregates their events build. */
export { InstanceEvents, OrgEvents } from "./events.js";

/** zitadel.org.v1.OrgState numbers. */
export const OrgStateNum = { unspecified: 0, active: 1, inactive: 2, removed: 3 } as const;

export interface MemberState {
  userId: string;
  roles: string[];
  sequence: number;
  createdAt: Date;
  changedAt: Date;
}

export interface MemberScope {
  members: Map<string, MemberState>;
  /** Last member event per user, also after removal (RemoveOrgMember of a non-member reports it). */
  lastMemberEvent: Map<string, { sequence: number; at: Date }>;
}

export const NO_POLICY: CredentialPolicyPayload = Object.freeze({ maxSecretLifetime: 0, maxKeyLifetime: 0, maxPatLifetime: 0 });

export interface OrgState extends MemberScope {
  id: string;
  exists: boolean;
  state: number;
  name: string;
  primaryDomain: string;
  /** The org's credential policy (seconds, 0 = no limit); all zero until one is set. */
  credentialPolicy: CredentialPolicyPayload;
  /** Sequence and time of the last policy change (for its details). */
  credentialPolicyChange?: { sequence: number; at: Date };
  sequence: number;
  createdAt?: Date;
  changedAt?: Date;
}

export interface InstanceState extends MemberScope {
  id: string;
  exists: boolean;
  name: string;
  defaultOrgId: string;
  projectId: string;
  sequence: number;
  createdAt?: Date;
}

export const emptyScope = (): MemberScope => ({ members: new Map(), lastMemberEvent: new Map() });

/** A member added or changed (the roles are replaced), in an org, the instance or a project. */
export function setMember(s: MemberScope, p: MemberPayload, e: StoredEvent, added: boolean) {
  const m = s.members.get(p.userId);
  if (added) s.members.set(p.userId, { userId: p.userId, roles: p.roles, sequence: e.sequence, createdAt: e.createdAt, changedAt: e.createdAt });
  else if (m) s.members.set(p.userId, { ...m, roles: p.roles, sequence: e.sequence, changedAt: e.createdAt });
  s.lastMemberEvent.set(p.userId, { sequence: e.sequence, at: e.createdAt });
}

export function removeMember(s: MemberScope, p: MemberRemovedPayload, e: StoredEvent) {
  s.members.delete(p.userId);
  s.lastMemberEvent.set(p.userId, { sequence: e.sequence, at: e.createdAt });
}

export function evolveOrg(o: OrgState, stored: StoredEvent): OrgState {
  o.sequence = stored.sequence;
  o.changedAt = stored.createdAt;
  const e = readOrgEvent(stored);
  switch (e?.type) {
    case OrgEvents.added:
      o.exists = true;
      o.state = OrgStateNum.active;
      o.name = e.payload.name;
      o.createdAt = e.createdAt;
      break;
    case OrgEvents.changed:
      o.name = e.payload.name ?? o.name;
      break;
    case OrgEvents.deactivated:
      o.state = OrgStateNum.inactive;
      break;
    case OrgEvents.reactivated:
      o.state = OrgStateNum.active;
      break;
    case OrgEvents.removed:
      o.state = OrgStateNum.removed;
      o.exists = false;
      break;
    case OrgEvents.domainPrimarySet:
      o.primaryDomain = e.payload.domain;
      break;
    case OrgEvents.memberAdded:
    case OrgEvents.memberChanged:
      setMember(o, e.payload, stored, e.type === OrgEvents.memberAdded);
      break;
    case OrgEvents.memberRemoved:
    case OrgEvents.memberCascadeRemoved:
      removeMember(o, e.payload, stored);
      break;
    case OrgEvents.credentialPolicySet:
      o.credentialPolicy = e.payload;
      o.credentialPolicyChange = { sequence: e.sequence, at: e.createdAt };
      break;
  }
  return o;
}

export const reduceOrg = (id: string, events: StoredEvent[]) =>
  events.reduce(evolveOrg, { id, exists: false, state: OrgStateNum.unspecified, name: "", primaryDomain: "", credentialPolicy: NO_POLICY, sequence: 0, ...emptyScope() } as OrgState);

export function evolveInstance(i: InstanceState, stored: StoredEvent): InstanceState {
  i.sequence = stored.sequence;
  const e = readInstanceEvent(stored);
  switch (e?.type) {
    case InstanceEvents.added:
      i.exists = true;
      i.name = e.payload.name;
      i.createdAt = e.createdAt;
      break;
    case InstanceEvents.defaultOrgSet:
      i.defaultOrgId = e.payload.orgId;
      break;
    case InstanceEvents.projectSet:
      i.projectId = e.payload.iamProjectId;
      break;
    case InstanceEvents.memberAdded:
    case InstanceEvents.memberChanged:
      setMember(i, e.payload, stored, e.type === InstanceEvents.memberAdded);
      break;
    case InstanceEvents.memberRemoved:
    case InstanceEvents.memberCascadeRemoved:
      removeMember(i, e.payload, stored);
      break;
  }
  return i;
}

export const reduceInstance = (id: string, events: StoredEvent[]) =>
  events.reduce(evolveInstance, { id, exists: false, name: "", defaultOrgId: "", projectId: "", sequence: 0, ...emptyScope() } as InstanceState);

/** ZITADEL's org domain from a name: spaces → "-", only letters, digits and "-", ≤ 63 chars, lowercased. */
export function orgDomainFromName(name: string, instanceDomain: string): string {
  const label = name
    .trim()
    .replace(/\s+/g, "-")
    .replace(/[^\p{L}\p{N}-]/gu, "")
    .slice(0, 63)
    .toLowerCase();
  return `${label}.${instanceDomain}`;
}
