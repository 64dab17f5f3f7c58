import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { joinCluster, type Cluster } from "../src/server/cluster.js";
import { registerNode } from "../src/server/node-slot.js";
import type { CommitNotice } from "../src/store/event-store.js";
import { createEventStore } from "../src/store/event-store.js";
import { migrate } from "../src/store/migrations.js";
import { openPostgres } from "../src/store/postgres-adapter.js";
import type { SqlPort } from "../src/store/sql.js";
import { createTestDatabase } from "./helpers/pg.js";

const log = pino({ level: "silent" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("timed out");
    await sleep(20);
  }
  return Date.now() - t0;
}

/**
 * The peer list is read by the heartbeat, not per commit, so a process that has just joined may be
 * missing from other writers' lists: it must not trust its cache until every such list has expired.
 */
describe("joining the cluster", () => {
  let drop: () => Promise<void>;
  let url: string;
  const open: SqlPort[] = [];
  const clusters: Cluster[] = [];

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    url = db.url;
    const sql = await openPostgres(url);
    await migrate(sql);
    await sql.close();
  });

  afterAll(async () => {
    for (const c of clusters) await c.close().catch(() => undefined);
    for (const s of open) await s.close();
    await drop?.();
  });

  async function node(onNotice: (n: CommitNotice) => void = () => undefined) {
    const sql = await openPostgres(url);
    open.push(sql);
    const slot = await registerNode(sql, 10_000);
    const id = slot.node;
    const prefix = `${slot.node}.${slot.lease}`;
    const store = createEventStore(sql, slot);
    const cluster = await joinCluster(sql, store, slot, { onNotice, onGap: () => undefined }, log);
    clusters.push(cluster);
    return { sql, id, prefix, slot, store, cluster };
  }

  it("a new process trusts its cache only after the peer lists that may miss it have expired, and the writer waits for it then", async () => {
    const a = await node();
    expect(a.cluster.trusted()).toBe(false);
    await until(() => a.cluster.trusted(), 6_000);

    const seen: string[] = [];
    const b = await node((n) => seen.push(n.c));
    const joined = Date.now();
    expect(b.cluster.trusted()).toBe(false);
    const waited = await until(() => b.cluster.trusted(), 6_000);
    // Peer lists are at most 1 s old; the fence adds 1.5 s: no trust before 2.5 s after joining.
    expect(Date.now() - joined).toBeGreaterThanOrEqual(2_500);
    expect(waited).toBeLessThan(6_000);

    // Now every writer's list has b: a's write is acknowledged only after b has evicted.
    const t0 = Date.now();
    await a.store.push({
      instanceId: "i1",
      editor: "e",
      events: [{ aggregateType: "user", aggregateId: "u1", resourceOwner: "o", type: "user.machine.secret.set", payload: {} }],
      expected: new Map([["user:u1", 0]]),
      now: new Date(),
    });
    expect(seen).toEqual([`${a.prefix}:1`]);
    expect(Date.now() - t0).toBeLessThan(1_500);
  });

  it("a process whose row is gone stops trusting at its next heartbeat, registers again (a new slot) and trusts later", async () => {
    const c = await node();
    await until(() => c.cluster.trusted(), 6_000);
    await c.sql.query("DELETE FROM nodes WHERE node_id = $1", [c.id]);
    await until(() => !c.cluster.trusted(), 1_500);
    await sleep(1_500);
    expect(c.cluster.trusted()).toBe(false);
    await until(() => c.cluster.trusted(), 6_000);
    expect((await c.sql.query("SELECT 1 FROM nodes WHERE node_id = $1 AND lease = $2", [c.slot.node, c.slot.lease])).length).toBe(1);
    expect(c.slot.node).not.toBe(c.id);
  });
});
