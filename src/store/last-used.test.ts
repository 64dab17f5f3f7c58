import { describe, expect, it } from "vitest";
import { createLastUsed } from "./last-used.js";
import type { Queryable } from "./sql.js";

/** Records what would be written: rows of (instance, kind, user, credential, minute). */
function recordingDb() {
  const rows: unknown[][] = [];
  const db: Queryable = {
    query: async (_sql, params = []) => {
      for (let i = 0; i < params.length; i += 5) rows.push(params.slice(i, i + 5));
      return [];
    },
  };
  return { db, rows };
}

const MINUTE = 60_000;

describe("last-used tracking", () => {
  it("forgets credentials used in earlier minutes: one-off credentials do not accumulate", async () => {
    const { db, rows } = recordingDb();
    const lu = createLastUsed(db, { intervalMs: 3_600_000, enabled: true });
    const t0 = 1_700_000_000_000 - (1_700_000_000_000 % MINUTE);
    // Minute after minute, 1000 credentials used once each (a rotated secret, a removed PAT).
    for (let m = 0; m < 5; m++) {
      for (let i = 0; i < 1000; i++) lu.touch("inst", "secret", `user-${m}-${i}`, `cred-${m}-${i}`, t0 + m * MINUTE + i);
      expect(lu.tracked).toBe(1000);
    }
    expect(await lu.flush()).toBe(5000);
    expect(rows).toHaveLength(5000);
    await lu.close();
  });

  it("still writes a credential at most once per minute, and again in the next minute", async () => {
    const { db, rows } = recordingDb();
    const lu = createLastUsed(db, { intervalMs: 3_600_000, enabled: true });
    const t0 = 1_700_000_000_000 - (1_700_000_000_000 % MINUTE);
    lu.touch("inst", "pat", "u1", "p1", t0 + 1_000);
    lu.touch("inst", "pat", "u1", "p1", t0 + 59_000);
    await lu.flush();
    expect(rows).toEqual([["inst", "pat", "u1", "p1", new Date(t0)]]);
    lu.touch("inst", "pat", "u1", "p1", t0 + 59_500);
    expect(await lu.flush()).toBe(0);
    // Another credential's use in the next minute turns the minute; p1's next use is written again.
    lu.touch("inst", "key", "u2", "k1", t0 + MINUTE + 1);
    lu.touch("inst", "pat", "u1", "p1", t0 + MINUTE + 2);
    expect(lu.tracked).toBe(2);
    await lu.flush();
    expect(rows.slice(1)).toEqual([
      ["inst", "key", "u2", "k1", new Date(t0 + MINUTE)],
      ["inst", "pat", "u1", "p1", new Date(t0 + MINUTE)],
    ]);
    await lu.close();
  });
});
