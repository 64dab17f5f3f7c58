import { describe, expect, it } from "vitest";
import { ConcurrencyConflict } from "../../../store/event-store.js";
import { GIVEN_AT, INSTANCE_ID, NOW, createHarness, userEvent } from "./given.js";

// The harness's store keeps the event store's rules (src/store/event-store.ts); if it drifted, the
// command tests built on it would pass for the wrong reasons.

const push = (t: ReturnType<typeof createHarness>, expected: [string, number][], uniques: { action: "add" | "remove"; type: string; field: string; global?: boolean; error?: { kind: "AlreadyExists"; id: string; message: string } }[] = []) =>
  t.deps.store.push({
    instanceId: INSTANCE_ID,
    editor: "ed",
    events: [userEvent("u1", "org1", "user.locked"), userEvent("u1", "org1", "user.unlocked")],
    uniques,
    expected: new Map(expected),
    now: NOW,
  });

describe("given/when/then harness store", () => {
  it("numbers given events per aggregate, one second apart from GIVEN_AT, and loads them in order", async () => {
    const t = createHarness();
    t.given(userEvent("u1", "org1", "user.machine.added", { userName: "a", name: "A" }), userEvent("u2", "org1", "user.machine.added"), userEvent("u1", "org1", "user.locked"));
    const loaded = await t.deps.store.load(INSTANCE_ID, "user", "u1");
    expect(loaded.map((e) => [e.sequence, e.type, e.createdAt])).toEqual([
      [1, "user.machine.added", GIVEN_AT],
      [2, "user.locked", new Date(GIVEN_AT.getTime() + 2000)],
    ]);
  });

  it("appends after the expected sequence, or after the last one when none is expected; stamps the push's instant", async () => {
    const t = createHarness();
    t.given(userEvent("u1", "org1", "user.machine.added"));
    const stored = await push(t, [["user:u1", 1]]);
    expect(stored.map((e) => [e.sequence, e.createdAt, e.editor])).toEqual([
      [2, NOW, "ed"],
      [3, NOW, "ed"],
    ]);
    expect((await push(t, [])).map((e) => e.sequence)).toEqual([4, 5]);
  });

  it("refuses an outdated expected sequence with ConcurrencyConflict and writes nothing, claims included", async () => {
    const t = createHarness();
    t.given(userEvent("u1", "org1", "user.machine.added"), userEvent("u1", "org1", "user.locked"));
    await expect(push(t, [["user:u1", 1]], [{ action: "add", type: "x", field: "f" }])).rejects.toBeInstanceOf(ConcurrencyConflict);
    expect([t.stream("user", "u1").length, t.claimed("x", "f"), t.written()]).toEqual([2, false, []]);
  });

  it("raises a taken claim's own error (or EVENT-unique) and undoes the claims the push made before it", async () => {
    const t = createHarness();
    t.givenClaims({ type: "usernames", field: "old" }, { type: "usernames", field: "taken" }, { type: "instance", field: "first", global: true });
    const err = { kind: "AlreadyExists" as const, id: "V3-DKcYh", message: "User already exists" };
    await expect(
      push(t, [], [
        { action: "remove", type: "usernames", field: "old" },
        { action: "add", type: "usernames", field: "new" },
        { action: "add", type: "usernames", field: "taken", error: err },
      ]),
    ).rejects.toMatchObject({ name: "DomainError", ...err });
    expect([t.claimed("usernames", "old"), t.claimed("usernames", "new"), t.claimed("usernames", "taken")]).toEqual([true, false, true]);
    await expect(push(t, [], [{ action: "add", type: "instance", field: "first", global: true }])).rejects.toMatchObject({ kind: "AlreadyExists", id: "EVENT-unique" });
    // A global claim is not the instance's claim of the same name.
    expect([t.claimed("instance", "first", true), t.claimed("instance", "first")]).toEqual([true, false]);
    expect(t.pushes.map((p) => p.committed)).toEqual([false, false]);
  });

  it("writes nothing for a push without events, and stores payloads as JSON would", async () => {
    const t = createHarness();
    expect(await t.deps.store.push({ instanceId: INSTANCE_ID, editor: "ed", events: [], expected: new Map(), now: NOW })).toEqual([]);
    await t.deps.store.push({
      instanceId: INSTANCE_ID,
      editor: "ed",
      events: [{ ...userEvent("u1", "org1", "user.machine.added"), payload: { userName: "a", description: undefined, at: new Date(0) } }],
      expected: new Map(),
      now: NOW,
    });
    expect(t.written()).toEqual([
      { aggregateType: "user", aggregateId: "u1", resourceOwner: "org1", sequence: 1, type: "user.machine.added", payload: { userName: "a", at: "1970-01-01T00:00:00.000Z" } },
    ]);
  });

  it("hands out the given ids first, then id1, id2, …, and a fixed clock", () => {
    const t = createHarness({ ids: ["a", "b"] });
    expect([t.deps.newId(), t.deps.newId(), t.deps.newId(), t.deps.newId()]).toEqual(["a", "b", "id1", "id2"]);
    expect(t.deps.clock()).toEqual(NOW);
    expect(t.deps.clock()).not.toBe(t.deps.clock());
  });

  it("fails a read-model query unless the test stubs it", async () => {
    await expect(createHarness().deps.store.sql.query("SELECT 1 FROM proj_users")).rejects.toThrow(/no read model.*proj_users/);
  });
});
