import { describe, expect, it } from "vitest";
import { keyedHash } from "../../crypto/keys.js";
import { NOW, callerIn, createHarness, orgEvent, userEvent, type GivenEvent } from "../core/testing/given.js";
import {
  addMachineUser,
  changeUserState,
  generateMachineSecret,
  removeMachineSecret,
  removeUser,
  updateMachine,
  updateUserName,
} from "./users.js";

// Given/when/then for the user commands: given stored events, when a command runs, then these
// events and claims are written (as stored: ZITADEL's event types and payload fields) or this error.

const ORG = "org1";
const OTHER_ORG = "org2";
const caller = callerIn(ORG);

const orgAdded = (id = ORG, name = "Acme"): GivenEvent => orgEvent(id, "org.added", { name });
const machineAdded = (id = "u1", orgId = ORG, payload: Record<string, unknown> = { userName: "bot", name: "Bot" }): GivenEvent =>
  userEvent(id, orgId, "user.machine.added", payload);
const humanAdded = (id = "h1", orgId = ORG): GivenEvent => userEvent(id, orgId, "user.human.added", { userName: "alice", displayName: "Alice" });
const usernameTaken = (field: string) => ({ type: "usernames", field });
const ALREADY_EXISTS = { kind: "AlreadyExists", id: "V3-DKcYh", message: "User already exists" };

describe("addMachineUser", () => {
  it("writes user.machine.added with the trimmed names, claims the username in lower case, and answers changeDate", async () => {
    const t = createHarness({ ids: ["u9"] });
    t.given(orgAdded());
    const r = await addMachineUser(t.deps, caller, { userName: "  Bot-One ", name: " Bot ", description: "", accessTokenType: 0 });
    expect(r).toEqual({ userId: "u9", details: { sequence: 1, changeDate: NOW, resourceOwner: ORG } });
    expect(r.details.creationDate).toBeUndefined();
    // Empty description and BEARER (0) are left out of the payload.
    expect(t.written()).toEqual([
      { aggregateType: "user", aggregateId: "u9", resourceOwner: ORG, sequence: 1, type: "user.machine.added", payload: { userName: "Bot-One", name: "Bot" } },
    ]);
    expect(t.writtenClaims()).toEqual([{ action: "add", type: "usernames", field: "bot-one" }]);
    // Decided on the org and the (empty) user it loaded: both are expected unchanged.
    expect(t.pushes[0]).toMatchObject({ editor: "admin1", now: NOW, expected: { "org:org1": 1, "user:u9": 0 } });
  });

  it("keeps description and access token type when given, and the caller-chosen id", async () => {
    const t = createHarness();
    t.given(orgAdded());
    const r = await addMachineUser(t.deps, caller, { userId: "my-id", userName: "jwt-bot", name: "J", description: "signs", accessTokenType: 1 });
    expect(r.userId).toBe("my-id");
    expect(t.written()[0]).toMatchObject({
      aggregateId: "my-id",
      payload: { userName: "jwt-bot", name: "J", description: "signs", accessTokenType: 1 },
    });
  });

  it("refuses a username taken in any org of the instance, whatever its case, and writes nothing", async () => {
    const t = createHarness();
    t.given(orgAdded(), orgAdded(OTHER_ORG, "Other"), machineAdded("u1", OTHER_ORG, { userName: "Bot", name: "B" }));
    t.givenClaims(usernameTaken("bot"));
    await expect(addMachineUser(t.deps, caller, { userName: "BOT", name: "x", description: "", accessTokenType: 0 })).rejects.toMatchObject(ALREADY_EXISTS);
    expect(t.written()).toEqual([]);
    expect(t.claimed("usernames", "bot")).toBe(true);
  });

  it("refuses an org that does not exist (or was removed)", async () => {
    const t = createHarness();
    const input = { userName: "bot", name: "Bot", description: "", accessTokenType: 0 };
    await expect(addMachineUser(t.deps, caller, input)).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-QXPGs", message: "Organisation not found" });
    t.given(orgAdded(), orgEvent(ORG, "org.removed", { name: "Acme" }));
    await expect(addMachineUser(t.deps, caller, input)).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-QXPGs" });
    expect(t.pushes).toEqual([]);
  });

  it("refuses a blank username or name (after trimming)", async () => {
    const t = createHarness();
    t.given(orgAdded());
    await expect(addMachineUser(t.deps, caller, { userName: "  ", name: "Bot", description: "", accessTokenType: 0 })).rejects.toMatchObject({
      kind: "InvalidArgument",
      id: "COMMAND-bm9Ds",
      message: "Userdata is invalid",
    });
    await expect(addMachineUser(t.deps, caller, { userName: "bot", name: " ", description: "", accessTokenType: 0 })).rejects.toMatchObject({
      kind: "InvalidArgument",
      id: "COMMAND-bs9Ds",
    });
    expect(t.pushes).toEqual([]);
  });

  it("refuses an id that was ever used, also by a removed user", async () => {
    const t = createHarness();
    t.given(orgAdded(), machineAdded("u1"), userEvent("u1", ORG, "user.removed"));
    await expect(addMachineUser(t.deps, caller, { userId: "u1", userName: "new", name: "N", description: "", accessTokenType: 0 })).rejects.toMatchObject({
      kind: "FailedPrecondition",
      id: "COMMAND-k2una",
      message: "Errors.User.AlreadyExisting",
    });
    expect(t.pushes).toEqual([]);
  });
});

describe("addMachineUser: identifier hygiene (domain/identifiers.ts)", () => {
  const add = (t: ReturnType<typeof createHarness>, input: { userId?: string; userName?: string; name?: string }) =>
    addMachineUser(t.deps, caller, { userName: "bot", name: "Bot", description: "", accessTokenType: 0, ...input });

  it("refuses a caller-chosen id over 200 bytes of UTF-8, a dot segment, padding or control/bidi characters, writing nothing", async () => {
    const t = createHarness();
    t.given(orgAdded());
    const cases: [string, string][] = [
      ["é".repeat(101), "DOMAIN-Ud7qz"],
      ["..", "DOMAIN-Ud9wa"],
      [" id", "DOMAIN-Ud2kx"],
      ["i\u202ed", "DOMAIN-Ud4pc"],
      ["", "DOMAIN-Ud1em"],
    ];
    for (const [userId, id] of cases) await expect(add(t, { userId }), JSON.stringify(userId)).rejects.toMatchObject({ kind: "InvalidArgument", id });
    expect(t.pushes).toEqual([]);
    await add(t, { userId: "😀".repeat(50) });
    expect(t.written()[0]!.aggregateId).toBe("😀".repeat(50));
  });

  it("refuses control and bidi characters in the username (marks too) and the name (overrides, not marks)", async () => {
    const t = createHarness();
    t.given(orgAdded());
    await expect(add(t, { userName: "b\u202eot" })).rejects.toMatchObject({ kind: "InvalidArgument", id: "DOMAIN-Un3hs" });
    await expect(add(t, { userName: "b\u200fot" })).rejects.toMatchObject({ kind: "InvalidArgument", id: "DOMAIN-Un3hs" });
    await expect(add(t, { name: "B\tot" })).rejects.toMatchObject({ kind: "InvalidArgument", id: "DOMAIN-Nm8rf" });
    expect(t.pushes).toEqual([]);
    await add(t, { name: "\u05d1\u05d5\u05d8\u200f" });
    expect(t.written()).toHaveLength(1);
  });
});

describe("updateMachine", () => {
  const given = () => {
    const t = createHarness();
    t.given(orgAdded(), machineAdded("u1", ORG, { userName: "bot", name: "Bot", description: "first", accessTokenType: 1 }));
    return t;
  };

  it("writes only the fields that changed", async () => {
    const t = given();
    const d = await updateMachine(t.deps, caller, { userId: "u1", name: "Bot 2", description: "first", accessTokenType: 1 });
    expect(d).toEqual({ sequence: 2, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([
      { aggregateType: "user", aggregateId: "u1", resourceOwner: ORG, sequence: 2, type: "user.machine.changed", payload: { name: "Bot 2" } },
    ]);
  });

  it("is a full replacement: an omitted description is cleared and an omitted type is BEARER (0)", async () => {
    const t = given();
    await updateMachine(t.deps, caller, { userId: "u1", name: "Bot", description: "", accessTokenType: 0 });
    expect(t.written()[0]!.payload).toEqual({ description: "", accessTokenType: 0 });
  });

  it("refuses a change that changes nothing (COMMAND-2n8vs)", async () => {
    const t = given();
    await expect(updateMachine(t.deps, caller, { userId: "u1", name: "Bot", description: "first", accessTokenType: 1 })).rejects.toMatchObject({
      kind: "FailedPrecondition",
      id: "COMMAND-2n8vs",
      message: "Errors.User.NotChanged",
    });
    expect(t.pushes).toEqual([]);
  });

  it("refuses a new name with control characters or bidi overrides, but not an unchanged stored one", async () => {
    const t = createHarness();
    t.given(orgAdded(), machineAdded("u1", ORG, { userName: "bot", name: "Old\tname" }));
    await expect(updateMachine(t.deps, caller, { userId: "u1", name: "New\u202ename", description: "", accessTokenType: 0 })).rejects.toMatchObject({
      kind: "InvalidArgument",
      id: "DOMAIN-Nm8rf",
    });
    expect(t.pushes).toEqual([]);
    // A name stored before the rule existed does not block changing something else.
    await updateMachine(t.deps, caller, { userId: "u1", name: "Old\tname", description: "now described", accessTokenType: 0 });
    expect(t.written()[0]!.payload).toEqual({ description: "now described" });
  });

  it("does not find unknown users, removed users, other orgs' users or humans (COMMAND-5M0od)", async () => {
    const t = given();
    t.given(machineAdded("other", OTHER_ORG), humanAdded("h1"), machineAdded("gone"), userEvent("gone", ORG, "user.removed"));
    for (const userId of ["nobody", "other", "h1", "gone"]) {
      await expect(updateMachine(t.deps, caller, { userId, name: "x", description: "", accessTokenType: 0 })).rejects.toMatchObject({
        kind: "NotFound",
        id: "COMMAND-5M0od",
        message: "User could not be found",
      });
    }
    expect(t.pushes).toEqual([]);
  });

  it("decides again on the new state when another writer got there first", async () => {
    const t = given();
    await t.deps.cache.get(t.instanceId, "user", "u1"); // this process has the user cached at sequence 1
    t.concurrently(userEvent("u1", ORG, "user.machine.changed", { name: "Bot 2" }));
    // The first attempt expected sequence 1 and conflicts; the second sees the name already set.
    await expect(updateMachine(t.deps, caller, { userId: "u1", name: "Bot 2", description: "first", accessTokenType: 1 })).rejects.toMatchObject({
      id: "COMMAND-2n8vs",
    });
    expect(t.pushes.map((p) => [p.expected, p.committed])).toEqual([[{ "user:u1": 1 }, false]]);
    expect(t.written()).toEqual([]);
  });

  it("writes after the concurrent change when it still changes something", async () => {
    const t = given();
    await t.deps.cache.get(t.instanceId, "user", "u1");
    t.concurrently(userEvent("u1", ORG, "user.machine.changed", { name: "Bot 2" }));
    const d = await updateMachine(t.deps, caller, { userId: "u1", name: "Bot 3", description: "first", accessTokenType: 1 });
    expect(d.sequence).toBe(3);
    expect(t.pushes.map((p) => p.expected)).toEqual([{ "user:u1": 1 }, { "user:u1": 2 }]);
    expect(t.written()).toEqual([expect.objectContaining({ sequence: 3, type: "user.machine.changed", payload: { name: "Bot 3" } })]);
  });
});

describe("generateMachineSecret", () => {
  it("writes user.machine.secret.set with only the keyed hash, and answers the clear secret once with creationDate", async () => {
    const t = createHarness({ ids: ["s1"] });
    t.given(orgAdded(), machineAdded("u1", ORG, { userName: "Bot", name: "B" }));
    const r = await generateMachineSecret(t.deps, caller, "u1");
    expect(r.clientId).toBe("Bot");
    expect(r.clientSecret).toMatch(/^pcs_[A-Za-z0-9]{64}$/);
    expect(r.details).toEqual({ sequence: 2, creationDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([
      {
        aggregateType: "user",
        aggregateId: "u1",
        resourceOwner: ORG,
        sequence: 2,
        type: "user.machine.secret.set",
        payload: { hashedSecret: keyedHash(t.deps.keys.hmac, r.clientSecret), secretId: "s1" },
      },
    ]);
  });

  it("mints ZITADEL's 64 alphanumerics with credentials.secretFormat zitadel", async () => {
    const t = createHarness({ config: { credentials: { secretFormat: "zitadel", trackLastUsed: true, lastUsedWriteInterval: 60000 } } });
    t.given(orgAdded(), machineAdded("u1", ORG, { userName: "Bot", name: "B" }));
    expect((await generateMachineSecret(t.deps, caller, "u1")).clientSecret).toMatch(/^[A-Za-z0-9]{64}$/);
  });

  it("replaces a previous secret", async () => {
    const t = createHarness();
    t.given(orgAdded(), machineAdded(), userEvent("u1", ORG, "user.machine.secret.set", { hashedSecret: "old" }));
    const r = await generateMachineSecret(t.deps, caller, "u1");
    const u = await t.deps.cache.get(t.instanceId, "user", "u1");
    expect([...u.secrets.values()]).toMatchObject([{ hash: keyedHash(t.deps.keys.hmac, r.clientSecret), sequence: 3, expiration: undefined }]);
  });

  it("answers 404s for users it cannot see and 400 for a human (ZITADEL looks the user up first)", async () => {
    const t = createHarness();
    t.given(orgAdded(), machineAdded("other", OTHER_ORG), humanAdded("h1"), machineAdded("gone"), userEvent("gone", ORG, "user.removed"));
    const notFound = { kind: "NotFound", id: "QUERY-Dfbg2", message: "User could not be found" };
    await expect(generateMachineSecret(t.deps, caller, "nobody")).rejects.toMatchObject(notFound);
    await expect(generateMachineSecret(t.deps, caller, "gone")).rejects.toMatchObject(notFound);
    await expect(generateMachineSecret(t.deps, caller, "other")).rejects.toMatchObject({ kind: "NotFound", id: "MANAG-fpo4B", message: "User could not be found" });
    await expect(generateMachineSecret(t.deps, caller, "h1")).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-x8910n", message: "Errors.User.NotExisting" });
    expect(t.pushes).toEqual([]);
  });
});

describe("removeMachineSecret", () => {
  it("writes user.machine.secret.removed (empty payload) and answers changeDate", async () => {
    const t = createHarness();
    t.given(orgAdded(), machineAdded(), userEvent("u1", ORG, "user.machine.secret.set", { hashedSecret: "h" }));
    const d = await removeMachineSecret(t.deps, caller, "u1");
    expect(d).toEqual({ sequence: 3, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([{ aggregateType: "user", aggregateId: "u1", resourceOwner: ORG, sequence: 3, type: "user.machine.secret.removed", payload: {} }]);
  });

  it("refuses a machine without a secret, also once it was removed (COMMAND-coi82n)", async () => {
    const t = createHarness();
    t.given(orgAdded(), machineAdded());
    const noSecret = { kind: "FailedPrecondition", id: "COMMAND-coi82n", message: "Secret doesn't exist" };
    await expect(removeMachineSecret(t.deps, caller, "u1")).rejects.toMatchObject(noSecret);
    t.given(userEvent("u1", ORG, "user.machine.secret.set", { hashedSecret: "h" }), userEvent("u1", ORG, "user.machine.secret.removed"));
    await expect(removeMachineSecret(t.deps, caller, "u1")).rejects.toMatchObject(noSecret);
    expect(t.pushes).toEqual([]);
  });

  it("refuses unknown users, other orgs' users and humans (COMMAND-x7s802)", async () => {
    const t = createHarness();
    t.given(orgAdded(), machineAdded("other", OTHER_ORG), userEvent("other", OTHER_ORG, "user.machine.secret.set", { hashedSecret: "h" }), humanAdded("h1"));
    for (const id of ["nobody", "other", "h1"])
      await expect(removeMachineSecret(t.deps, caller, id)).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-x7s802", message: "Errors.User.NotExisting" });
    expect(t.pushes).toEqual([]);
  });
});

describe("changeUserState", () => {
  const given = (...more: GivenEvent[]) => {
    const t = createHarness();
    t.given(orgAdded(), machineAdded(), ...more);
    return t;
  };
  const deactivated = userEvent("u1", ORG, "user.deactivated");
  const locked = userEvent("u1", ORG, "user.locked");

  it.each([
    ["deactivate", "active", [], "user.deactivated"],
    ["deactivate", "locked", [locked], "user.deactivated"],
    ["reactivate", "inactive", [deactivated], "user.reactivated"],
    ["lock", "active", [], "user.locked"],
    ["unlock", "locked", [locked], "user.unlocked"],
  ] as const)("%s of a %s user writes its event", async (action, _state, more, type) => {
    const t = given(...more);
    const d = await changeUserState(t.deps, caller, "u1", action);
    const sequence = 2 + more.length;
    expect(d).toEqual({ sequence, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([{ aggregateType: "user", aggregateId: "u1", resourceOwner: ORG, sequence, type, payload: {} }]);
  });

  it.each([
    ["deactivate", "inactive", [deactivated], "COMMAND-5M0sf", "User already inactive"],
    ["reactivate", "active", [], "COMMAND-6M0sf", "User is not inactive"],
    ["reactivate", "locked", [locked], "COMMAND-6M0sf", "User is not inactive"],
    ["lock", "inactive", [deactivated], "COMMAND-3NN8v", "User is not active or initial"],
    ["lock", "locked", [locked], "COMMAND-3NN8v", "User is not active or initial"],
    ["unlock", "active", [], "COMMAND-4M0ds", "User is not locked"],
    ["unlock", "inactive", [deactivated], "COMMAND-4M0ds", "User is not locked"],
  ] as const)("%s of a %s user is refused: %s", async (action, _state, more, id, message) => {
    const t = given(...more);
    await expect(changeUserState(t.deps, caller, "u1", action)).rejects.toMatchObject({ kind: "FailedPrecondition", id, message });
    expect(t.pushes).toEqual([]);
  });

  it.each([
    ["deactivate", "COMMAND-3M9ds"],
    ["reactivate", "COMMAND-4M0sd"],
    ["lock", "COMMAND-5M9fs"],
    ["unlock", "COMMAND-M0dos"],
  ] as const)("%s does not find unknown, removed or other orgs' users (%s)", async (action, id) => {
    const t = given(machineAdded("other", OTHER_ORG), machineAdded("gone"), userEvent("gone", ORG, "user.removed"));
    for (const userId of ["nobody", "other", "gone"])
      await expect(changeUserState(t.deps, caller, userId, action)).rejects.toMatchObject({ kind: "NotFound", id, message: "User could not be found" });
    expect(t.pushes).toEqual([]);
  });

  it("applies to humans as well", async () => {
    const t = given(humanAdded("h1"));
    await changeUserState(t.deps, caller, "h1", "lock");
    expect(t.written()).toEqual([expect.objectContaining({ aggregateId: "h1", type: "user.locked" })]);
  });
});

describe("updateUserName", () => {
  const given = () => {
    const t = createHarness();
    t.given(orgAdded(), machineAdded("u1", ORG, { userName: "Bot", name: "B" }));
    t.givenClaims(usernameTaken("bot"));
    return t;
  };

  it("writes user.username.changed with the trimmed name, frees the old name and claims the new one", async () => {
    const t = given();
    const d = await updateUserName(t.deps, caller, "u1", " robot ");
    expect(d).toEqual({ sequence: 2, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([
      { aggregateType: "user", aggregateId: "u1", resourceOwner: ORG, sequence: 2, type: "user.username.changed", payload: { userName: "robot" } },
    ]);
    expect(t.writtenClaims()).toEqual([
      { action: "remove", type: "usernames", field: "bot" },
      { action: "add", type: "usernames", field: "robot" },
    ]);
    expect([t.claimed("usernames", "bot"), t.claimed("usernames", "robot")]).toEqual([false, true]);
  });

  it("changes only the case without touching the claim", async () => {
    const t = given();
    await updateUserName(t.deps, caller, "u1", "BOT");
    expect(t.written()[0]!.payload).toEqual({ userName: "BOT" });
    expect(t.writtenClaims()).toEqual([]);
    expect(t.claimed("usernames", "bot")).toBe(true);
  });

  it("refuses the same name (COMMAND-6m9gs)", async () => {
    const t = given();
    await expect(updateUserName(t.deps, caller, "u1", "Bot ")).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-6m9gs", message: "Username not changed" });
    expect(t.pushes).toEqual([]);
  });

  it("refuses a name another user holds, in any case, and keeps the old claim", async () => {
    const t = given();
    t.given(machineAdded("u2", OTHER_ORG, { userName: "admin", name: "A" }));
    t.givenClaims(usernameTaken("admin"));
    await expect(updateUserName(t.deps, caller, "u1", "Admin")).rejects.toMatchObject(ALREADY_EXISTS);
    expect(t.written()).toEqual([]);
    expect(t.claimed("usernames", "bot")).toBe(true);
  });

  it("refuses a blank name before looking for the user (COMMAND-2N9fs)", async () => {
    const t = given();
    await expect(updateUserName(t.deps, caller, "nobody", "  ")).rejects.toMatchObject({ kind: "InvalidArgument", id: "COMMAND-2N9fs", message: "ID missing" });
  });

  it("refuses a new username with control or bidi characters before looking for the user", async () => {
    const t = createHarness();
    await expect(updateUserName(t.deps, caller, "nobody", "a\u2066b")).rejects.toMatchObject({ kind: "InvalidArgument", id: "DOMAIN-Un3hs" });
    expect(t.pushes).toEqual([]);
  });

  it("does not find unknown or other orgs' users (COMMAND-5N9ds)", async () => {
    const t = given();
    t.given(machineAdded("other", OTHER_ORG));
    for (const id of ["nobody", "other"])
      await expect(updateUserName(t.deps, caller, id, "x")).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-5N9ds", message: "User could not be found" });
    expect(t.pushes).toEqual([]);
  });
});

/**
 * removeUser finds the user's memberships in the proj_members read model (deps.store.sql): the
 * harness stubs that one query.
 */
describe("removeUser", () => {
  const memberships = (rows: { scope_type: string; scope_id: string }[]) => (text: string, params: readonly unknown[]) => {
    expect(text).toContain("proj_members");
    expect(params).toEqual(["instance1", "u1"]);
    return rows;
  };

  it("writes user.removed, cascades its memberships on their aggregates and frees its username and member claims", async () => {
    const t = createHarness({ sql: memberships([{ scope_type: "org", scope_id: ORG }, { scope_type: "instance", scope_id: "instance1" }]) });
    t.given(
      orgAdded(),
      machineAdded("u1", ORG, { userName: "Bot", name: "B" }),
      orgEvent(ORG, "org.member.added", { userId: "u1", roles: ["ORG_OWNER"] }),
      { aggregateType: "instance", aggregateId: "instance1", resourceOwner: "instance1", type: "instance.member.added", payload: { userId: "u1", roles: ["IAM_OWNER"] } },
    );
    const d = await removeUser(t.deps, caller, "u1");
    expect(d).toEqual({ sequence: 2, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([
      { aggregateType: "user", aggregateId: "u1", resourceOwner: ORG, sequence: 2, type: "user.removed", payload: {} },
      { aggregateType: "org", aggregateId: ORG, resourceOwner: ORG, sequence: 3, type: "org.member.cascade.removed", payload: { userId: "u1" } },
      { aggregateType: "instance", aggregateId: "instance1", resourceOwner: "instance1", sequence: 2, type: "instance.member.cascade.removed", payload: { userId: "u1" } },
    ]);
    expect(t.writtenClaims()).toEqual([
      { action: "remove", type: "usernames", field: "bot" },
      { action: "remove", type: "member", field: "org1:u1" },
      { action: "remove", type: "member", field: "instance1:u1" },
    ]);
    expect(t.pushes[0]!.expected).toEqual({ "user:u1": 1, "org:org1": 2, "instance:instance1": 1 });
  });

  it("does not find unknown, removed or other orgs' users (COMMAND-m9od)", async () => {
    const t = createHarness({ sql: memberships([]) });
    t.given(orgAdded(), machineAdded("other", OTHER_ORG), machineAdded("gone"), userEvent("gone", ORG, "user.removed"));
    for (const id of ["nobody", "other", "gone"])
      await expect(removeUser(t.deps, caller, id)).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-m9od", message: "User could not be found" });
    expect(t.pushes).toEqual([]);
  });
});
