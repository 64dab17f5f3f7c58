import { readEvent, text, texts, type EventsOf, type PayloadMappers, type StoredEvent, type TypedNewEvent } from "../events.js";

/**
 * User-grant events (ZITADEL's internal/repository/usergrant/user_grant.go): the "usergrant"
 * aggregate, its id the grant's id, its resource owner the org that granted (the project's org, or
 * the org the project was granted to). Type names and payload fields are ZITADEL's.
 */
export const UserGrantEvents = {
  added: "user.grant.added",
  changed: "user.grant.changed",
  cascadeChanged: "user.grant.cascade.changed",
  removed: "user.grant.removed",
  cascadeRemoved: "user.grant.cascade.removed",
  deactivated: "user.grant.deactivated",
  reactivated: "user.grant.reactivated",
} as const;
export type UserGrantEventType = (typeof UserGrantEvents)[keyof typeof UserGrantEvents];

function userGrantEvent<T extends UserGrantEventType>(grantId: string, orgId: string, type: T, payload?: Record<string, unknown>): TypedNewEvent<T> {
  return { aggregateType: "usergrant", aggregateId: grantId, resourceOwner: orgId, type, payload };
}

type NoPayload = Record<string, never>;
const noPayload = (): NoPayload => ({});

/** user.grant.added: `grantId` is the project grant's id (ZITADEL's json tag), every field omitempty. */
export interface UserGrantAddedPayload {
  userId: string;
  projectId: string;
  projectGrantId: string;
  roleKeys: string[];
}

/** user.grant.changed / cascade.changed: the whole new set of role keys. */
export interface UserGrantChangedPayload {
  roleKeys: string[];
}

export const newUserGrantAddedEvent = (grantId: string, orgId: string, g: UserGrantAddedPayload) =>
  userGrantEvent(grantId, orgId, UserGrantEvents.added, {
    ...(g.userId ? { userId: g.userId } : {}),
    ...(g.projectId ? { projectId: g.projectId } : {}),
    ...(g.projectGrantId ? { grantId: g.projectGrantId } : {}),
    ...(g.roleKeys.length > 0 ? { roleKeys: [...g.roleKeys] } : {}),
  });
/** ZITADEL's UserGrantChangedEvent writes roleKeys without omitempty (an empty list stays). */
export const newUserGrantChangedEvent = (grantId: string, orgId: string, roleKeys: readonly string[]) =>
  userGrantEvent(grantId, orgId, UserGrantEvents.changed, { roleKeys: [...roleKeys] });
/** A role (or a project grant's role) went away; roleKeys omitempty. */
export const newUserGrantCascadeChangedEvent = (grantId: string, orgId: string, roleKeys: readonly string[]) =>
  userGrantEvent(grantId, orgId, UserGrantEvents.cascadeChanged, roleKeys.length > 0 ? { roleKeys: [...roleKeys] } : {});
export const newUserGrantDeactivatedEvent = (grantId: string, orgId: string) => userGrantEvent(grantId, orgId, UserGrantEvents.deactivated);
export const newUserGrantReactivatedEvent = (grantId: string, orgId: string) => userGrantEvent(grantId, orgId, UserGrantEvents.reactivated);
/** No payload (ZITADEL's Payload() is nil); the unique claim is released by the command. */
export const newUserGrantRemovedEvent = (grantId: string, orgId: string) => userGrantEvent(grantId, orgId, UserGrantEvents.removed);
/** Removed because its user, project or project grant went away. */
export const newUserGrantCascadeRemovedEvent = (grantId: string, orgId: string) => userGrantEvent(grantId, orgId, UserGrantEvents.cascadeRemoved);

const readAdded = (p: Record<string, unknown>): UserGrantAddedPayload => ({
  userId: text(p.userId),
  projectId: text(p.projectId),
  projectGrantId: text(p.grantId),
  roleKeys: texts(p.roleKeys),
});
const readChanged = (p: Record<string, unknown>): UserGrantChangedPayload => ({ roleKeys: texts(p.roleKeys) });

export const userGrantEventMappers = {
  [UserGrantEvents.added]: readAdded,
  [UserGrantEvents.changed]: readChanged,
  [UserGrantEvents.cascadeChanged]: readChanged,
  [UserGrantEvents.removed]: noPayload,
  [UserGrantEvents.cascadeRemoved]: noPayload,
  [UserGrantEvents.deactivated]: noPayload,
  [UserGrantEvents.reactivated]: noPayload,
} satisfies PayloadMappers & Record<UserGrantEventType, unknown>;

export type UserGrantEvent = EventsOf<typeof userGrantEventMappers>;

export const readUserGrantEvent = (e: StoredEvent): UserGrantEvent | undefined => readEvent(userGrantEventMappers, e);
