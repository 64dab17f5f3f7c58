import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainError } from "../src/domain/errors.js";
import type { NewEvent, UniqueClaim } from "../src/domain/events.js";
import { ConcurrencyConflict, EVENTS_CHANNEL, createEventStore, type CommitNotice, type EventStore, type PushRequest } from "../src/store/event-store.js";
import { NotInlinable, inline, literal } from "../src/store/literal.js";
import { migrate } from "../src/store/migrations.js";
import { openPostgres } from "../src/store/postgres-adapter.js";
import { openPglite } from "../src/store/pglite-adapter.js";
import type { SqlPort } from "../src/store/sql.js";
import { createTestDatabase } from "./helpers/pg.js";

const NASTY = [
  "",
  "plain",
  "it's",
  "''",
  "back\\slash",
  "\\'",
  "ends with \\",
  "E'x'",
  "$1 $2 $$ $tag$ dollar",
  "'; DROP TABLE events; --",
  "unicode: ünïcødé 漢字 𝄞 🎉 \u200d \u202e rtl",
  "line\nbreak\ttab\r",
  '{"json": "in a string", "q": "\\"quoted\\""}',
];

const PAYLOAD = {
  s: NASTY,
  nested: { "key with 'quote'": "v\\", emoji: "🎉", esc: "\u0001\u001f", num: 1.5, big: 12345678901234, t: true, n: null },
  arr: [[], {}, ["a'b", "c\\d"]],
};

function secretSet(id: string, payload: Record<string, unknown> = {}): NewEvent {
  return { aggregateType: "user", aggregateId: id, resourceOwner: "org1", type: "user.machine.secret.set", payload };
}

describe("one-round-trip appends on PostgreSQL", () => {
  let sql: SqlPort;
  let store: EventStore;
  let drop: () => Promise<void>;
  const notices: CommitNotice[] = [];
  let unlisten: () => Promise<void>;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    sql = await openPostgres(db.url);
    await migrate(sql);
    store = createEventStore(sql, 5);
    unlisten = await sql.listen(EVENTS_CHANNEL, (p) => notices.push(JSON.parse(p) as CommitNotice));
  });

  afterAll(async () => {
    await unlisten?.();
    await sql?.close();
    await drop?.();
  });

  it("literals of quotes, backslashes, dollars, unicode and control characters read back exactly", async () => {
    for (const s of NASTY) {
      const rows = await sql.query<{ v: string }>(`SELECT ${literal(s)}::text AS v`);
      expect(rows[0]!.v).toBe(s);
    }
    const [r] = await sql.query<{ b: Buffer; t: Date; n: string; f: boolean }>(
      inline("SELECT $1::bytea AS b, $2::timestamptz AS t, $3::bigint::text AS n, $4::boolean AS f", [
        Buffer.from([0, 1, 92, 39, 255]),
        new Date("2026-01-02T03:04:05.678Z"),
        123456789012345,
        false,
      ]),
    );
    expect([...r!.b]).toEqual([0, 1, 92, 39, 255]);
    expect(r!.t.toISOString()).toBe("2026-01-02T03:04:05.678Z");
    expect(r!.n).toBe("123456789012345");
    expect(r!.f).toBe(false);
    expect(() => literal("a\0b")).toThrow(NotInlinable);
    expect(() => literal({})).toThrow(NotInlinable);
    expect(() => literal(new Date("20000-01-01T00:00:00Z"))).toThrow(NotInlinable);
    // A literal is never rescanned for placeholders.
    expect(inline("SELECT $1, $2", ["$2", "x"])).toBe("SELECT '$2', 'x'");
  });

  it("a JSON payload and every column round-trip exactly, with the position the notice announces", async () => {
    const editor = "ed'i\\tor 🎉";
    const stored = await store.push(req([secretSet("u-json", PAYLOAD), secretSet("u-json", { second: "it's" })], { "user:u-json": 0 }, undefined, editor));
    const loaded = await store.load("inst", "user", "u-json");
    expect(loaded).toEqual(stored);
    expect(loaded[0]!.payload).toEqual(PAYLOAD);
    expect(loaded.map((e) => e.sequence)).toEqual([1, 2]);
    expect(loaded[0]!.editor).toBe(editor);
    expect(loaded[0]!.createdAt.toISOString()).toBe("2026-03-04T05:06:07.891Z");
    await waitFor(() => notices.some((n) => n.a.includes("user:u-json")));
    const n = notices.find((x) => x.a.includes("user:u-json"))!;
    expect(n).toEqual({ i: "inst", a: ["user:u-json"], c: expect.stringMatching(/^5:\d+$/), p: stored[1]!.position });
  });

  it("a taken claim raises the claim's own error and writes nothing at all", async () => {
    await store.push(req([secretSet("u-claim-1")], { "user:u-claim-1": 0 }, [{ action: "add", type: "username", field: "taken" }]));
    const err = { kind: "AlreadyExists" as const, id: "TEST-taken", message: "name taken" };
    const e = await store
      .push(
        req([secretSet("u-claim-2"), secretSet("u-claim-3")], { "user:u-claim-2": 0, "user:u-claim-3": 0 }, [
          { action: "add", type: "username", field: "fresh" },
          { action: "remove", type: "username", field: "taken" },
          { action: "add", type: "username", field: "taken2" },
          { action: "add", type: "username", field: "taken" },
        ]),
      )
      .catch((x: unknown) => x);
    // "taken" was removed by the same push first: so it is free again and this push succeeds.
    expect(e).not.toBeInstanceOf(Error);
    const e2 = await store
      .push(req([secretSet("u-claim-4")], { "user:u-claim-4": 0 }, [{ action: "add", type: "username", field: "other" }, { action: "add", type: "username", field: "fresh", error: err }]))
      .catch((x: unknown) => x);
    expect(e2).toBeInstanceOf(DomainError);
    expect(e2).toMatchObject({ kind: "AlreadyExists", id: "TEST-taken" });
    expect(await store.load("inst", "user", "u-claim-4")).toEqual([]);
    expect(await sql.query("SELECT 1 FROM unique_constraints WHERE unique_field = 'other'")).toEqual([]);
  });

  it("a sequence conflict is a ConcurrencyConflict and writes nothing", async () => {
    await store.push(req([secretSet("u-seq")], { "user:u-seq": 0 }));
    const e = await store
      .push(req([secretSet("u-seq-other"), secretSet("u-seq")], { "user:u-seq": 0, "user:u-seq-other": 0 }, [{ action: "add", type: "t", field: "seq" }]))
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConcurrencyConflict);
    expect(await store.load("inst", "user", "u-seq-other")).toEqual([]);
    expect(await sql.query("SELECT 1 FROM unique_constraints WHERE unique_field = 'seq'")).toEqual([]);
  });

  it("a value PostgreSQL refuses is InvalidArgument, through either path, and writes nothing", async () => {
    for (const [id, editor, payload] of [
      ["u-nul-json", "e", { s: "a\0b" }], // inlined: jsonb refuses \u0000
      ["u-nul-raw", "e\0", {}], // not inlinable: parameters, text refuses NUL
    ] as const) {
      const e = await store.push(req([secretSet(id, payload)], { [`user:${id}`]: 0 }, undefined, editor)).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(DomainError);
      expect(e).toMatchObject({ kind: "InvalidArgument" });
      expect(await store.load("inst", "user", id)).toEqual([]);
    }
  });

  it("concurrent pushes commit together; a conflicting or refused one fails alone and the rest are exact", async () => {
    const before = notices.length;
    const results = await concurrentPushes(store);
    // One notice per committed push, announcing that push's aggregate and last position.
    const ok = results.flatMap((r) => (r.status === "fulfilled" ? [r.value.at(-1)!] : []));
    // (Notices of the setup pushes may still be arriving: leave them out.)
    const ofThese = () => notices.slice(before).filter((n) => n.a[0] !== "user:g-conflict" && n.a[0] !== "user:g-x");
    await waitFor(() => ofThese().length >= ok.length);
    await new Promise((r) => setTimeout(r, 100));
    const mine = ofThese();
    expect(mine.length).toBe(ok.length);
    const key = (a: string, p: number) => `${a}@${p}`;
    expect(new Set(mine.map((n) => key(n.a[0]!, n.p)))).toEqual(new Set(ok.map((e) => key(`user:${e.aggregateId}`, e.position))));
  });
});

const req = (events: NewEvent[], expected: Record<string, number>, uniques?: UniqueClaim[], editor = "editor"): PushRequest => ({
  instanceId: "inst",
  editor,
  events,
  uniques,
  expected: new Map(Object.entries(expected)),
  now: new Date("2026-03-04T05:06:07.891Z"),
});

/** 60 pushes at once, with a sequence conflict, a taken claim, a refused value and a race among them. */
async function concurrentPushes(store: EventStore) {
  await store.push(req([secretSet("g-conflict")], { "user:g-conflict": 0 }));
  await store.push(req([secretSet("g-x")], { "user:g-x": 0 }, [{ action: "add", type: "t", field: "g-taken" }]));
  const pushes = Array.from({ length: 60 }, (_, i) => {
    if (i === 17) return req([secretSet("g-conflict")], { "user:g-conflict": 0 });
    if (i === 31) return req([secretSet("g-claim")], { "user:g-claim": 0 }, [{ action: "add", type: "t", field: "g-taken" }]);
    if (i === 44) return req([secretSet("g-bad", { s: "\0" })], { "user:g-bad": 0 });
    // Two pushes on one aggregate expecting the same sequence: exactly one wins.
    if (i === 50 || i === 51) return req([secretSet("g-twice", { i })], { "user:g-twice": 0 });
    return req([secretSet(`g-${i}`, { i, s: NASTY[i % NASTY.length] })], { [`user:g-${i}`]: 0 });
  });
  const results = await Promise.allSettled(pushes.map((p) => store.push(p)));
  const failed = results.flatMap((r, i) => (r.status === "rejected" ? [[i, r.reason] as const] : []));
  expect(failed.map(([i]) => i).filter((i) => i !== 50 && i !== 51)).toEqual([17, 31, 44]);
  expect(failed.find(([i]) => i === 17)![1]).toBeInstanceOf(ConcurrencyConflict);
  expect(failed.find(([i]) => i === 31)![1]).toMatchObject({ kind: "AlreadyExists" });
  expect(failed.find(([i]) => i === 44)![1]).toMatchObject({ kind: "InvalidArgument" });
  expect(failed.filter(([i]) => i === 50 || i === 51)).toHaveLength(1);
  for (const [i, r] of results.entries()) {
    if (r.status !== "fulfilled" || i === 50 || i === 51) continue;
    expect(await store.load("inst", "user", `g-${i}`)).toEqual(r.value);
    expect(r.value[0]!.payload).toEqual({ i, s: NASTY[i % NASTY.length] });
  }
  expect(await store.load("inst", "user", "g-claim")).toEqual([]);
  expect(await store.load("inst", "user", "g-bad")).toEqual([]);
  expect((await store.load("inst", "user", "g-conflict")).length).toBe(1);
  expect((await store.load("inst", "user", "g-twice")).length).toBe(1);
  return results;
}

describe("group commit on PGlite (the embedded store, durable by default)", () => {
  let dir: string;
  let sql: SqlPort;
  let store: EventStore;
  const scripts: number[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "portcullis-group-commit-"));
    sql = await openPglite(dir);
    await migrate(sql);
    const script = sql.script!.bind(sql);
    sql.script = (statements) => {
      scripts.push(statements.length);
      return script(statements);
    };
    store = createEventStore(sql, 1);
  });

  afterAll(async () => {
    await sql?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("concurrent pushes commit in fewer transactions than pushes; a conflicting or refused one fails alone; reopened, every acknowledged push is there", async () => {
    scripts.length = 0;
    const results = await concurrentPushes(store);
    // 60 pushes, in batches: far fewer scripts than pushes (each failed batch is retried in halves).
    expect(scripts.length).toBeGreaterThan(0);
    expect(scripts.length).toBeLessThan(40);
    expect(Math.max(...scripts)).toBeGreaterThan(3);
    expect((await sql.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE aggregate_id LIKE 'g-%'"))[0]!.n).toBe(
      results.filter((r) => r.status === "fulfilled").length + 2,
    );
    await sql.close();
    sql = await openPglite(dir);
    const reopened = createEventStore(sql, 1);
    for (const [i, r] of results.entries()) if (r.status === "fulfilled") expect(await reopened.load("inst", "user", r.value[0]!.aggregateId), `push ${i}`).toEqual(r.value);
  });
});

async function waitFor(cond: () => boolean, ms = 3_000) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}
