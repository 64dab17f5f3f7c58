import { describe, expect, it } from "vitest";
import { createIdGenerator } from "../src/app/core/ids.js";
import { allocateNode } from "../src/server/node-slot.js";
import { migrate } from "../src/store/migrations.js";
import { openPostgres } from "../src/store/postgres-adapter.js";
import { createTestDatabase } from "./helpers/pg.js";

describe("ids", () => {
  it("are 18-19 digit decimal strings, time-ordered, unique within a millisecond burst", () => {
    let t = Date.UTC(2026, 10, 29);
    const gen = createIdGenerator(7, () => t);
    const ids = Array.from({ length: 10_000 }, () => gen()); // more than 4096 in one millisecond
    t += 5;
    ids.push(gen());
    for (const id of ids) expect(id).toMatch(/^\d{18,19}$/);
    expect(new Set(ids).size).toBe(ids.length);
    const sorted = [...ids].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    expect(sorted).toEqual(ids);
  });

  it("differ between processes: node slots are unique among live processes on one database", async () => {
    const db = await createTestDatabase();
    const sql = await openPostgres(db.url);
    try {
      await migrate(sql);
      const slots = (await Promise.all(Array.from({ length: 8 }, () => allocateNode(sql)))).map((s) => s.node);
      expect(new Set(slots).size).toBe(8);
      const t = () => Date.UTC(2026, 10, 29);
      const a = createIdGenerator(slots[0]!, t);
      const b = createIdGenerator(slots[1]!, t);
      const fromA = new Set(Array.from({ length: 1000 }, () => a()));
      for (let i = 0; i < 1000; i++) expect(fromA.has(b())).toBe(false);
    } finally {
      await sql.close();
      await db.drop();
    }
  });
});
