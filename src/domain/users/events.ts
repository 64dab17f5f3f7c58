import { int, readEvent, text, texts, timestamp, type EventsOf, type PayloadMappers, type StoredEvent, type TypedNewEvent } from "../events.js";

/**
 * User events (ZITADEL's internal/repository/user): per event type its type name, payload type,
 * constructor and mapper. Type names and payload fields are ZITADEL's; they are stored, so they
 * never change. Byte fields stay base64 as on the wire; timestamps read as Dates.
 */
export const UserEvents = {
  machineAdded: "user.machine.added",
  machineChanged: "user.machine.changed",
  humanAdded: "user.human.added",
  usernameChanged: "user.username.changed",
  secretSet: "user.machine.secret.set",
  secretRemoved: "user.machine.secret.removed",
  secretAdded: "user.machine.secret.added",
  secretChanged: "user.machine.secret.changed",
  secretDeleted: "user.machine.secret.deleted",
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
export type UserEventType = (typeof UserEvents)[keyof typeof UserEvents];

/** The user aggregate an event is appended to: its id and its org (the resource owner). */
export interface UserRef {
  id: string;
  orgId: string;
}

function userEvent<T extends UserEventType>(u: UserRef, type: T, payload?: Record<string, unknown>): TypedNewEvent<T> {
  return { aggregateType: "user", aggregateId: u.id, resourceOwner: u.orgId, type, payload };
}

type NoPayload = Record<string, never>;
const noPayload = (): NoPayload => ({});

// user.machine.added

export interface MachineAddedPayload {
  userName: string;
  name: string;
  description: string;
  /** zitadel.user.v1.AccessTokenType; 0 = BEARER. */
  accessTokenType: number;
}

/** An empty description and BEARER are left out of the payload (ZITADEL's omitempty). */
export function newMachineAddedEvent(u: UserRef, p: Pick<MachineAddedPayload, "userName" | "name"> & Partial<MachineAddedPayload>) {
  const payload: Record<string, unknown> = { userName: p.userName, name: p.name };
  if (p.description) payload.description = p.description;
  if (p.accessTokenType) payload.accessTokenType = p.accessTokenType;
  return userEvent(u, UserEvents.machineAdded, payload);
}

const readMachineAdded = (p: Record<string, unknown>): MachineAddedPayload => ({
  userName: text(p.userName),
  name: text(p.name),
  description: text(p.description),
  accessTokenType: int(p.accessTokenType, 0),
});

// user.machine.changed

/** Only the fields that changed are present (a present empty description clears it). */
export interface MachineChangedPayload {
  name?: string;
  description?: string;
  accessTokenType?: number;
}

export function newMachineChangedEvent(u: UserRef, changes: MachineChangedPayload) {
  const payload: Record<string, unknown> = {};
  if (changes.name !== undefined) payload.name = changes.name;
  if (changes.description !== undefined) payload.description = changes.description;
  if (changes.accessTokenType !== undefined) payload.accessTokenType = changes.accessTokenType;
  return userEvent(u, UserEvents.machineChanged, payload);
}

function readMachineChanged(p: Record<string, unknown>): MachineChangedPayload {
  const changes: MachineChangedPayload = {};
  if ("name" in p) changes.name = text(p.name);
  if ("description" in p) changes.description = text(p.description);
  if ("accessTokenType" in p) changes.accessTokenType = int(p.accessTokenType, 0);
  return changes;
}

// user.human.added (Portcullis adds no humans; their events may exist in a shared store)

export interface HumanAddedPayload {
  userName: string;
  displayName: string;
}

export const newHumanAddedEvent = (u: UserRef, p: HumanAddedPayload) =>
  userEvent(u, UserEvents.humanAdded, { userName: p.userName, displayName: p.displayName });

const readHumanAdded = (p: Record<string, unknown>): HumanAddedPayload => ({ userName: text(p.userName), displayName: text(p.displayName) });

// user.username.changed

export interface UsernameChangedPayload {
  userName: string;
}

export const newUsernameChangedEvent = (u: UserRef, userName: string) => userEvent(u, UserEvents.usernameChanged, { userName });

const readUsernameChanged = (p: Record<string, unknown>): UsernameChangedPayload => ({ userName: text(p.userName) });

// user.machine.secret.set / removed (ZITADEL's: one secret replaces all; removed removes all)

export interface MachineSecretSetPayload {
  /** HMAC-SHA256 of the secret under the server's key (never the secret itself). */
  hashedSecret: string;
  /** Portcullis: the id of the one secret this makes (absent in ZITADEL's and older events: the event's sequence is the id). */
  secretId: string;
  /** Portcullis: when the secret stops working (set by an org's credential policy); absent = never. */
  expirationDate: Date | undefined;
}

export const newMachineSecretSetEvent = (u: UserRef, p: { hashedSecret: string; secretId: string; expirationDate?: Date }) =>
  userEvent(u, UserEvents.secretSet, {
    hashedSecret: p.hashedSecret,
    secretId: p.secretId,
    ...(p.expirationDate ? { expirationDate: p.expirationDate.toISOString() } : {}),
  });

const optionalTimestamp = (v: unknown): Date | undefined => (v === undefined || v === null || v === "" ? undefined : timestamp(v));

const readMachineSecretSet = (p: Record<string, unknown>): MachineSecretSetPayload => ({
  hashedSecret: text(p.hashedSecret),
  secretId: text(p.secretId),
  expirationDate: optionalTimestamp(p.expirationDate),
});

export const newMachineSecretRemovedEvent = (u: UserRef) => userEvent(u, UserEvents.secretRemoved);

// user.machine.secret.added / changed / deleted (Portcullis: one secret of the set, by id)

export interface MachineSecretAddedPayload {
  secretId: string;
  hashedSecret: string;
  description: string;
  expirationDate: Date | undefined;
}

export const newMachineSecretAddedEvent = (u: UserRef, p: { secretId: string; hashedSecret: string; description: string; expirationDate?: Date }) =>
  userEvent(u, UserEvents.secretAdded, {
    secretId: p.secretId,
    hashedSecret: p.hashedSecret,
    ...(p.description ? { description: p.description } : {}),
    ...(p.expirationDate ? { expirationDate: p.expirationDate.toISOString() } : {}),
  });

const readMachineSecretAdded = (p: Record<string, unknown>): MachineSecretAddedPayload => ({
  secretId: text(p.secretId),
  hashedSecret: text(p.hashedSecret),
  description: text(p.description),
  expirationDate: optionalTimestamp(p.expirationDate),
});

/** Only what changed is present; `expirationDate: null` clears the expiration. */
export interface MachineSecretChangedPayload {
  secretId: string;
  description?: string;
  expirationDate?: Date | null;
}

export function newMachineSecretChangedEvent(u: UserRef, p: MachineSecretChangedPayload) {
  const payload: Record<string, unknown> = { secretId: p.secretId };
  if (p.description !== undefined) payload.description = p.description;
  if (p.expirationDate !== undefined) payload.expirationDate = p.expirationDate === null ? null : p.expirationDate.toISOString();
  return userEvent(u, UserEvents.secretChanged, payload);
}

function readMachineSecretChanged(p: Record<string, unknown>): MachineSecretChangedPayload {
  const c: MachineSecretChangedPayload = { secretId: text(p.secretId) };
  if ("description" in p) c.description = text(p.description);
  if ("expirationDate" in p) c.expirationDate = p.expirationDate === null ? null : timestamp(p.expirationDate);
  return c;
}

export interface MachineSecretDeletedPayload {
  secretId: string;
}

export const newMachineSecretDeletedEvent = (u: UserRef, secretId: string) => userEvent(u, UserEvents.secretDeleted, { secretId });

const readMachineSecretDeleted = (p: Record<string, unknown>): MachineSecretDeletedPayload => ({ secretId: text(p.secretId) });

// user.machine.key.added / removed

export interface MachineKeyAddedPayload {
  keyId: string;
  /** zitadel.authn.v1.KeyType; 1 = JSON. */
  type: number;
  expirationDate: Date;
  /** The PEM public key, base64 (ZITADEL's []byte field). */
  publicKey: string;
}

export const newMachineKeyAddedEvent = (u: UserRef, p: { keyId: string; type: number; expirationDate: Date; publicKeyPem: string }) =>
  userEvent(u, UserEvents.keyAdded, {
    keyId: p.keyId,
    type: p.type,
    expirationDate: p.expirationDate.toISOString(),
    publicKey: Buffer.from(p.publicKeyPem).toString("base64"),
  });

const readMachineKeyAdded = (p: Record<string, unknown>): MachineKeyAddedPayload => ({
  keyId: text(p.keyId),
  type: int(p.type, 1),
  expirationDate: timestamp(p.expirationDate),
  publicKey: text(p.publicKey),
});

export interface MachineKeyRemovedPayload {
  keyId: string;
}

export const newMachineKeyRemovedEvent = (u: UserRef, keyId: string) => userEvent(u, UserEvents.keyRemoved, { keyId });

const readMachineKeyRemoved = (p: Record<string, unknown>): MachineKeyRemovedPayload => ({ keyId: text(p.keyId) });

// user.pat.added / removed

export interface PersonalAccessTokenAddedPayload {
  tokenId: string;
  expiration: Date;
  scopes: string[];
  /** HMAC-SHA256 of the token under the server's key. */
  tokenHash: string;
}

export const newPersonalAccessTokenAddedEvent = (u: UserRef, p: { tokenId: string; expiration: Date; scopes: readonly string[]; tokenHash: string }) =>
  userEvent(u, UserEvents.patAdded, { tokenId: p.tokenId, expiration: p.expiration.toISOString(), scopes: [...p.scopes], tokenHash: p.tokenHash });

const readPersonalAccessTokenAdded = (p: Record<string, unknown>): PersonalAccessTokenAddedPayload => ({
  tokenId: text(p.tokenId),
  expiration: timestamp(p.expiration),
  scopes: texts(p.scopes),
  tokenHash: text(p.tokenHash),
});

export interface PersonalAccessTokenRemovedPayload {
  tokenId: string;
}

export const newPersonalAccessTokenRemovedEvent = (u: UserRef, tokenId: string) => userEvent(u, UserEvents.patRemoved, { tokenId });

const readPersonalAccessTokenRemoved = (p: Record<string, unknown>): PersonalAccessTokenRemovedPayload => ({ tokenId: text(p.tokenId) });

// user.metadata.set / removed

export interface MetadataSetPayload {
  key: string;
  /** The value's bytes, base64 (ZITADEL's []byte field). */
  value: string;
}

export const newMetadataSetEvent = (u: UserRef, key: string, valueBase64: string) => userEvent(u, UserEvents.metadataSet, { key, value: valueBase64 });

const readMetadataSet = (p: Record<string, unknown>): MetadataSetPayload => ({ key: text(p.key), value: text(p.value) });

export interface MetadataRemovedPayload {
  key: string;
}

export const newMetadataRemovedEvent = (u: UserRef, key: string) => userEvent(u, UserEvents.metadataRemoved, { key });

const readMetadataRemoved = (p: Record<string, unknown>): MetadataRemovedPayload => ({ key: text(p.key) });

// user.locked / unlocked / deactivated / reactivated / removed

export const newUserLockedEvent = (u: UserRef) => userEvent(u, UserEvents.locked);
export const newUserUnlockedEvent = (u: UserRef) => userEvent(u, UserEvents.unlocked);
export const newUserDeactivatedEvent = (u: UserRef) => userEvent(u, UserEvents.deactivated);
export const newUserReactivatedEvent = (u: UserRef) => userEvent(u, UserEvents.reactivated);
/** The username claim and memberships are released by the command, not by this payload. */
export const newUserRemovedEvent = (u: UserRef) => userEvent(u, UserEvents.removed);

// user.token.removed (RFC 7009 revocation of one access token)

export interface UserTokenRemovedPayload {
  tokenId: string;
  /** The token's expiry (seconds since the epoch): after it, the revocation can be forgotten. */
  expiration: number;
}

export const newUserTokenRemovedEvent = (u: UserRef, p: UserTokenRemovedPayload) =>
  userEvent(u, UserEvents.tokenRemoved, { tokenId: p.tokenId, expiration: p.expiration });

const readUserTokenRemoved = (p: Record<string, unknown>): UserTokenRemovedPayload => ({ tokenId: text(p.tokenId), expiration: int(p.expiration, 0) });

/** Every user event type with its mapper. */
export const userEventMappers = {
  [UserEvents.machineAdded]: readMachineAdded,
  [UserEvents.machineChanged]: readMachineChanged,
  [UserEvents.humanAdded]: readHumanAdded,
  [UserEvents.usernameChanged]: readUsernameChanged,
  [UserEvents.secretSet]: readMachineSecretSet,
  [UserEvents.secretRemoved]: noPayload,
  [UserEvents.secretAdded]: readMachineSecretAdded,
  [UserEvents.secretChanged]: readMachineSecretChanged,
  [UserEvents.secretDeleted]: readMachineSecretDeleted,
  [UserEvents.keyAdded]: readMachineKeyAdded,
  [UserEvents.keyRemoved]: readMachineKeyRemoved,
  [UserEvents.patAdded]: readPersonalAccessTokenAdded,
  [UserEvents.patRemoved]: readPersonalAccessTokenRemoved,
  [UserEvents.metadataSet]: readMetadataSet,
  [UserEvents.metadataRemoved]: readMetadataRemoved,
  [UserEvents.locked]: noPayload,
  [UserEvents.unlocked]: noPayload,
  [UserEvents.deactivated]: noPayload,
  [UserEvents.reactivated]: noPayload,
  [UserEvents.removed]: noPayload,
  [UserEvents.tokenRemoved]: readUserTokenRemoved,
} satisfies PayloadMappers & Record<UserEventType, unknown>;

export type UserEvent = EventsOf<typeof userEventMappers>;

/** The stored event as a typed user event; undefined for a type that is not a user event. */
export const readUserEvent = (e: StoredEvent): UserEvent | undefined => readEvent(userEventMappers, e);
