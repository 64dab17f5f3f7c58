import { describe, expect, it } from "vitest";
import type { NewEvent, StoredEvent } from "./events.js";
import {
  InstanceEvents,
  OrgEvents,
  newDomainRemovedEvent,
  newIAMProjectSetEvent,
  newInstanceMemberCascadeRemovedEvent,
  newOrgChangedEvent,
  newOrgMemberAddedEvent,
  readInstanceEvent,
  readOrgEvent,
} from "./orgs/events.js";
import {
  UserEvents,
  newMachineAddedEvent,
  newMachineChangedEvent,
  newMachineKeyAddedEvent,
  newMetadataSetEvent,
  newPersonalAccessTokenAddedEvent,
  newUserTokenRemovedEvent,
  readUserEvent,
  userEventMappers,
} from "./users/events.js";

const user = { id: "u1", orgId: "o1" };

/** The event as the store hands it back (the payload after a JSON round trip, as from the database). */
const stored = (e: NewEvent | { type: string; payload?: Record<string, unknown> }): StoredEvent => ({
  instanceId: "i1",
  aggregateType: "user",
  aggregateId: "u1",
  sequence: 1,
  position: 1,
  type: e.type,
  payload: JSON.parse(JSON.stringify(e.payload ?? {})) as Record<string, unknown>,
  editor: "x",
  resourceOwner: "o1",
  createdAt: new Date(0),
});

const payloadOf = (type: string, payload: Record<string, unknown>) => readUserEvent(stored({ type, payload }))?.payload;

describe("user event constructors write ZITADEL's payload fields", () => {
  it("user.machine.added leaves out an empty description and BEARER", () => {
    const e = newMachineAddedEvent(user, { userName: "svc", name: "Svc", description: "", accessTokenType: 0 });
    expect(e).toEqual({ aggregateType: "user", aggregateId: "u1", resourceOwner: "o1", type: "user.machine.added", payload: { userName: "svc", name: "Svc" } });
    expect(newMachineAddedEvent(user, { userName: "svc", name: "Svc", description: "d", accessTokenType: 1 }).payload).toEqual({
      userName: "svc",
      name: "Svc",
      description: "d",
      accessTokenType: 1,
    });
  });

  it("user.machine.changed holds only the changed fields, an emptied description included", () => {
    expect(newMachineChangedEvent(user, { description: "" }).payload).toEqual({ description: "" });
  });

  it("user.machine.key.added: ISO expiration, the PEM base64", () => {
    const e = newMachineKeyAddedEvent(user, { keyId: "k1", type: 1, expirationDate: new Date("2030-01-02T03:04:05Z"), publicKeyPem: "PEM" });
    expect(e.payload).toEqual({ keyId: "k1", type: 1, expirationDate: "2030-01-02T03:04:05.000Z", publicKey: Buffer.from("PEM").toString("base64") });
  });

  it("user.pat.added copies the scopes", () => {
    const scopes = ["openid"];
    const e = newPersonalAccessTokenAddedEvent(user, { tokenId: "t1", expiration: new Date(0), scopes, tokenHash: "h" });
    expect(e.payload).toEqual({ tokenId: "t1", expiration: "1970-01-01T00:00:00.000Z", scopes: ["openid"], tokenHash: "h" });
    expect(e.payload!.scopes).not.toBe(scopes);
  });

  it("org and instance events", () => {
    expect(newOrgMemberAddedEvent("o1", "u1", ["ORG_OWNER"])).toEqual({
      aggregateType: "org",
      aggregateId: "o1",
      resourceOwner: "o1",
      type: "org.member.added",
      payload: { userId: "u1", roles: ["ORG_OWNER"] },
    });
    expect(newDomainRemovedEvent("o1", "a.example", true).payload).toEqual({ domain: "a.example", isVerified: true });
    expect(newIAMProjectSetEvent("i1", "p1")).toMatchObject({ aggregateType: "instance", resourceOwner: "i1", payload: { iamProjectId: "p1" } });
  });
});

describe("mappers read what the constructors wrote", () => {
  it("round trips", () => {
    expect(readUserEvent(stored(newMachineAddedEvent(user, { userName: "svc", name: "Svc" })))).toMatchObject({
      type: UserEvents.machineAdded,
      sequence: 1,
      payload: { userName: "svc", name: "Svc", description: "", accessTokenType: 0 },
    });
    const exp = new Date("2030-01-02T03:04:05Z");
    expect(readUserEvent(stored(newMachineKeyAddedEvent(user, { keyId: "k1", type: 1, expirationDate: exp, publicKeyPem: "PEM" })))?.payload).toEqual({
      keyId: "k1",
      type: 1,
      expirationDate: exp,
      publicKey: Buffer.from("PEM").toString("base64"),
    });
    expect(readUserEvent(stored(newUserTokenRemovedEvent(user, { tokenId: "t", expiration: 123 })))?.payload).toEqual({ tokenId: "t", expiration: 123 });
    expect(readUserEvent(stored(newMetadataSetEvent(user, "k", "dg==")))?.payload).toEqual({ key: "k", value: "dg==" });
    expect(readOrgEvent(stored(newOrgMemberAddedEvent("o1", "u1", ["ORG_OWNER"])))?.payload).toEqual({ userId: "u1", roles: ["ORG_OWNER"] });
    expect(readOrgEvent(stored(newOrgChangedEvent("o1", "New")))?.payload).toEqual({ name: "New" });
    expect(readInstanceEvent(stored(newInstanceMemberCascadeRemovedEvent("i1", "u1")))?.payload).toEqual({ userId: "u1" });
  });

  it("every user event type has a mapper", () => {
    expect(Object.keys(userEventMappers).sort()).toEqual(Object.values(UserEvents).sort());
  });

  it("a type the table does not hold is not read", () => {
    expect(readUserEvent(stored({ type: OrgEvents.added, payload: { name: "x" } }))).toBeUndefined();
    expect(readUserEvent(stored({ type: "constructor" }))).toBeUndefined();
    expect(readOrgEvent(stored({ type: "toString" }))).toBeUndefined();
  });
});

describe("absent fields read as the untyped reads did", () => {
  it("user events", () => {
    expect(payloadOf(UserEvents.machineAdded, {})).toEqual({ userName: "", name: "", description: "", accessTokenType: 0 });
    expect(payloadOf(UserEvents.humanAdded, {})).toEqual({ userName: "", displayName: "" });
    expect(payloadOf(UserEvents.machineChanged, {})).toEqual({});
    expect(payloadOf(UserEvents.machineChanged, { name: null, accessTokenType: null })).toEqual({ name: "", accessTokenType: 0 });
    expect(payloadOf(UserEvents.usernameChanged, {})).toEqual({ userName: "" });
    expect(payloadOf(UserEvents.secretSet, {})).toEqual({ hashedSecret: "", secretId: "", expirationDate: undefined });
    expect(payloadOf(UserEvents.secretRemoved, {})).toEqual({});
    const key = payloadOf(UserEvents.keyAdded, { keyId: "k" });
    expect(key).toMatchObject({ keyId: "k", type: 1, publicKey: "" });
    expect(Number.isNaN((key as { expirationDate: Date }).expirationDate.getTime())).toBe(true);
    expect(payloadOf(UserEvents.patAdded, { tokenId: "t", expiration: "2030-01-01T00:00:00Z" })).toEqual({
      tokenId: "t",
      expiration: new Date("2030-01-01T00:00:00Z"),
      scopes: [],
      tokenHash: "",
    });
    expect(payloadOf(UserEvents.metadataSet, { key: "k" })).toEqual({ key: "k", value: "" });
    expect(payloadOf(UserEvents.tokenRemoved, { tokenId: "t" })).toEqual({ tokenId: "t", expiration: 0 });
  });

  it("org and instance events", () => {
    const org = (type: string, payload: Record<string, unknown>) => readOrgEvent(stored({ type, payload }))?.payload;
    const instance = (type: string, payload: Record<string, unknown>) => readInstanceEvent(stored({ type, payload }))?.payload;
    expect(org(OrgEvents.added, {})).toEqual({ name: "" });
    expect(org(OrgEvents.changed, {})).toEqual({}); // the reducer keeps the current name
    expect(org(OrgEvents.domainPrimarySet, {})).toEqual({ domain: "" });
    expect(org(OrgEvents.memberAdded, { userId: "u" })).toEqual({ userId: "u", roles: [] });
    expect(org(OrgEvents.deactivated, { anything: 1 })).toEqual({});
    expect(instance(InstanceEvents.added, {})).toEqual({ name: "" });
    expect(instance(InstanceEvents.defaultOrgSet, {})).toEqual({ orgId: "" });
    expect(instance(InstanceEvents.projectSet, {})).toEqual({ iamProjectId: "" });
    expect(instance(InstanceEvents.memberChanged, { userId: "u", roles: null })).toEqual({ userId: "u", roles: [] });
  });
});
