import { describe, expect, it } from "vitest";
import type { Caller } from "../core/context.js";
import { callerIn, createHarness, instanceEvent, memberCaller, orgEvent, userEvent, type GivenEvent, type Harness } from "../core/testing/given.js";
import { addMachineKey, removeMachineKey } from "./machine-keys.js";
import { bulkRemoveUserMetadata, bulkSetUserMetadata, removeUserMetadata, setUserMetadata } from "./metadata.js";
import { addPersonalAccessToken, removePersonalAccessToken } from "./pats.js";
import { changeUserState, generateMachineSecret, removeMachineSecret, removeUser, updateMachine, updateUserName } from "./users.js";

// The privilege ceiling in the user commands: given memberships (as events), when a member acts on
// another user, then it is refused with AUTHZ-ceiling and nothing is written — or the command runs.

const ORG = "org1";
const OTHER_ORG = "org2";
const GONE_ORG = "org3";
const CEILING = { kind: "PermissionDenied", id: "AUTHZ-ceiling", message: "The user holds permissions the caller does not have" };
const bytes = (s: string) => new Uint8Array(Buffer.from(s));
/** A caller-supplied RSA-2048 public key (generating a key pair per AddMachineKey would take time). */
const SPKI_PEM = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAl/elXz31d1KYOGXQ73o+
v4ZTtzT6z/MxcPAxG0DHs7hsQxyE4aACFi5zFPHBVRi7MvxD6cB1scx66yIWDTXZ
f7k+fcbTcveaWpTFxnKGmMUtICXicjHTH7evG81Aub1QnDSCx19sMjsuuy84NPIm
zEkccm/5jPgG4s3T1TY0LM6GrGeKyAtXOSkY8llFQaxZC4IdWlpQLcM0xSfFVpOv
VE/OLsfN90TXiN8XCvfvM/ooLZ13k5m1IRzWpTuThe+ssWldqKLy7ioqrHGbbcJf
FnEAXTRW+3ZpbD+SpsoDnT56uVKudfOPH/1ja8W/7iYY4D8vHSf3OMe9T9QwKqvO
IwIDAQAB
-----END PUBLIC KEY-----
`;

/** A machine of `orgId` with something of everything to remove: a secret, a key, a PAT and two metadata entries. */
const machine = (id: string, orgId = ORG): GivenEvent[] => [
  userEvent(id, orgId, "user.machine.added", { userName: id, name: `Name of ${id}` }),
  userEvent(id, orgId, "user.machine.secret.set", { hashedSecret: "h" }),
  userEvent(id, orgId, "user.machine.key.added", { keyId: `k-${id}`, type: 1, expirationDate: "9999-12-31T23:59:59Z", publicKey: "" }),
  userEvent(id, orgId, "user.pat.added", { tokenId: `p-${id}`, expiration: "9999-12-31T23:59:59Z", scopes: ["openid"], tokenHash: "h" }),
  userEvent(id, orgId, "user.metadata.set", { key: "m", value: "dg==" }),
  userEvent(id, orgId, "user.metadata.set", { key: "m2", value: "dg==" }),
];
const orgMember = (orgId: string, userId: string, roles: string[]) => orgEvent(orgId, "org.member.added", { userId, roles });
const iamMember = (userId: string, roles: string[]) => instanceEvent("instance.member.added", { userId, roles });

/**
 * The default org org1 with: admin (IAM_OWNER and ORG_OWNER, as bootstrap makes it), admin2
 * (IAM_OWNER), owner and owner2 (ORG_OWNER), manager and peer (ORG_USER_MANAGER), plain (no membership),
 * viewer2 (ORG_OWNER_VIEWER of org2), formerOwner (ORG_OWNER of org3, since removed).
 */
function given(opts: Parameters<typeof createHarness>[0] = {}) {
  const t = createHarness(opts);
  t.given(
    instanceEvent("instance.added", { name: "Portcullis" }),
    instanceEvent("instance.default.org.set", { orgId: ORG }),
    orgEvent(ORG, "org.added", { name: "Acme" }),
    orgEvent(OTHER_ORG, "org.added", { name: "Other" }),
    orgEvent(GONE_ORG, "org.added", { name: "Gone" }),
    ...["admin", "admin2", "owner", "owner2", "manager", "peer", "plain", "viewer2", "formerOwner"].flatMap((id) => machine(id)),
    userEvent("stranger", OTHER_ORG, "user.machine.added", { userName: "stranger", name: "S" }),
    iamMember("admin", ["IAM_OWNER"]),
    orgMember(ORG, "admin", ["ORG_OWNER"]),
    iamMember("admin2", ["IAM_OWNER"]),
    orgMember(ORG, "owner", ["ORG_OWNER"]),
    orgMember(ORG, "owner2", ["ORG_OWNER"]),
    orgMember(ORG, "manager", ["ORG_USER_MANAGER"]),
    orgMember(ORG, "peer", ["ORG_USER_MANAGER"]),
    orgMember(OTHER_ORG, "viewer2", ["ORG_OWNER_VIEWER"]),
    orgMember(GONE_ORG, "formerOwner", ["ORG_OWNER"]),
    orgEvent(GONE_ORG, "org.removed", { name: "Gone" }),
  );
  return t;
}

type Act = (t: Harness, caller: Caller, userId: string) => Promise<unknown>;

/** Every command that acts on an existing user, in an order that lets all of them succeed one after the other on one user. */
const ACTS: [string, Act][] = [
  ["AddPersonalAccessToken", (t, c, id) => addPersonalAccessToken(t.deps, c, id, undefined)],
  ["RemovePersonalAccessToken", (t, c, id) => removePersonalAccessToken(t.deps, c, id, `p-${id}`)],
  ["GenerateMachineSecret", (t, c, id) => generateMachineSecret(t.deps, c, id)],
  ["RemoveMachineSecret", (t, c, id) => removeMachineSecret(t.deps, c, id)],
  ["AddMachineKey", (t, c, id) => addMachineKey(t.deps, c, { userId: id, type: 1, publicKey: bytes(SPKI_PEM) })],
  ["RemoveMachineKey", (t, c, id) => removeMachineKey(t.deps, c, id, `k-${id}`)],
  ["UpdateMachine", (t, c, id) => updateMachine(t.deps, c, { userId: id, name: "Renamed", description: "", accessTokenType: 0 })],
  ["UpdateUserName", (t, c, id) => updateUserName(t.deps, c, id, `renamed-${id}`)],
  ["SetUserMetadata", (t, c, id) => setUserMetadata(t.deps, c, id, "color", bytes("blue"))],
  ["BulkSetUserMetadata", (t, c, id) => bulkSetUserMetadata(t.deps, c, id, [{ key: "size", value: bytes("xl") }])],
  ["RemoveUserMetadata", (t, c, id) => removeUserMetadata(t.deps, c, id, "m")],
  ["BulkRemoveUserMetadata", (t, c, id) => bulkRemoveUserMetadata(t.deps, c, id, ["m2"])],
  ["DeactivateUser", (t, c, id) => changeUserState(t.deps, c, id, "deactivate")],
  ["ReactivateUser", (t, c, id) => changeUserState(t.deps, c, id, "reactivate")],
  ["LockUser", (t, c, id) => changeUserState(t.deps, c, id, "lock")],
  ["UnlockUser", (t, c, id) => changeUserState(t.deps, c, id, "unlock")],
  ["RemoveUser", (t, c, id) => removeUser(t.deps, c, id)],
];

/** Every act of `caller` on `target` is refused by the ceiling, and nothing is pushed. */
async function expectRefusedEverything(t: Harness, caller: Caller, target: string) {
  const outcomes: string[] = [];
  for (const [name, act] of ACTS) {
    const err = await act(t, caller, target).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!err || typeof err !== "object" || (err as { id?: string }).id !== CEILING.id) outcomes.push(`${name}: ${String(err) || "succeeded"}`);
    else expect(err).toMatchObject(CEILING);
  }
  expect(outcomes).toEqual([]);
  expect(t.pushes).toEqual([]);
}

/** Every act of `caller` on `target` succeeds, one after the other. */
async function expectAllowedEverything(t: Harness, caller: Caller, target: string, acts = ACTS) {
  for (const [name, act] of acts) await expect(act(t, caller, target).then(() => name)).resolves.toBe(name);
  expect(t.written().filter((e) => e.aggregateId === target)).toHaveLength(acts.length);
}

describe("the privilege ceiling on the user commands", () => {
  const manager = memberCaller(ORG, "manager");
  const owner = memberCaller(ORG, "owner");

  it("refuses an ORG_USER_MANAGER every write on the IAM_OWNER (the three-call escalation stops at the first)", async () => {
    await expectRefusedEverything(given(), manager, "admin");
  });

  it("refuses an ORG_USER_MANAGER every write on an ORG_OWNER of its org", async () => {
    await expectRefusedEverything(given(), manager, "owner");
  });

  it("refuses a write on a member of another org, where the caller holds no role", async () => {
    await expectRefusedEverything(given(), manager, "viewer2");
    await expectRefusedEverything(given(), owner, "viewer2");
  });

  it("refuses an ORG_OWNER every write on an IAM_OWNER", async () => {
    await expectRefusedEverything(given(), owner, "admin2");
  });

  it("lets an ORG_USER_MANAGER manage a machine without memberships, from its secret to its removal", async () => {
    await expectAllowedEverything(given(), manager, "plain");
  });

  it("lets a caller manage a user whose permissions it holds: a peer, a lower role, and a member of a removed org", async () => {
    await expectAllowedEverything(given(), manager, "peer");
    await expectAllowedEverything(given(), owner, "manager");
    await expectAllowedEverything(given(), owner, "owner2");
    await expectAllowedEverything(given(), manager, "formerOwner");
  });

  it("lets an IAM_OWNER act on anyone, another IAM_OWNER included, without reading the members read model", async () => {
    const iamOwner = memberCaller(ORG, "admin2");
    for (const target of ["admin", "owner", "viewer2"]) await expectAllowedEverything(given(), iamOwner, target);
    // Up to RemoveUser (whose cascade reads the memberships), no query runs at all.
    const noReads = () => {
      throw new Error("read model read");
    };
    await expectAllowedEverything(given({ sql: noReads }), iamOwner, "admin", ACTS.slice(0, -1));
  });

  it("reads the memberships as they are now: a role granted a moment ago counts, and so does its removal", async () => {
    const t = given();
    await addPersonalAccessToken(t.deps, manager, "plain", undefined);
    t.given(orgMember(ORG, "plain", ["ORG_OWNER"]));
    await expect(addPersonalAccessToken(t.deps, manager, "plain", undefined)).rejects.toMatchObject(CEILING);
    t.given(orgEvent(ORG, "org.member.removed", { userId: "plain" }), iamMember("plain", ["IAM_OWNER_VIEWER"]));
    await expect(generateMachineSecret(t.deps, manager, "plain")).rejects.toMatchObject(CEILING);
    t.given(instanceEvent("instance.member.removed", { userId: "plain" }));
    await generateMachineSecret(t.deps, manager, "plain");
    expect(t.written().map((e) => e.type)).toEqual(["user.pat.added", "user.machine.secret.set"]);
  });

  it("does not bound a caller acting on itself, nor the system's own calls", async () => {
    await expectAllowedEverything(given(), manager, "manager");
    await expectAllowedEverything(given(), callerIn(ORG, "nobody"), "admin");
  });

  it("comes after the user checks: a user the caller cannot see is still not found", async () => {
    const t = given();
    await expect(addPersonalAccessToken(t.deps, manager, "stranger", undefined)).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-Dggw2" });
    await expect(changeUserState(t.deps, manager, "nobody", "deactivate")).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-3M9ds" });
    await expect(removePersonalAccessToken(t.deps, manager, "admin", "no-such-pat")).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-4m77G" });
  });
});
