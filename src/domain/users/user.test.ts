import { describe, expect, it } from "vitest";
import type { StoredEvent } from "../events.js";
import { REVOCATION_SKEW_SEC, emptyUser, evolveUser, isActiveMachine, reduceUser, userExists, type UserState } from "./user.js";

// Given these stored events (ZITADEL's types and payloads), then this user state.

const T0 = Date.parse("2025-01-01T00:00:00.000Z");
const at = (i: number) => new Date(T0 + i * 1000);

/** Stored events of user u1 in org1: sequence and time follow the order given. */
function stream(...events: [type: string, payload?: Record<string, unknown>][]): StoredEvent[] {
  return events.map(([type, payload], i) => ({
    instanceId: "i1",
    aggregateType: "user",
    aggregateId: "u1",
    sequence: i + 1,
    position: i + 1,
    type,
    payload: payload ?? {},
    editor: "e",
    resourceOwner: "org1",
    createdAt: at(i),
  }));
}
const reduce = (...events: [string, Record<string, unknown>?][]) => reduceUser("u1", stream(...events));
const machineAdded: [string, Record<string, unknown>] = ["user.machine.added", { userName: "bot", name: "Bot" }];
const PEM = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";

describe("user reducer", () => {
  it("starts empty: not existing, no credentials, sequence 0", () => {
    const u = reduceUser("u1", []);
    expect(u).toEqual(emptyUser("u1"));
    expect(u).toMatchObject({ id: "u1", type: 0, state: 0, sequence: 0, orgId: "" });
    expect([userExists(u), isActiveMachine(u)]).toEqual([false, false]);
  });

  it("user.machine.added: an active machine of the event's org with the payload's fields", () => {
    const u = reduce(["user.machine.added", { userName: "bot", name: "Bot", description: "d", accessTokenType: 1 }]);
    expect(u).toMatchObject({ type: 2, state: 1, orgId: "org1", userName: "bot", name: "Bot", description: "d", accessTokenType: 1, sequence: 1, createdAt: at(0), changedAt: at(0) });
    expect([userExists(u), isActiveMachine(u)]).toEqual([true, true]);
  });

  it("user.machine.added without description or type: empty and BEARER (0)", () => {
    expect(reduce(machineAdded)).toMatchObject({ description: "", accessTokenType: 0 });
  });

  it("user.human.added: an active human named by its display name, never an active machine", () => {
    const u = reduce(["user.human.added", { userName: "alice", displayName: "Alice" }], ["user.locked"], ["user.unlocked"]);
    expect(u).toMatchObject({ type: 1, state: 1, userName: "alice", name: "Alice", orgId: "org1" });
    expect([userExists(u), isActiveMachine(u)]).toEqual([true, false]);
  });

  it("user.machine.changed: only the fields present change", () => {
    const base = ["user.machine.added", { userName: "bot", name: "Bot", description: "d", accessTokenType: 1 }] as [string, Record<string, unknown>];
    expect(reduce(base, ["user.machine.changed", { name: "Bot 2" }])).toMatchObject({ name: "Bot 2", description: "d", accessTokenType: 1, sequence: 2, changedAt: at(1), createdAt: at(0) });
    expect(reduce(base, ["user.machine.changed", { description: "", accessTokenType: 0 }])).toMatchObject({ name: "Bot", description: "", accessTokenType: 0 });
  });

  it("user.username.changed renames", () => {
    expect(reduce(machineAdded, ["user.username.changed", { userName: "robot" }]).userName).toBe("robot");
  });

  it("user.machine.secret.set replaces every secret (id: the payload's, else the event's sequence); .removed drops all", () => {
    const set = reduce(machineAdded, ["user.machine.secret.set", { hashedSecret: "h1" }], ["user.machine.secret.set", { hashedSecret: "h2" }]);
    expect([...set.secrets.values()]).toMatchObject([{ id: "3", hash: "h2", sequence: 3 }]);
    const withId = reduce(machineAdded, ["user.machine.secret.added", { secretId: "a", hashedSecret: "ha" }], ["user.machine.secret.set", { hashedSecret: "h", secretId: "s9" }]);
    expect([...withId.secrets.keys()]).toEqual(["s9"]);
    expect(reduce(machineAdded, ["user.machine.secret.set", { hashedSecret: "h1" }], ["user.machine.secret.removed"]).secrets.size).toBe(0);
  });

  it("user.machine.secret.added / changed / deleted keep a set of secrets by id", () => {
    const u = reduce(
      machineAdded,
      ["user.machine.secret.added", { secretId: "a", hashedSecret: "ha", description: "ci" }],
      ["user.machine.secret.added", { secretId: "b", hashedSecret: "hb", expirationDate: "2030-01-01T00:00:00.000Z" }],
      ["user.machine.secret.changed", { secretId: "a", expirationDate: "2029-01-01T00:00:00.000Z" }],
      ["user.machine.secret.changed", { secretId: "b", expirationDate: null, description: "new" }],
    );
    expect(u.secrets.get("a")).toMatchObject({ description: "ci", expiration: new Date("2029-01-01T00:00:00.000Z"), sequence: 4 });
    expect(u.secrets.get("b")).toMatchObject({ description: "new", expiration: undefined, sequence: 5 });
    const d = reduce(machineAdded, ["user.machine.secret.added", { secretId: "a", hashedSecret: "ha" }], ["user.machine.secret.deleted", { secretId: "a" }]);
    expect(d.secrets.size).toBe(0);
  });

  it("user.machine.key.added keeps the key (public key decoded from base64); .removed drops it", () => {
    const added = ["user.machine.key.added", { keyId: "k1", type: 1, expirationDate: "2030-01-01T00:00:00.000Z", publicKey: Buffer.from(PEM).toString("base64") }] as [
      string,
      Record<string, unknown>,
    ];
    const u = reduce(machineAdded, added, ["user.machine.key.added", { keyId: "k2", type: 1, expirationDate: "9999-12-31T23:59:59.000Z", publicKey: "" }]);
    expect(u.keys.get("k1")).toEqual({ id: "k1", type: 1, expiration: new Date("2030-01-01T00:00:00.000Z"), publicKey: PEM, sequence: 2, createdAt: at(1) });
    expect([...u.keys.keys()]).toEqual(["k1", "k2"]);
    expect([...reduce(machineAdded, added, ["user.machine.key.removed", { keyId: "k1" }]).keys.keys()]).toEqual([]);
  });

  it("user.pat.added keeps the token's hash, scopes and expiry; user.pat.removed drops it", () => {
    const added = ["user.pat.added", { tokenId: "p1", expiration: "2030-01-01T00:00:00.000Z", scopes: ["openid"], tokenHash: "th" }] as [string, Record<string, unknown>];
    const u = reduce(machineAdded, added);
    expect(u.pats.get("p1")).toEqual({ id: "p1", expiration: new Date("2030-01-01T00:00:00.000Z"), scopes: ["openid"], tokenHash: "th", sequence: 2, createdAt: at(1) });
    expect(reduce(machineAdded, added, ["user.pat.removed", { tokenId: "p1" }]).pats.size).toBe(0);
  });

  it("user.metadata.set keeps the first creation time over overwrites; .removed drops the key; both move lastMetadataEvent", () => {
    const u = reduce(machineAdded, ["user.metadata.set", { key: "k", value: "djE=" }], ["user.metadata.set", { key: "k", value: "djI=" }]);
    expect(u.metadata.get("k")).toEqual({ key: "k", value: "djI=", sequence: 3, createdAt: at(1), changedAt: at(2) });
    expect(u.lastMetadataEvent).toEqual({ sequence: 3, at: at(2) });
    const removed = reduce(machineAdded, ["user.metadata.set", { key: "k", value: "djE=" }], ["user.metadata.removed", { key: "k" }]);
    expect(removed.metadata.size).toBe(0);
    expect(removed.lastMetadataEvent).toEqual({ sequence: 3, at: at(2) });
  });

  it.each([
    [["user.locked"], 4],
    [["user.locked", "user.unlocked"], 1],
    [["user.deactivated"], 2],
    [["user.deactivated", "user.reactivated"], 1],
    [["user.locked", "user.deactivated"], 2],
  ])("after %j the state is %i", (types, state) => {
    const u = reduce(machineAdded, ...types.map((t): [string] => [t]));
    expect(u.state).toBe(state);
    expect(isActiveMachine(u)).toBe(state === 1);
    expect(userExists(u)).toBe(true);
  });

  it("user.removed: deleted (3), no longer existing, every credential and all metadata gone; the name stays for the record", () => {
    const u = reduce(
      machineAdded,
      ["user.machine.secret.set", { hashedSecret: "h" }],
      ["user.machine.key.added", { keyId: "k1", type: 1, expirationDate: "9999-12-31T23:59:59.000Z", publicKey: "" }],
      ["user.pat.added", { tokenId: "p1", expiration: "9999-12-31T23:59:59.000Z", scopes: [], tokenHash: "t" }],
      ["user.metadata.set", { key: "k", value: "dg==" }],
      ["user.removed"],
    );
    expect(u).toMatchObject({ state: 3, type: 2, userName: "bot", sequence: 6 });
    expect([u.secrets.size, u.keys.size, u.pats.size, u.metadata.size]).toEqual([0, 0, 0, 0]);
    expect([userExists(u), isActiveMachine(u)]).toEqual([false, false]);
  });

  it("a revocation is forgotten once an event is later than the token's expiry plus the clock-skew margin; the rest stay", () => {
    // Given: T0 = 1735689600 s; event i is at T0 + i s.
    const t0 = T0 / 1000;
    const M = REVOCATION_SKEW_SEC;
    const u = reduce(
      machineAdded,
      ["user.token.removed", { tokenId: "short", expiration: t0 + 3 }],
      ["user.token.removed", { tokenId: "long", expiration: t0 + 100 }],
      ["user.token.removed", { tokenId: "edge", expiration: t0 + 4 }],
    );
    expect([...u.revokedTokens.keys()]).toEqual(["short", "long", "edge"]);
    const later = (type: string, payload: Record<string, unknown>, secondsAfterT0: number): StoredEvent => ({
      ...stream([type, payload])[0]!,
      sequence: u.sequence + 1,
      position: u.sequence + 1,
      createdAt: new Date(T0 + secondsAfterT0 * 1000),
    });
    // When: an event a few minutes after the expiries (a writer whose clock runs ahead of a reader's)...
    evolveUser(u, later("user.machine.changed", { name: "Bot 2" }, 300));
    // Then: nothing is forgotten yet: a reader whose clock is behind may still take "short" for unexpired.
    expect([...u.revokedTokens.keys()]).toEqual(["short", "long", "edge"]);
    // When: an event later than an expiry plus the margin: that one is gone; an expiry plus margin equal to the event's time stays.
    evolveUser(u, later("user.machine.changed", { name: "Bot 3" }, 4 + M));
    expect([...u.revokedTokens]).toEqual([["long", t0 + 100], ["edge", t0 + 4]]);
    evolveUser(u, later("user.token.removed", { tokenId: "new", expiration: t0 + 200 }, 101 + M));
    expect([...u.revokedTokens]).toEqual([["new", t0 + 200]]);
  });

  it("user.token.removed records the revoked access token with its expiry", () => {
    const u = reduce(machineAdded, ["user.token.removed", { tokenId: "t1", expiration: 1767225600 }]);
    expect([...u.revokedTokens]).toEqual([["t1", 1767225600]]);
  });

  it("an event it does not know only moves the sequence and the change time", () => {
    const before = reduce(machineAdded);
    const after = reduce(machineAdded, ["user.human.password.changed", { secret: "x" }]);
    expect(after).toEqual({ ...before, sequence: 2, changedAt: at(1) });
  });

  it("evolve brings a state forward one event at a time, the same as reducing the whole stream", () => {
    const events = stream(machineAdded, ["user.machine.secret.set", { hashedSecret: "h" }], ["user.locked"]);
    let u: UserState = emptyUser("u1");
    for (const e of events) u = evolveUser(u, e);
    expect(u).toEqual(reduceUser("u1", events));
  });
});
