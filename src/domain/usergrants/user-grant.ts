import type { StoredEvent } from "../events.js";
import { UserGrantEvents, readUserGrantEvent } from "./events.js";

export { UserGrantEvents } from "./events.js";

/** zitadel.user.v1.UserGrantState numbers; REMOVED is internal (ZITADEL's domain.UserGrantStateRemoved), never on the wire. */
export const UserGrantStateNum = { unspecified: 0, active: 1, inactive: 2, removed: 3 } as const;

/** A user grant as its events build it (ZITADEL's UserGrantWriteModel). */
export interface UserGrantState {
  id: string;
  /** Added and not removed. */
  exists: boolean;
  state: number;
  /** The granting org (the events' resource owner). */
  orgId: string;
  userId: string;
  projectId: string;
  projectGrantId: string;
  roleKeys: string[];
  sequence: number;
  createdAt?: Date;
  changedAt?: Date;
}

export function evolveUserGrant(g: UserGrantState, stored: StoredEvent): UserGrantState {
  g.sequence = stored.sequence;
  g.changedAt = stored.createdAt;
  const e = readUserGrantEvent(stored);
  switch (e?.type) {
    case UserGrantEvents.added:
      Object.assign(g, e.payload);
      g.exists = true;
      g.state = UserGrantStateNum.active;
      g.orgId = e.resourceOwner;
      g.createdAt = e.createdAt;
      break;
    case UserGrantEvents.changed:
    case UserGrantEvents.cascadeChanged:
      g.roleKeys = e.payload.roleKeys;
      break;
    // As ZITADEL's write model: a removed grant stays removed.
    case UserGrantEvents.deactivated:
      if (g.exists) g.state = UserGrantStateNum.inactive;
      break;
    case UserGrantEvents.reactivated:
      if (g.exists) g.state = UserGrantStateNum.active;
      break;
    case UserGrantEvents.removed:
    case UserGrantEvents.cascadeRemoved:
      g.exists = false;
      g.state = UserGrantStateNum.removed;
      break;
  }
  return g;
}

export const reduceUserGrant = (id: string, events: StoredEvent[]) =>
  events.reduce(evolveUserGrant, {
    id,
    exists: false,
    state: UserGrantStateNum.unspecified,
    orgId: "",
    userId: "",
    projectId: "",
    projectGrantId: "",
    roleKeys: [],
    sequence: 0,
  } as UserGrantState);
