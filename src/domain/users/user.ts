import type { StoredEvent } from "../events.js";
import { evolveBindings, type BindingState } from "../federation/policy.js";
import { UserEvents, readUserEvent } from "./events.js";

/** Also here, beside the aggregate its events build. */
export { UserEvents } from "./events.js";

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

/** One of a machine's client secrets (up to MAX_SECRETS). */
export interface SecretState {
  id: string;
  /** Keyed hash of the secret (never the secret). */
  hash: string;
  description: string;
  /** When it stops working; undefined = never. */
  expiration: Date | undefined;
  sequence: number;
  createdAt: Date;
  changedAt: Date;
}

/** How many secrets a machine may hold at once. */
export const MAX_SECRETS = 10;

/** A secret that may authenticate at `nowMs`. */
export const secretLive = (s: SecretState, nowMs: number) => s.expiration === undefined || s.expiration.getTime() > nowMs;

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
  /** The machine's client secrets by id, in creation order ("has a secret" = at least one). */
  secrets: Map<string, SecretState>;
  keys: Map<string, MachineKeyState>;
  pats: Map<string, PatState>;
  metadata: Map<string, MetadataState>;
  /** Revoked access token ids with their expiry (RFC 7009 revocation). */
  revokedTokens: Map<string, number>;
  /** Workload-federation bindings by id (domain/federation). */
  bindings: Map<string, BindingState>;
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
  secrets: new Map(),
  keys: new Map(),
  pats: new Map(),
  metadata: new Map(),
  revokedTokens: new Map(),
  bindings: new Map(),
  sequence: 0,
});

/** Exists = added and not removed (ZITADEL's write models treat unspecified and deleted alike). */
export const userExists = (u: UserState) => u.type !== 0 && u.state !== UserStateNum.deleted;
export const isActiveMachine = (u: UserState) => u.type === UserType.machine && u.state === UserStateNum.active;

export function evolveUser(u: UserState, stored: StoredEvent): UserState {
  u.sequence = stored.sequence;
  u.changedAt = stored.createdAt;
  const e = readUserEvent(stored);
  switch (e?.type) {
    case UserEvents.machineAdded: {
      const p = e.payload;
      u.type = UserType.machine;
      u.orgId = e.resourceOwner;
      u.state = UserStateNum.active;
      u.userName = p.userName;
      u.name = p.name;
      u.description = p.description;
      u.accessTokenType = p.accessTokenType;
      u.createdAt = e.createdAt;
      break;
    }
    case UserEvents.humanAdded:
      u.type = UserType.human;
      u.orgId = e.resourceOwner;
      u.state = UserStateNum.active;
      u.userName = e.payload.userName;
      u.name = e.payload.displayName;
      u.createdAt = e.createdAt;
      break;
    case UserEvents.machineChanged: {
      const p = e.payload;
      if (p.name !== undefined) u.name = p.name;
      if (p.description !== undefined) u.description = p.description;
      if (p.accessTokenType !== undefined) u.accessTokenType = p.accessTokenType;
      break;
    }
    case UserEvents.usernameChanged:
      u.userName = e.payload.userName;
      break;
    case UserEvents.secretSet: {
      // ZITADEL's event: this secret replaces every other one. Older payloads have no id: the sequence is it.
      const p = e.payload;
      const id = p.secretId || String(e.sequence);
      u.secrets.clear();
      u.secrets.set(id, { id, hash: p.hashedSecret, description: "", expiration: p.expirationDate, sequence: e.sequence, createdAt: e.createdAt, changedAt: e.createdAt });
      break;
    }
    case UserEvents.secretRemoved:
      u.secrets.clear();
      break;
    case UserEvents.secretAdded: {
      const p = e.payload;
      u.secrets.set(p.secretId, {
        id: p.secretId,
        hash: p.hashedSecret,
        description: p.description,
        expiration: p.expirationDate,
        sequence: e.sequence,
        createdAt: e.createdAt,
        changedAt: e.createdAt,
      });
      break;
    }
    case UserEvents.secretChanged: {
      const p = e.payload;
      const s = u.secrets.get(p.secretId);
      if (!s) break;
      if (p.description !== undefined) s.description = p.description;
      if (p.expirationDate !== undefined) s.expiration = p.expirationDate ?? undefined;
      s.sequence = e.sequence;
      s.changedAt = e.createdAt;
      break;
    }
    case UserEvents.secretDeleted:
      u.secrets.delete(e.payload.secretId);
      break;
    case UserEvents.keyAdded: {
      const p = e.payload;
      u.keys.set(p.keyId, {
        id: p.keyId,
        type: p.type,
        expiration: p.expirationDate,
        publicKey: Buffer.from(p.publicKey, "base64").toString("utf8"),
        sequence: e.sequence,
        createdAt: e.createdAt,
      });
      break;
    }
    case UserEvents.keyRemoved:
      u.keys.delete(e.payload.keyId);
      break;
    case UserEvents.patAdded: {
      const p = e.payload;
      u.pats.set(p.tokenId, { id: p.tokenId, expiration: p.expiration, scopes: p.scopes, tokenHash: p.tokenHash, sequence: e.sequence, createdAt: e.createdAt });
      break;
    }
    case UserEvents.patRemoved:
      u.pats.delete(e.payload.tokenId);
      break;
    case UserEvents.metadataSet: {
      const { key, value } = e.payload;
      const prev = u.metadata.get(key);
      u.metadata.set(key, { key, value, sequence: e.sequence, createdAt: prev?.createdAt ?? e.createdAt, changedAt: e.createdAt });
      u.lastMetadataEvent = { sequence: e.sequence, at: e.createdAt };
      break;
    }
    case UserEvents.metadataRemoved:
      u.metadata.delete(e.payload.key);
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
      u.secrets.clear();
      u.keys.clear();
      u.pats.clear();
      u.metadata.clear();
      u.bindings.clear();
      break;
    case UserEvents.tokenRemoved:
      u.revokedTokens.set(e.payload.tokenId, e.payload.expiration);
      break;
    default:
      if (e === undefined) evolveBindings(u.bindings, stored);
  }
  if (u.revokedTokens.size > 0) dropExpiredRevocations(u.revokedTokens, Math.floor(stored.createdAt.getTime() / 1000));
  return u;
}

/**
 * A revoked token that expired before `nowSec` (an event's time) need not be remembered: every
 * token check refuses an expired token before it looks for a revocation. Without this the map
 * would hold every token ever revoked. It is kept REVOCATION_SKEW_SEC longer: the event's time is
 * the writer's clock and the check runs on the reader's, so a writer whose clock runs ahead (or a
 * clock stepped back) would otherwise forget a revocation while a reader still takes the token
 * for unexpired.
 */
function dropExpiredRevocations(revoked: Map<string, number>, nowSec: number): void {
  for (const [id, exp] of revoked) if (exp + REVOCATION_SKEW_SEC < nowSec) revoked.delete(id);
}

/** How far apart the clocks of the processes sharing a database may be for revocations to hold. */
export const REVOCATION_SKEW_SEC = 3600;

export const reduceUser = (id: string, events: StoredEvent[]) => events.reduce(evolveUser, emptyUser(id));
