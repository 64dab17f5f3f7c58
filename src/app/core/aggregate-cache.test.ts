import { describe, expect, it } from "vitest";
import type { StoredEvent } from "../../domain/events.js";
import { UserEvents } from "../../domain/users/user.js";
import type { EventStore } from "../../store/event-store.js";
import { createAggregateCache } from "./aggregate-cache.js";

/** An in-memory event store: what the cache needs of one (load, onCommitted). */
function fakeStore() {
  const events: StoredEvent[] = [];
  const listeners: ((e: StoredEvent[]) => void)[] = [];
  let loads = 0;
  const store = {
    load: async (instanceId: string, type: string, id: string) => {
      loads++;
      return events.filter((e) => e.instanceId === instanceId && e.aggregateType === type && e.aggregateId === id);
    },
    onCommitted: (l: (e: StoredEvent[]) => void) => listeners.push(l),
    sql: { query: async () => [] },
  } as unknown as EventStore;
  const append = (instanceId: string, id: string, type: string, payload: Record<string, unknown> = {}) => {
    const sequence = events.filter((e) => e.instanceId === instanceId && e.aggregateId === id).length + 1;
    const e: StoredEvent = { instanceId, aggregateType: "user", aggregateId: id, sequence, position: events.length + 1, type, payload, editor: "x", resourceOwner: "org1", createdAt: new Date() };
    events.push(e);
    for (const l of listeners) l([e]);
    return e;
  };
  return { store, append, loads: () => loads };
}

describe("aggregate cache", () => {
  it("peek sees exactly what get cached, per instance, type and id, and follows every eviction", async () => {
    const { store, append, loads } = fakeStore();
    const cache = createAggregateCache(store);
    append("i1", "u:1/x", UserEvents.machineAdded, { userName: "a", name: "A" });
    append("i2", "u:1/x", UserEvents.machineAdded, { userName: "b", name: "B" });
    expect(cache.peek("i1", "user", "u:1/x")).toBeUndefined();
    const a = await cache.get("i1", "user", "u:1/x");
    expect(a.userName).toBe("a");
    expect(cache.peek("i1", "user", "u:1/x")).toBe(a);
    expect(cache.peek("i2", "user", "u:1/x")).toBeUndefined();
    expect(cache.peek("i1", "org", "u:1/x")).toBeUndefined();
    const b = await cache.get("i2", "user", "u:1/x");
    expect(cache.peek("i2", "user", "u:1/x")).toBe(b);
    expect(cache.size).toBe(2);

    // This process's commit brings the cached state forward in place.
    append("i1", "u:1/x", UserEvents.machineChanged, { name: "A2" });
    expect(cache.peek("i1", "user", "u:1/x")?.name).toBe("A2");
    // Another process's commit evicts (the key form notices use), and only that entry.
    cache.applyNotice({ i: "i1", a: ["user:u:1/x"], p: 3, c: "9:1" });
    expect(cache.peek("i1", "user", "u:1/x")).toBeUndefined();
    expect(cache.peek("i2", "user", "u:1/x")).toBe(b);
    cache.evict("i2", "user", "u:1/x");
    expect(cache.peek("i2", "user", "u:1/x")).toBeUndefined();
    expect(cache.size).toBe(0);
    const before = loads();
    await cache.get("i2", "user", "u:1/x");
    expect(loads()).toBe(before + 1);
    cache.clear();
    expect(cache.peek("i2", "user", "u:1/x")).toBeUndefined();
  });

  it("keeps at most maxEntries, dropping the oldest from both views", async () => {
    const { store, append } = fakeStore();
    const cache = createAggregateCache(store, { maxEntries: 3 });
    for (let i = 0; i < 5; i++) append("i", `u${i}`, UserEvents.machineAdded, { userName: `n${i}` });
    for (let i = 0; i < 5; i++) await cache.get("i", "user", `u${i}`);
    expect(cache.size).toBe(3);
    expect([0, 1, 2, 3, 4].map((i) => cache.peek("i", "user", `u${i}`) !== undefined)).toEqual([false, false, true, true, true]);
  });

  it("peeks nothing while the cache may not be trusted", async () => {
    const { store, append } = fakeStore();
    let trusted = true;
    const cache = createAggregateCache(store, { trusted: () => trusted });
    append("i", "u", UserEvents.machineAdded, { userName: "n" });
    await cache.get("i", "user", "u");
    trusted = false;
    expect(cache.peek("i", "user", "u")).toBeUndefined();
    trusted = true;
    expect(cache.peek("i", "user", "u")).toBeDefined();
  });
});

describe("app client ids", () => {
  it("keeps a found client id; forgets 'no such app' on a project commit here or a project notice from another process", async () => {
    const { store } = fakeStore();
    const known = new Map<string, string>();
    let queries = 0;
    const apps = {
      projectIdByClientId: async (_i: string, clientId: string) => {
        queries++;
        return known.get(clientId);
      },
    };
    const cache = createAggregateCache(store, { apps });
    expect(cache.peekProjectIdByClientId("i1", "c1@p")).toBeUndefined();
    expect(await cache.projectIdByClientId("i1", "c1@p")).toBeUndefined();
    expect(cache.peekProjectIdByClientId("i1", "c1@p")).toBeNull();
    known.set("c1@p", "p1");
    // Another process added the app: its notice names the project.
    cache.applyNotice({ i: "i1", a: ["project:p1"], p: 1, c: "9:1" });
    expect(cache.peekProjectIdByClientId("i1", "c1@p")).toBeUndefined();
    expect(await cache.projectIdByClientId("i1", "c1@p")).toBe("p1");
    expect(cache.peekProjectIdByClientId("i1", "c1@p")).toBe("p1");
    // A found id stays (a client id never moves); user notices do not touch the index.
    cache.applyNotice({ i: "i1", a: ["user:u1", "project:p1"], p: 2, c: "9:2" });
    expect(cache.peekProjectIdByClientId("i1", "c1@p")).toBe("p1");
    expect(cache.peekProjectIdByClientId("i2", "c1@p")).toBeUndefined();
    expect(queries).toBe(2);
  });
});
