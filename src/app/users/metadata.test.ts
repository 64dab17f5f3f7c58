import { describe, expect, it } from "vitest";
import { GIVEN_AT, NOW, callerIn, createHarness, orgEvent, userEvent } from "../core/testing/given.js";
import { bulkRemoveUserMetadata, bulkSetUserMetadata, removeUserMetadata, setUserMetadata } from "./metadata.js";

const ORG = "org1";
const caller = callerIn(ORG);
const bytes = (s: string) => new Uint8Array(Buffer.from(s));
const b64 = (s: string) => Buffer.from(s).toString("base64");
const mdSet = (key: string, value: string, at?: Date) => ({ ...userEvent("u1", ORG, "user.metadata.set", { key, value: b64(value) }), createdAt: at });
const mdRemoved = (key: string) => userEvent("u1", ORG, "user.metadata.removed", { key });
const written = (sequence: number, type: string, payload: Record<string, unknown>) => ({ aggregateType: "user", aggregateId: "u1", resourceOwner: ORG, sequence, type, payload });

function given() {
  const t = createHarness();
  t.given(
    orgEvent(ORG, "org.added", { name: "Acme" }),
    userEvent("u1", ORG, "user.machine.added", { userName: "bot", name: "Bot" }),
    userEvent("other", "org2", "user.machine.added", { userName: "other", name: "O" }),
  );
  return t;
}

const userNotFound = { kind: "FailedPrecondition", id: "COMMAND-uXHNj", message: "User could not be found" };
const listEmpty = { kind: "FailedPrecondition", id: "META-9mm2d", message: "Metadata list is empty" };
const invalid = { kind: "InvalidArgument", id: "META-2ml0f", message: "Metadata is invalid" };

describe("setUserMetadata", () => {
  it("writes user.metadata.set with the value base64-encoded and answers creationDate", async () => {
    const t = given();
    const d = await setUserMetadata(t.deps, caller, "u1", "color", bytes("blue"));
    expect(d).toEqual({ sequence: 2, creationDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([written(2, "user.metadata.set", { key: "color", value: b64("blue") })]);
  });

  it("overwrites a different value", async () => {
    const t = given();
    t.given(mdSet("color", "blue"));
    await setUserMetadata(t.deps, caller, "u1", "color", bytes("green"));
    expect(t.written()).toEqual([written(3, "user.metadata.set", { key: "color", value: b64("green") })]);
  });

  it("writes nothing for the value the key already has and answers that entry's sequence and date", async () => {
    const t = given();
    const at = new Date("2025-02-03T04:05:06.000Z");
    t.given(mdSet("color", "red"), mdSet("color", "blue", at), mdSet("size", "xl"));
    const d = await setUserMetadata(t.deps, caller, "u1", "color", bytes("blue"));
    expect(d).toEqual({ sequence: 3, creationDate: at, resourceOwner: ORG });
    expect(t.pushes).toEqual([]);
  });

  it("refuses an empty key or value (META-2ml0f) and users outside the org (COMMAND-uXHNj)", async () => {
    const t = given();
    await expect(setUserMetadata(t.deps, caller, "u1", "", bytes("v"))).rejects.toMatchObject(invalid);
    await expect(setUserMetadata(t.deps, caller, "u1", "k", new Uint8Array())).rejects.toMatchObject(invalid);
    for (const id of ["nobody", "other"]) await expect(setUserMetadata(t.deps, caller, id, "k", bytes("v"))).rejects.toMatchObject(userNotFound);
    expect(t.pushes).toEqual([]);
  });
});

describe("bulkSetUserMetadata", () => {
  it("writes one event per changed entry in request order, skipping unchanged ones, in one push", async () => {
    const t = given();
    t.given(mdSet("env", "prod"));
    const d = await bulkSetUserMetadata(t.deps, caller, "u1", [
      { key: "env", value: bytes("prod") },
      { key: "team", value: bytes("payments") },
      { key: "region", value: bytes("eu") },
    ]);
    expect(d).toEqual({ sequence: 4, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([
      written(3, "user.metadata.set", { key: "team", value: b64("payments") }),
      written(4, "user.metadata.set", { key: "region", value: b64("eu") }),
    ]);
    expect(t.pushes).toHaveLength(1);
  });

  it("within one request, a repeated key and value is written once and a changed one again", async () => {
    const t = given();
    await bulkSetUserMetadata(t.deps, caller, "u1", [
      { key: "a", value: bytes("1") },
      { key: "a", value: bytes("1") },
      { key: "a", value: bytes("2") },
    ]);
    expect(t.written().map((e) => e.payload)).toEqual([
      { key: "a", value: b64("1") },
      { key: "a", value: b64("2") },
    ]);
  });

  it("when nothing changes, writes nothing and answers the user's latest metadata event (a removal counts)", async () => {
    const t = given();
    t.given(mdSet("env", "prod"), mdSet("gone", "x"), mdRemoved("gone"));
    const d = await bulkSetUserMetadata(t.deps, caller, "u1", [{ key: "env", value: bytes("prod") }]);
    expect(d).toEqual({ sequence: 4, changeDate: new Date(GIVEN_AT.getTime() + 5000), resourceOwner: ORG });
    expect(t.pushes).toEqual([]);
  });

  it("refuses an empty list before looking at the user, an invalid entry, and users outside the org; writes nothing", async () => {
    const t = given();
    await expect(bulkSetUserMetadata(t.deps, caller, "nobody", [])).rejects.toMatchObject(listEmpty);
    await expect(bulkSetUserMetadata(t.deps, caller, "u1", [{ key: "ok", value: bytes("v") }, { key: "", value: bytes("v") }])).rejects.toMatchObject(invalid);
    await expect(bulkSetUserMetadata(t.deps, caller, "u1", [{ key: "k", value: new Uint8Array() }])).rejects.toMatchObject(invalid);
    for (const id of ["nobody", "other"])
      await expect(bulkSetUserMetadata(t.deps, caller, id, [{ key: "k", value: bytes("v") }])).rejects.toMatchObject(userNotFound);
    expect(t.pushes).toEqual([]);
  });
});

describe("removeUserMetadata", () => {
  it("writes user.metadata.removed with the key", async () => {
    const t = given();
    t.given(mdSet("color", "blue"));
    const d = await removeUserMetadata(t.deps, caller, "u1", "color");
    expect(d).toEqual({ sequence: 3, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([written(3, "user.metadata.removed", { key: "color" })]);
  });

  it("does not find a missing or removed key (META-ncnw3), nor users outside the org (COMMAND-uXHNj)", async () => {
    const t = given();
    t.given(mdSet("color", "blue"), mdRemoved("color"));
    for (const key of ["color", "never"])
      await expect(removeUserMetadata(t.deps, caller, "u1", key)).rejects.toMatchObject({ kind: "NotFound", id: "META-ncnw3", message: "Metadata not found" });
    await expect(removeUserMetadata(t.deps, caller, "other", "color")).rejects.toMatchObject(userNotFound);
    expect(t.pushes).toEqual([]);
  });
});

describe("bulkRemoveUserMetadata", () => {
  it("writes one user.metadata.removed per distinct key, in request order", async () => {
    const t = given();
    t.given(mdSet("a", "1"), mdSet("b", "2"), mdSet("c", "3"));
    const d = await bulkRemoveUserMetadata(t.deps, caller, "u1", ["c", "a", "c"]);
    expect(d).toEqual({ sequence: 6, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([written(5, "user.metadata.removed", { key: "c" }), written(6, "user.metadata.removed", { key: "a" })]);
  });

  it("removes nothing when one key is missing (META-2nnds)", async () => {
    const t = given();
    t.given(mdSet("a", "1"));
    await expect(bulkRemoveUserMetadata(t.deps, caller, "u1", ["a", "missing"])).rejects.toMatchObject({
      kind: "NotFound",
      id: "META-2nnds",
      message: "One or more keys do not exist",
    });
    expect(t.pushes).toEqual([]);
  });

  it("refuses an empty list before looking at the user, an empty key, and users outside the org", async () => {
    const t = given();
    t.given(mdSet("a", "1"));
    await expect(bulkRemoveUserMetadata(t.deps, caller, "nobody", [])).rejects.toMatchObject(listEmpty);
    await expect(bulkRemoveUserMetadata(t.deps, caller, "u1", ["a", ""])).rejects.toMatchObject({ kind: "InvalidArgument", id: "COMMAND-m19ds", message: "Metadata is invalid" });
    await expect(bulkRemoveUserMetadata(t.deps, caller, "other", ["a"])).rejects.toMatchObject(userNotFound);
    expect(t.pushes).toEqual([]);
  });
});
