import { readEvent, text, texts, type EventsOf, type PayloadMappers, type StoredEvent, type TypedNewEvent } from "../events.js";

/**
 * Project events (ZITADEL's internal/repository/project: project.go, role.go, member.go): per event
 * type its type name, payload type, constructor and mapper. Type names and payload fields are
 * ZITADEL's; they are stored, so they never change. The aggregate is "project", its resource owner
 * the org that owns the project.
 *
 * Project grants (`project.grant.*`) are here too. Extension point: applications (`project.application.*`,
 * `project.api.config.*`, `project.client.secret.*`, `project.application.key.*`) live on this same
 * aggregate in ZITADEL; add their types here, their mappers to projectEventMappers and their cases
 * to evolveProject (project.ts).
 */
export const ProjectEvents = {
  added: "project.added",
  changed: "project.changed",
  deactivated: "project.deactivated",
  reactivated: "project.reactivated",
  removed: "project.removed",
  roleAdded: "project.role.added",
  roleChanged: "project.role.changed",
  roleRemoved: "project.role.removed",
  memberAdded: "project.member.added",
  memberChanged: "project.member.changed",
  memberRemoved: "project.member.removed",
  memberCascadeRemoved: "project.member.cascade.removed",
  // project grants (PGRANT)
  grantAdded: "project.grant.added",
  grantChanged: "project.grant.changed",
  grantCascadeChanged: "project.grant.cascade.changed",
  grantDeactivated: "project.grant.deactivated",
  grantReactivated: "project.grant.reactivated",
  grantRemoved: "project.grant.removed",
  // end project grants
} as const;
export type ProjectEventType = (typeof ProjectEvents)[keyof typeof ProjectEvents];

function projectEvent<T extends ProjectEventType>(projectId: string, orgId: string, type: T, payload?: Record<string, unknown>): TypedNewEvent<T> {
  return { aggregateType: "project", aggregateId: projectId, resourceOwner: orgId, type, payload };
}

type NoPayload = Record<string, never>;
const noPayload = (): NoPayload => ({});
const bool = (v: unknown) => v === true;
const int = (v: unknown) => (typeof v === "number" ? v : 0);

/** The project's settings, as project.added writes them (zitadel.project.v1.PrivateLabelingSetting as its number). */
export interface ProjectSettings {
  name: string;
  projectRoleAssertion: boolean;
  projectRoleCheck: boolean;
  hasProjectCheck: boolean;
  privateLabelingSetting: number;
}

/** project.changed carries only what changed (ZITADEL's pointer fields with omitempty). */
export type ProjectChangedPayload = Partial<ProjectSettings>;

/** ZITADEL writes `omitempty` fields: false and 0 are left out, and read back as false and 0. */
const omitEmpty = (p: Record<string, unknown>) => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== false && v !== 0 && v !== "" && v !== undefined));

export const newProjectAddedEvent = (projectId: string, orgId: string, s: ProjectSettings) => projectEvent(projectId, orgId, ProjectEvents.added, omitEmpty({ ...s }));
/** Only the fields that differ; a pointer field in ZITADEL, so false is written when it changes to false. */
export const newProjectChangedEvent = (projectId: string, orgId: string, changes: ProjectChangedPayload) => projectEvent(projectId, orgId, ProjectEvents.changed, { ...changes });
export const newProjectDeactivatedEvent = (projectId: string, orgId: string) => projectEvent(projectId, orgId, ProjectEvents.deactivated);
export const newProjectReactivatedEvent = (projectId: string, orgId: string) => projectEvent(projectId, orgId, ProjectEvents.reactivated);
/** ZITADEL's ProjectRemovedEvent has no payload; the name's claim is released from the state. */
export const newProjectRemovedEvent = (projectId: string, orgId: string) => projectEvent(projectId, orgId, ProjectEvents.removed);

const readProjectAdded = (p: Record<string, unknown>): ProjectSettings => ({
  name: text(p.name),
  projectRoleAssertion: bool(p.projectRoleAssertion),
  projectRoleCheck: bool(p.projectRoleCheck),
  hasProjectCheck: bool(p.hasProjectCheck),
  privateLabelingSetting: int(p.privateLabelingSetting),
});

const readProjectChanged = (p: Record<string, unknown>): ProjectChangedPayload => {
  const c: ProjectChangedPayload = {};
  if (p.name !== undefined && p.name !== null) c.name = text(p.name);
  if (typeof p.projectRoleAssertion === "boolean") c.projectRoleAssertion = p.projectRoleAssertion;
  if (typeof p.projectRoleCheck === "boolean") c.projectRoleCheck = p.projectRoleCheck;
  if (typeof p.hasProjectCheck === "boolean") c.hasProjectCheck = p.hasProjectCheck;
  if (typeof p.privateLabelingSetting === "number") c.privateLabelingSetting = p.privateLabelingSetting;
  return c;
};

// project.role.*

export interface RolePayload {
  key: string;
  displayName: string;
  group: string;
}

export interface RoleChangedPayload {
  key: string;
  displayName?: string;
  group?: string;
}

export interface RoleRemovedPayload {
  key: string;
}

export const newRoleAddedEvent = (projectId: string, orgId: string, r: RolePayload) =>
  projectEvent(projectId, orgId, ProjectEvents.roleAdded, omitEmpty({ key: r.key, displayName: r.displayName, group: r.group }));
export const newRoleChangedEvent = (projectId: string, orgId: string, r: RoleChangedPayload) => projectEvent(projectId, orgId, ProjectEvents.roleChanged, { ...r });
export const newRoleRemovedEvent = (projectId: string, orgId: string, key: string) => projectEvent(projectId, orgId, ProjectEvents.roleRemoved, { key });

const readRole = (p: Record<string, unknown>): RolePayload => ({ key: text(p.key), displayName: text(p.displayName), group: text(p.group) });
const readRoleChanged = (p: Record<string, unknown>): RoleChangedPayload => ({
  key: text(p.key),
  ...(p.displayName === undefined || p.displayName === null ? {} : { displayName: text(p.displayName) }),
  ...(p.group === undefined || p.group === null ? {} : { group: text(p.group) }),
});
const readRoleRemoved = (p: Record<string, unknown>): RoleRemovedPayload => ({ key: text(p.key) });

// project.member.* (ZITADEL's internal/repository/member payloads, as on orgs)

export interface ProjectMemberPayload {
  userId: string;
  roles: string[];
}

export interface ProjectMemberRemovedPayload {
  userId: string;
}

export const newProjectMemberAddedEvent = (projectId: string, orgId: string, userId: string, roles: readonly string[]) =>
  projectEvent(projectId, orgId, ProjectEvents.memberAdded, { userId, roles: [...roles] });
export const newProjectMemberChangedEvent = (projectId: string, orgId: string, userId: string, roles: readonly string[]) =>
  projectEvent(projectId, orgId, ProjectEvents.memberChanged, { userId, roles: [...roles] });
export const newProjectMemberRemovedEvent = (projectId: string, orgId: string, userId: string) => projectEvent(projectId, orgId, ProjectEvents.memberRemoved, { userId });
/** The member's user was removed. */
export const newProjectMemberCascadeRemovedEvent = (projectId: string, orgId: string, userId: string) =>
  projectEvent(projectId, orgId, ProjectEvents.memberCascadeRemoved, { userId });

const readMember = (p: Record<string, unknown>): ProjectMemberPayload => ({ userId: text(p.userId), roles: texts(p.roles) });
const readMemberRemoved = (p: Record<string, unknown>): ProjectMemberRemovedPayload => ({ userId: text(p.userId) });

// project.grant.* (PGRANT; ZITADEL's internal/repository/project/grant.go). The grant is an entity of
// the project aggregate, named by grantId; every field is `omitempty` in ZITADEL.

export interface ProjectGrantAddedPayload {
  grantId: string;
  grantedOrgId: string;
  roleKeys: string[];
}

/** project.grant.changed and project.grant.cascade.changed: the grant's whole new list of role keys. */
export interface ProjectGrantRolesPayload {
  grantId: string;
  roleKeys: string[];
}

export interface ProjectGrantIdPayload {
  grantId: string;
}

/** An empty list is left out, as Go's omitempty does with a nil or empty slice. */
const withKeys = (p: Record<string, unknown>, roleKeys: readonly string[]) => (roleKeys.length > 0 ? { ...p, roleKeys: [...roleKeys] } : p);

export const newProjectGrantAddedEvent = (projectId: string, orgId: string, grantId: string, grantedOrgId: string, roleKeys: readonly string[]) =>
  projectEvent(projectId, orgId, ProjectEvents.grantAdded, withKeys({ grantId, grantedOrgId }, roleKeys));
export const newProjectGrantChangedEvent = (projectId: string, orgId: string, grantId: string, roleKeys: readonly string[]) =>
  projectEvent(projectId, orgId, ProjectEvents.grantChanged, withKeys({ grantId }, roleKeys));
/** A role of the project was removed: the grant keeps the rest (ZITADEL's removeRoleFromProjectGrant with cascade). */
export const newProjectGrantCascadeChangedEvent = (projectId: string, orgId: string, grantId: string, roleKeys: readonly string[]) =>
  projectEvent(projectId, orgId, ProjectEvents.grantCascadeChanged, withKeys({ grantId }, roleKeys));
export const newProjectGrantDeactivatedEvent = (projectId: string, orgId: string, grantId: string) => projectEvent(projectId, orgId, ProjectEvents.grantDeactivated, { grantId });
export const newProjectGrantReactivatedEvent = (projectId: string, orgId: string, grantId: string) => projectEvent(projectId, orgId, ProjectEvents.grantReactivated, { grantId });
/** ZITADEL keeps the granted org out of the payload (an unexported field used for the unique claim). */
export const newProjectGrantRemovedEvent = (projectId: string, orgId: string, grantId: string) => projectEvent(projectId, orgId, ProjectEvents.grantRemoved, { grantId });

const readGrantAdded = (p: Record<string, unknown>): ProjectGrantAddedPayload => ({ grantId: text(p.grantId), grantedOrgId: text(p.grantedOrgId), roleKeys: texts(p.roleKeys) });
const readGrantRoles = (p: Record<string, unknown>): ProjectGrantRolesPayload => ({ grantId: text(p.grantId), roleKeys: texts(p.roleKeys) });
const readGrantId = (p: Record<string, unknown>): ProjectGrantIdPayload => ({ grantId: text(p.grantId) });

/** Every project event type with its mapper. */
export const projectEventMappers = {
  [ProjectEvents.added]: readProjectAdded,
  [ProjectEvents.changed]: readProjectChanged,
  [ProjectEvents.deactivated]: noPayload,
  [ProjectEvents.reactivated]: noPayload,
  [ProjectEvents.removed]: noPayload,
  [ProjectEvents.roleAdded]: readRole,
  [ProjectEvents.roleChanged]: readRoleChanged,
  [ProjectEvents.roleRemoved]: readRoleRemoved,
  [ProjectEvents.memberAdded]: readMember,
  [ProjectEvents.memberChanged]: readMember,
  [ProjectEvents.memberRemoved]: readMemberRemoved,
  [ProjectEvents.memberCascadeRemoved]: readMemberRemoved,
  [ProjectEvents.grantAdded]: readGrantAdded,
  [ProjectEvents.grantChanged]: readGrantRoles,
  [ProjectEvents.grantCascadeChanged]: readGrantRoles,
  [ProjectEvents.grantDeactivated]: readGrantId,
  [ProjectEvents.grantReactivated]: readGrantId,
  [ProjectEvents.grantRemoved]: readGrantId,
} satisfies PayloadMappers & Record<ProjectEventType, unknown>;

export type ProjectEvent = EventsOf<typeof projectEventMappers>;

/** The stored event as a typed project event; undefined for a type that is not a project event. */
export const readProjectEvent = (e: StoredEvent): ProjectEvent | undefined => readEvent(projectEventMappers, e);
