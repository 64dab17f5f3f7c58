import { describe, expect, it } from "vitest";
import type { AggregateCache } from "./aggregate-cache.js";
import type { Deps } from "./context.js";
import { noMetrics } from "../../telemetry/instruments.js";
import { MISS, decideWithCache, type Lookup } from "./lookup.js";

/** A cache holding `cached`, and `stored` behind it; records every load. */
function depsWith(cached: Record<string, unknown>, stored: Record<string, unknown>) {
  const loads: string[] = [];
  const cache = {
    peek: (_i: string, type: string, id: string) => cached[`${type}:${id}`],
    peekUserIdByLoginName: (_i: string, name: string) => cached[`login:${name}`],
    get: async (_i: string, type: string, id: string) => {
      loads.push(`${type}:${id}`);
      return stored[`${type}:${id}`];
    },
    userIdByLoginName: async (_i: string, name: string) => {
      loads.push(`login:${name}`);
      return stored[`login:${name}`];
    },
  } as unknown as AggregateCache;
  return { deps: { cache, instanceId: "i", metrics: noMetrics } as unknown as Deps, loads, cached };
}

/** login name → user → org, failing on an inactive org: each step needs the one before. */
function decide(_deps: Deps, name: string, lookup: Lookup) {
  const userId = lookup("login", name);
  if (userId === MISS) return MISS;
  if (userId === null) throw new Error("nobody");
  const user = lookup("user", userId);
  if (user === MISS) return MISS;
  const org = lookup("org", user.orgId);
  if (org === MISS) return MISS;
  if (org.state !== 1) throw new Error("org not active");
  return `${user.id}@${org.id}`;
}

const user = { id: "u1", orgId: "o1" };
const org = { id: "o1", state: 1 };

describe("decideWithCache", () => {
  it("answers without a promise and without a load when everything is cached", () => {
    const { deps, loads } = depsWith({ "login:m": "u1", "user:u1": user, "org:o1": org }, {});
    expect(decideWithCache(deps, decide, "m")).toBe("u1@o1");
    expect(loads).toEqual([]);
  });

  it("loads what was missing, in the order the checks ask for it, and decides again", async () => {
    const { deps, loads } = depsWith({ "user:u1": user }, { "login:m": "u1", "org:o1": org });
    const r = decideWithCache(deps, decide, "m");
    expect(r).toBeInstanceOf(Promise);
    expect(await r).toBe("u1@o1");
    expect(loads).toEqual(["login:m", "org:o1"]);
  });

  it("throws what the checks throw, and loads nothing after the check that failed", async () => {
    const nobody = depsWith({ "login:m": null }, {});
    expect(() => decideWithCache(nobody.deps, decide, "m")).toThrow("nobody");
    const inactive = depsWith({}, { "login:m": "u1", "user:u1": user, "org:o1": { ...org, state: 2 } });
    await expect(decideWithCache(inactive.deps, decide, "m")).rejects.toThrow("org not active");
    expect(inactive.loads).toEqual(["login:m", "user:u1", "org:o1"]);
    const unknown = depsWith({}, {});
    await expect(decideWithCache(unknown.deps, decide, "m")).rejects.toThrow("nobody");
    expect(unknown.loads).toEqual(["login:m"]);
  });

  it("prefers what the cache holds by the next round to what it loaded", async () => {
    const { deps, cached } = depsWith({ "login:m": "u1" }, { "user:u1": user, "org:o1": org });
    const newer = { ...user, name: "newer" };
    const seen: unknown[] = [];
    const r = decideWithCache(
      deps,
      (d, name: string, lookup) => {
        const u = lookup("user", "u1");
        seen.push(u);
        // The user was loaded; then a commit brings the cache a newer state while the org loads.
        if (u === user) cached["user:u1"] = newer;
        return decide(d, name, lookup);
      },
      "m",
    );
    expect(await r).toBe("u1@o1");
    expect(seen).toEqual([MISS, user, newer]);
  });
});
