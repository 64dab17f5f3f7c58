import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEventStore, type EventStore } from "../src/store/event-store.js";
import { migrate } from "../src/store/migrations.js";
import { openPostgres } from "../src/store/postgres-adapter.js";
import type { SqlPort } from "../src/store/sql.js";
import { createTestDatabase } from "./helpers/pg.js";

/**
 * On PostgreSQL transactions take positions in one order and commit in another: a reader of
 * "events after X" that moves X past a position whose transaction has not committed yet skips it.
 * readAfter waits for the pushes in flight, so a follower sees every event exactly once.
 */
describe("following events by position (PostgreSQL)", () => {
  let drop: () => Promise<void>;
  const ports: SqlPort[] = [];
  let stores: EventStore[];

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    for (let i = 0; i < 3; i++) ports.push(await openPostgres(db.url));
    await migrate(ports[0]!);
    stores = ports.map((sql, i) => createEventStore(sql, i + 1));
  });

  afterAll(async () => {
    for (const p of ports) await p.close();
    await drop?.();
  });

  it("concurrent writers (group-committed scripts and parameter transactions) and a follower: no gap, no repeat", async () => {
    const WRITERS = 24;
    const PUSHES = 40;
    let writing = true;
    const write = async (w: number) => {
      const store = stores[w % stores.length]!;
      for (let i = 0; i < PUSHES; i++) {
        const id = `w${w}-${i}`;
        // Half with an expected sequence (one-round-trip script, group commit), half without (a transaction with parameters).
        await store.push({
          instanceId: "i1",
          editor: "e",
          events: [
            { aggregateType: "user", aggregateId: id, resourceOwner: "o", type: "user.machine.secret.set", payload: {} },
            { aggregateType: "user", aggregateId: id, resourceOwner: "o", type: "user.machine.secret.removed", payload: {} },
          ],
          expected: i % 2 === 0 ? new Map([[`user:${id}`, 0]]) : new Map(),
          now: new Date(),
        });
      }
    };
    const seen: number[] = [];
    const follower = (async () => {
      let after = 0;
      for (;;) {
        const done = !writing;
        const page = await stores[0]!.readAfter(after, 50);
        for (const e of page) seen.push(e.position);
        if (page.length > 0) after = page[page.length - 1]!.position;
        else if (done) return;
      }
    })();
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => write(w)));
    writing = false;
    await follower;

    const all = (await ports[0]!.query<{ position: number }>("SELECT position FROM events ORDER BY position")).map((r) => Number(r.position));
    expect(all.length).toBe(WRITERS * PUSHES * 2);
    expect(seen).toEqual(all);
  });

  it("returns nothing beyond what is committed, and pages in position order", async () => {
    const last = await stores[0]!.lastPosition();
    expect(await stores[1]!.readAfter(last, 10)).toEqual([]);
    const page = await stores[2]!.readAfter(0, 7);
    expect(page.map((e) => e.position)).toEqual([...page.map((e) => e.position)].sort((a, b) => a - b));
    expect(page.length).toBe(7);
  });
});
