import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainError } from "../src/domain/errors.js";
import { PROJECTION_TABLES } from "../src/store/migrations.js";
import { rebuildProjections } from "../src/store/rebuild.js";
import * as users from "../src/app/users/users.js";
import type { Caller } from "../src/app/core/context.js";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";

async function snapshot(s: TestServer) {
  const out: Record<string, unknown[]> = {};
  for (const t of PROJECTION_TABLES) out[t] = await s.rt.sql.query(`SELECT * FROM ${t} ORDER BY 1, 2, 3`);
  return out;
}

describe.each<Storage>(["pglite", "postgres"])("event store on %s", (storage) => {
  let s: TestServer;
  let caller: Caller;
  beforeAll(async () => {
    s = await startTestServer({ storage });
    const instance = await s.rt.deps.cache.get(s.rt.deps.instanceId, "instance", s.rt.deps.instanceId);
    const admin = (await s.rt.sql.query<{ id: string }>("SELECT id FROM proj_users WHERE username = 'admin'"))[0]!.id;
    caller = { userId: admin, resourceOwner: instance.defaultOrgId, orgId: instance.defaultOrgId };
  });
  afterAll(async () => {
    await s?.close();
  });

  it("serializes concurrent appends to one aggregate: every command applies, in order, with gapless sequences", async () => {
    const { userId } = await users.addMachineUser(s.rt.deps, caller, { userName: "concurrent", name: "C", description: "", accessTokenType: 0 });
    const results = await Promise.all(Array.from({ length: 20 }, () => users.generateMachineSecret(s.rt.deps, caller, userId)));
    const seqs = results.map((r) => r.details.sequence).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    const rows = await s.rt.sql.query<{ sequence: number; position: number }>(
      "SELECT sequence, position FROM events WHERE aggregate_id = $1 ORDER BY sequence",
      [userId],
    );
    expect(rows.map((r) => Number(r.sequence))).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    const positions = rows.map((r) => Number(r.position));
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    // The secret in force is the last one written: its sequence is the aggregate's last.
    const state = await s.rt.deps.cache.get(s.rt.deps.instanceId, "user", userId);
    expect([...state.secrets.values()].map((x) => x.sequence)).toEqual([21]);
  });

  it("rolls back the whole command when a unique claim collides", async () => {
    const before = await s.rt.store.lastPosition();
    const eventsBefore = (await s.rt.sql.query<{ n: number }>("SELECT count(*) AS n FROM events"))[0]!.n;
    const push = s.rt.store.push({
      instanceId: s.rt.deps.instanceId,
      editor: caller.userId,
      events: [
        { aggregateType: "user", aggregateId: "rollback-1", resourceOwner: caller.orgId, type: "user.machine.added", payload: { userName: "fresh-name", name: "F" } },
        { aggregateType: "user", aggregateId: "rollback-2", resourceOwner: caller.orgId, type: "user.machine.added", payload: { userName: "admin", name: "A" } },
      ],
      uniques: [
        { action: "add", type: "usernames", field: "fresh-name" },
        { action: "add", type: "usernames", field: "admin", error: { kind: "AlreadyExists", id: "V3-DKcYh", message: "User already exists" } },
      ],
      expected: new Map(),
      now: new Date(),
    });
    await expect(push).rejects.toMatchObject({ kind: "AlreadyExists", id: "V3-DKcYh" });
    await expect(push).rejects.toBeInstanceOf(DomainError);
    expect((await s.rt.sql.query<{ n: number }>("SELECT count(*) AS n FROM events"))[0]!.n).toBe(eventsBefore);
    expect(await s.rt.sql.query("SELECT * FROM proj_users WHERE id IN ('rollback-1', 'rollback-2')")).toEqual([]);
    expect(await s.rt.sql.query("SELECT * FROM unique_constraints WHERE unique_field = 'fresh-name'")).toEqual([]);
    expect(await s.rt.store.lastPosition()).toBe(before);
    // The name the failed command tried to claim is still free.
    const ok = await users.addMachineUser(s.rt.deps, caller, { userName: "fresh-name", name: "F", description: "", accessTokenType: 0 });
    expect(ok.userId).toBeTruthy();
  });

  it("a duplicate username over the API is 409 and leaves no trace", async () => {
    await users.addMachineUser(s.rt.deps, caller, { userName: "Taken", name: "T", description: "", accessTokenType: 0 });
    const dup = users.addMachineUser(s.rt.deps, caller, { userName: "taken", name: "T2", description: "", accessTokenType: 0, userId: "dup-id" });
    await expect(dup).rejects.toMatchObject({ kind: "AlreadyExists", id: "V3-DKcYh", message: "User already exists" });
    expect(await s.rt.sql.query("SELECT 1 FROM events WHERE aggregate_id = 'dup-id'")).toEqual([]);
  });

  it("rebuilding the projections reproduces the inline tables exactly", async () => {
    const { userId } = await users.addMachineUser(s.rt.deps, caller, { userName: "rebuild-me", name: "R", description: "d", accessTokenType: 1 });
    await users.generateMachineSecret(s.rt.deps, caller, userId);
    await users.updateMachine(s.rt.deps, caller, { userId, name: "R2", description: "", accessTokenType: 0 });
    await users.changeUserState(s.rt.deps, caller, userId, "lock");
    await users.removeMachineSecret(s.rt.deps, caller, userId);
    const { userId: gone } = await users.addMachineUser(s.rt.deps, caller, { userName: "remove-me", name: "X", description: "", accessTokenType: 0 });
    await users.removeUser(s.rt.deps, caller, gone);
    const inline = await snapshot(s);
    expect(inline.proj_users!.length).toBeGreaterThan(3);
    const n = await rebuildProjections(s.rt.sql);
    expect(n).toBeGreaterThan(10);
    expect(await snapshot(s)).toEqual(inline);
  });
});
