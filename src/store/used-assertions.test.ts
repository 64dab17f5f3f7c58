import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "./migrations.js";
import { openPglite } from "./pglite-adapter.js";
import type { Row, SqlPort } from "./sql.js";
import { createUsedAssertions } from "./used-assertions.js";

// Single use of assertions, on a real (embedded) database: concurrent claims share statements
// (group commit), and every claim still gets its own, correct answer.
describe("used assertions", () => {
  let dir: string;
  let sql: SqlPort;
  const statements: string[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "used-assertions-"));
    sql = await openPglite(dir);
    await migrate(sql);
  }, 60_000);
  afterAll(async () => {
    await sql.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const counting = () => ({
    query: <T extends Row>(text: string, params?: unknown[]) => {
      if (text.includes("INSERT INTO used_assertions")) statements.push(text);
      return sql.query<T>(text, params);
    },
  });

  it("answers each of many concurrent claims once, in far fewer statements than claims", async () => {
    const used = createUsedAssertions(counting() as never);
    const now = Date.now();
    statements.length = 0;
    const ids = Array.from({ length: 200 }, (_, i) => `a-${i}`);
    const first = await Promise.all(ids.map((id) => used.claim("inst", id, now + 60_000, now)));
    expect(first.every((c) => c === true)).toBe(true);
    expect(statements.length).toBeLessThan(20);
    // Replays, some racing themselves in one batch: all refused.
    const again = await Promise.all([...ids, ...ids.slice(0, 50)].map((id) => used.claim("inst", id, now + 60_000, now)));
    expect(again.filter((c) => c)).toEqual([]);
    // Another instance's id space is its own.
    expect(await used.claim("other", "a-1", now + 60_000, now)).toBe(true);
  });

  it("lets exactly one of two claims of the same new id in one batch win", async () => {
    const used = createUsedAssertions(counting() as never);
    const now = Date.now();
    const r = await Promise.all([used.claim("inst", "twice", now + 60_000, now), used.claim("inst", "twice", now + 60_000, now)]);
    expect(r.sort()).toEqual([false, true]);
  });

  it("takes over a mark that has ended, not a live one", async () => {
    const used = createUsedAssertions(counting() as never, { pruneEveryMs: Number.POSITIVE_INFINITY });
    const now = Date.now();
    expect(await used.claim("inst", "ends", now + 1_000, now)).toBe(true);
    expect(await used.claim("inst", "ends", now + 60_000, now + 500)).toBe(false);
    expect(await used.claim("inst", "ends", now + 60_000, now + 2_000)).toBe(true);
  });

  it("fails every claim of a statement that fails, and keeps serving later ones", async () => {
    let fail = true;
    const flaky = { query: <T extends Row>(text: string, params?: unknown[]) => (fail ? Promise.reject(new Error("disk full")) : sql.query<T>(text, params)) };
    const used = createUsedAssertions(flaky as never, { pruneEveryMs: Number.POSITIVE_INFINITY });
    const now = Date.now();
    const r = await Promise.allSettled([used.claim("inst", "f1", now + 60_000, now), used.claim("inst", "f2", now + 60_000, now)]);
    expect(r.map((x) => x.status)).toEqual(["rejected", "rejected"]);
    fail = false;
    expect(await used.claim("inst", "f1", now + 60_000, now)).toBe(true);
  });
});
