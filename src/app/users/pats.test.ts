import { describe, expect, it } from "vitest";
import { keyedHash } from "../../crypto/keys.js";
import { readPersonalAccessToken } from "../../crypto/tokens.js";
import { NOW, callerIn, createHarness, orgEvent, userEvent, when } from "../core/testing/given.js";
import { addPersonalAccessToken, removePersonalAccessToken } from "./pats.js";

const ORG = "org1";
const caller = callerIn(ORG);
const SCOPES = ["openid", "profile", "urn:zitadel:iam:user:metadata", "urn:zitadel:iam:user:resourceowner"];

function given() {
  const t = createHarness({ ids: ["pat1"] });
  t.given(
    orgEvent(ORG, "org.added", { name: "Acme" }),
    userEvent("u1", ORG, "user.machine.added", { userName: "bot", name: "Bot" }),
    userEvent("h1", ORG, "user.human.added", { userName: "alice", displayName: "Alice" }),
    userEvent("other", "org2", "user.machine.added", { userName: "other", name: "O" }),
  );
  return t;
}

describe("addPersonalAccessToken", () => {
  it("writes user.pat.added with the fixed scopes, the default expiry and only the token's keyed hash", async () => {
    const t = given();
    const r = await addPersonalAccessToken(t.deps, caller, "u1", undefined);
    expect(r.tokenId).toBe("pat1");
    expect(r.details).toEqual({ sequence: 2, creationDate: NOW, resourceOwner: ORG });
    expect(readPersonalAccessToken(r.token)).toEqual({ tokenId: "pat1", userId: "u1" });
    expect(t.written()).toEqual([
      {
        aggregateType: "user",
        aggregateId: "u1",
        resourceOwner: ORG,
        sequence: 2,
        type: "user.pat.added",
        payload: { tokenId: "pat1", expiration: "9999-12-31T23:59:59.000Z", scopes: SCOPES, tokenHash: keyedHash(t.deps.keys.hmac, r.token) },
      },
    ]);
    expect(t.writtenClaims()).toEqual([]);
  });

  it("stores the expiration given", async () => {
    const t = given();
    await addPersonalAccessToken(t.deps, caller, "u1", new Date("2030-01-02T03:04:05Z"));
    expect(t.written()[0]!.payload.expiration).toBe("2030-01-02T03:04:05.000Z");
  });

  it("may be added to a locked or deactivated machine", async () => {
    const t = given();
    t.given(userEvent("u1", ORG, "user.locked"), userEvent("u1", ORG, "user.deactivated"));
    const r = await addPersonalAccessToken(t.deps, caller, "u1", undefined);
    expect(r.details.sequence).toBe(4);
  });

  it("refuses an expiration in the past before looking at the user (DOMAIN-dv3t5)", async () => {
    const t = given();
    const past = new Date(NOW.getTime() - 1000);
    await expect(when(() => addPersonalAccessToken(t.deps, caller, "nobody", past))).rejects.toMatchObject({
      kind: "InvalidArgument",
      id: "DOMAIN-dv3t5",
      message: "Errors.AuthNKey.ExpireBeforeNow",
    });
    expect(t.pushes).toEqual([]);
  });

  it("refuses unknown, removed and other orgs' users (COMMAND-Dggw2) and humans (COMMAND-Df2f1)", async () => {
    const t = given();
    t.given(userEvent("gone", ORG, "user.machine.added", { userName: "g", name: "G" }), userEvent("gone", ORG, "user.removed"));
    for (const id of ["nobody", "gone", "other"])
      await expect(addPersonalAccessToken(t.deps, caller, id, undefined)).rejects.toMatchObject({
        kind: "FailedPrecondition",
        id: "COMMAND-Dggw2",
        message: "User could not be found",
      });
    await expect(addPersonalAccessToken(t.deps, caller, "h1", undefined)).rejects.toMatchObject({
      kind: "FailedPrecondition",
      id: "COMMAND-Df2f1",
      message: "Not allowed for this user type",
    });
    expect(t.pushes).toEqual([]);
  });
});

describe("removePersonalAccessToken", () => {
  const patAdded = (userId: string, orgId: string, tokenId: string) =>
    userEvent(userId, orgId, "user.pat.added", { tokenId, expiration: "9999-12-31T23:59:59.000Z", scopes: SCOPES, tokenHash: "h" });

  it("writes user.pat.removed with the token id", async () => {
    const t = given();
    t.given(patAdded("u1", ORG, "p1"), patAdded("u1", ORG, "p2"));
    const d = await removePersonalAccessToken(t.deps, caller, "u1", "p1");
    expect(d).toEqual({ sequence: 4, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([{ aggregateType: "user", aggregateId: "u1", resourceOwner: ORG, sequence: 4, type: "user.pat.removed", payload: { tokenId: "p1" } }]);
    const u = await t.deps.cache.get(t.instanceId, "user", "u1");
    expect([...u.pats.keys()]).toEqual(["p2"]);
  });

  it("does not find a token that is not the user's, already removed, or of another org's user (COMMAND-4m77G)", async () => {
    const t = given();
    t.given(patAdded("u1", ORG, "p1"), userEvent("u1", ORG, "user.pat.removed", { tokenId: "p1" }), patAdded("other", "org2", "p3"));
    t.given(userEvent("u2", ORG, "user.machine.added", { userName: "bot2", name: "B" }), patAdded("u2", ORG, "p2"));
    for (const [userId, tokenId] of [
      ["u1", "p1"],
      ["u1", "p2"],
      ["u1", "nothing"],
      ["other", "p3"],
      ["nobody", "p1"],
    ] as const)
      await expect(removePersonalAccessToken(t.deps, caller, userId, tokenId)).rejects.toMatchObject({
        kind: "NotFound",
        id: "COMMAND-4m77G",
        message: "Personal Access Token not found",
      });
    expect(t.pushes).toEqual([]);
  });
});
