import type { StoredEvent } from "../events.js";

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
} as const;

export const InstanceEvents = {
  added: "instance.added",
  defaultOrgSet: "instance.default.org.set",
  projectSet: "instance.iam.project.set",
  memberAdded: "instance.member.added",
  memberChanged: "instance.member.changed",
  memberRemoved: "instance.member.removed",
  memberCascadeRemoved: "instance.member.cascade.removed",
} as const;

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

export interface OrgState extends MemberScope {
  id: string;
  exists: boolean;
  state: number;
  name: string;
  primaryDomain: string;
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

const emptyScope = (): MemberScope => ({ members: new Map(), lastMemberEvent: new Map() });

function evolveMembers(s: MemberScope, e: StoredEvent, added: string, changed: string, removed: string[]): boolean {
  const userId = String(e.payload.userId ?? "");
  if (e.type === added) {
    s.members.set(userId, { userId, roles: (e.payload.roles as string[]) ?? [], sequence: e.sequence, createdAt: e.createdAt, changedAt: e.createdAt });
  } else if (e.type === changed) {
    const m = s.members.get(userId);
    if (m) s.members.set(userId, { ...m, roles: (e.payload.roles as string[]) ?? [], sequence: e.sequence, changedAt: e.createdAt });
  } else if (removed.includes(e.type)) {
    s.members.delete(userId);
  } else return false;
  s.lastMemberEvent.set(userId, { sequence: e.sequence, at: e.createdAt });
  return true;
}

export function evolveOrg(o: OrgState, e: StoredEvent): OrgState {
  o.sequence = e.sequence;
  o.changedAt = e.createdAt;
  if (evolveMembers(o, e, OrgEvents.memberAdded, OrgEvents.memberChanged, [OrgEvents.memberRemoved, OrgEvents.memberCascadeRemoved])) return o;
  switch (e.type) {
    case OrgEvents.added:
      o.exists = true;
      o.state = OrgStateNum.active;
      o.name = String(e.payload.name ?? "");
      o.createdAt = e.createdAt;
      break;
    case OrgEvents.changed:
      o.name = String(e.payload.name ?? o.name);
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
      o.primaryDomain = String(e.payload.domain ?? "");
      break;
  }
  return o;
}

export const reduceOrg = (id: string, events: StoredEvent[]) =>
  events.reduce(evolveOrg, { id, exists: false, state: OrgStateNum.unspecified, name: "", primaryDomain: "", sequence: 0, ...emptyScope() } as OrgState);

export function evolveInstance(i: InstanceState, e: StoredEvent): InstanceState {
  i.sequence = e.sequence;
  if (evolveMembers(i, e, InstanceEvents.memberAdded, InstanceEvents.memberChanged, [InstanceEvents.memberRemoved, InstanceEvents.memberCascadeRemoved])) return i;
  switch (e.type) {
    case InstanceEvents.added:
      i.exists = true;
      i.name = String(e.payload.name ?? "");
      i.createdAt = e.createdAt;
      break;
    case InstanceEvents.defaultOrgSet:
      i.defaultOrgId = String(e.payload.orgId ?? "");
      break;
    case InstanceEvents.projectSet:
      i.projectId = String(e.payload.iamProjectId ?? "");
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
