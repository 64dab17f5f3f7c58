import type { StoredEvent } from "../events.js";

/** ZITADEL's user event types (internal/repository/user). */
export const UserEvents = {
  machineAdded: "user.machine.added",
  machineChanged: "user.machine.changed",
  humanAdded: "user.human.added",
  usernameChanged: "user.username.changed",
  secretSet: "user.machine.secret.set",
  secretRemoved: "user.machine.secret.removed",
  keyAdded: "user.machine.key.added",
  keyRemoved: "user.machine.key.removed",
  patAdded: "user.pat.added",
  patRemoved: "user.pat.removed",
  metadataSet: "user.metadata.set",
  metadataRemoved: "user.metadata.removed",
  locked: "user.locked",
  unlocked: "user.unlocked",
  deactivated: "user.deactivated",
  reactivated: "user.reactivated",
  removed: "user.removed",
  tokenRemoved: "user.token.removed",
} as const;

/** zitadel.user.v1.UserState numbers. */
export const UserStateNum = { unspecified: 0, active: 1, inactive: 2, deleted: 3, locked: 4, initial: 6 } as const;
export type UserStateNum = (typeof UserStateNum)[keyof typeof UserStateNum];
/** zitadel.user.v1.Type numbers. */
export const UserType = { human: 1, machine: 2 } as const;

export interface MachineKeyState {
  id: string;
  type: number;
  expiration: Date;
  publicKey: string;
  sequence: number;
  createdAt: Date;
}

export interface PatState {
  id: string;
  expiration: Date;
  scopes: string[];
  tokenHash: string;
  sequence: number;
  createdAt: Date;
}

export interface MetadataState {
  key: string;
  value: string; // base64
  sequence: number;
  createdAt: Date;
  changedAt: Date;
}

export interface UserState {
  id: string;
  orgId: string;
  type: number; // 0 = never added
  state: UserStateNum;
  userName: string;
  name: string;
  description: string;
  accessTokenType: number;
  secret?: { hash: string; sequence: number };
  keys: Map<string, MachineKeyState>;
  pats: Map<string, PatState>;
  metadata: Map<string, MetadataState>;
  /** Revoked access token ids with their expiry (RFC 7009 revocation). */
  revokedTokens: Map<string, number>;
  sequence: number;
  createdAt?: Date;
  changedAt?: Date;
  /** Latest metadata event, for no-op bulk answers. */
  lastMetadataEvent?: { sequence: number; at: Date };
}

export const emptyUser = (id: string): UserState => ({
  id,
  orgId: "",
  type: 0,
  state: UserStateNum.unspecified,
  userName: "",
  name: "",
  description: "",
  accessTokenType: 0,
  keys: new Map(),
  pats: new Map(),
  metadata: new Map(),
  revokedTokens: new Map(),
  sequence: 0,
});

/** Exists = added and not removed (ZITADEL's write models treat unspecified and deleted alike). */
export const userExists = (u: UserState) => u.type !== 0 && u.state !== UserStateNum.deleted;
export const isActiveMachine = (u: UserState) => u.type === UserType.machine && u.state === UserStateNum.active;

export function evolveUser(u: UserState, e: StoredEvent): UserState {
  u.sequence = e.sequence;
  u.changedAt = e.createdAt;
  const p = e.payload;
  switch (e.type) {
    case UserEvents.machineAdded:
      u.type = UserType.machine;
      u.orgId = e.resourceOwner;
      u.state = UserStateNum.active;
      u.userName = String(p.userName ?? "");
      u.name = String(p.name ?? "");
      u.description = String(p.description ?? "");
      u.accessTokenType = Number(p.accessTokenType ?? 0);
      u.createdAt = e.createdAt;
      break;
    case UserEvents.humanAdded:
      u.type = UserType.human;
      u.orgId = e.resourceOwner;
      u.state = UserStateNum.active;
      u.userName = String(p.userName ?? "");
      u.name = String(p.displayName ?? "");
      u.createdAt = e.createdAt;
      break;
    case UserEvents.machineChanged:
      if ("name" in p) u.name = String(p.name ?? "");
      if ("description" in p) u.description = String(p.description ?? "");
      if ("accessTokenType" in p) u.accessTokenType = Number(p.accessTokenType ?? 0);
      break;
    case UserEvents.usernameChanged:
      u.userName = String(p.userName ?? "");
      break;
    case UserEvents.secretSet:
      u.secret = { hash: String(p.hashedSecret ?? ""), sequence: e.sequence };
      break;
    case UserEvents.secretRemoved:
      u.secret = undefined;
      break;
    case UserEvents.keyAdded:
      u.keys.set(String(p.keyId), {
        id: String(p.keyId),
        type: Number(p.type ?? 1),
        expiration: new Date(String(p.expirationDate)),
        publicKey: Buffer.from(String(p.publicKey ?? ""), "base64").toString("utf8"),
        sequence: e.sequence,
        createdAt: e.createdAt,
      });
      break;
    case UserEvents.keyRemoved:
      u.keys.delete(String(p.keyId));
      break;
    case UserEvents.patAdded:
      u.pats.set(String(p.tokenId), {
        id: String(p.tokenId),
        expiration: new Date(String(p.expiration)),
        scopes: (p.scopes as string[] | undefined) ?? [],
        tokenHash: String(p.tokenHash ?? ""),
        sequence: e.sequence,
        createdAt: e.createdAt,
      });
      break;
    case UserEvents.patRemoved:
      u.pats.delete(String(p.tokenId));
      break;
    case UserEvents.metadataSet: {
      const key = String(p.key);
      const prev = u.metadata.get(key);
      u.metadata.set(key, { key, value: String(p.value ?? ""), sequence: e.sequence, createdAt: prev?.createdAt ?? e.createdAt, changedAt: e.createdAt });
      u.lastMetadataEvent = { sequence: e.sequence, at: e.createdAt };
      break;
    }
    case UserEvents.metadataRemoved:
      u.metadata.delete(String(p.key));
      u.lastMetadataEvent = { sequence: e.sequence, at: e.createdAt };
      break;
    case UserEvents.locked:
      u.state = UserStateNum.locked;
      break;
    case UserEvents.unlocked:
      u.state = UserStateNum.active;
      break;
    case UserEvents.deactivated:
      u.state = UserStateNum.inactive;
      break;
    case UserEvents.reactivated:
      u.state = UserStateNum.active;
      break;
    case UserEvents.removed:
      u.state = UserStateNum.deleted;
      u.secret = undefined;
      u.keys.clear();
      u.pats.clear();
      u.metadata.clear();
      break;
    case UserEvents.tokenRemoved:
      u.revokedTokens.set(String(p.tokenId), Number(p.expiration ?? 0));
      break;
  }
  return u;
}

export const reduceUser = (id: string, events: StoredEvent[]) => events.reduce(evolveUser, emptyUser(id));
