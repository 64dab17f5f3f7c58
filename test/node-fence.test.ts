import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerNode } from "../src/server/node-slot.js";
import { createEventStore } from "../src/store/event-store.js";
import { migrate } from "../src/store/migrations.js";
import { openPostgres } from "../src/store/postgres-adapter.js";
import type { SqlPort } from "../src/store/sql.js";
import { rest } from "./helpers/clients.js";
import { createTestDatabase } from "./helpers/pg.js";
import { startServerProcess, type ServerProcess } from "./helpers/process.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The node slot an id was minted under (app/core/ids.ts: ms | node (10 bits) | counter (12 bits)). */
const slotOf = (id: string) => Number((BigInt(id) >> 12n) & 1023n);
const LEASE_MS = 2_000;

const push = (store: ReturnType<typeof createEventStore>, id: string, expected?: number) =>
  store.push({
    instanceId: "i1",
    editor: "e",
    events: [{ aggregateType: "user", aggregateId: id, resourceOwner: "o", type: "user.machine.secret.set", payload: {} }],
    expected: expected === undefined ? new Map() : new Map([[`user:${id}`, expected]]),
    now: new Date(),
  });

/**
 * A process that stalls past its node-slot lease may find its slot handed to another process.
 * It must then neither mint ids under that slot nor write, until it has registered again.
 */
describe("node slots after a stall (PostgreSQL)", () => {
  describe("the write fence, in the store", () => {
    let sql: SqlPort;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      const db = await createTestDatabase();
      drop = db.drop;
      sql = await openPostgres(db.url);
      await migrate(sql);
    });
    afterAll(async () => {
      await sql.close();
      await drop();
    });

    it("refuses the former holder's pushes (script and parameter paths) until it registers again", async () => {
      const a = await registerNode(sql, LEASE_MS);
      const storeA = createEventStore(sql, a);
      await push(storeA, "u1", 0);
      // a's row goes stale (as after a stall) and the node sequence comes round to a's slot.
      await sql.query("UPDATE nodes SET last_seen = now() - interval '1 hour' WHERE node_id = $1", [a.node]);
      await sql.query("SELECT setval('node_ids', $1)", [a.lease + 1023]);
      const b = await registerNode(sql, LEASE_MS);
      expect(b.node).toBe(a.node);
      const storeB = createEventStore(sql, b);
      await push(storeB, "u2", 0);

      await expect(push(storeA, "u1", 1)).rejects.toMatchObject({ kind: "Unavailable", id: "STORE-fenced" });
      await expect(push(storeA, "u3")).rejects.toMatchObject({ kind: "Unavailable", id: "STORE-fenced" }); // no expected sequence: parameter path
      const rows = await sql.query("SELECT aggregate_id FROM events ORDER BY position");
      expect(rows.map((r) => r.aggregate_id)).toEqual(["u1", "u2"]);

      expect(await a.renew()).toBe("moved");
      expect(a.node).not.toBe(b.node);
      await push(storeA, "u1", 1);
      expect(await b.renew()).toBe("renewed");
      await push(storeB, "u2", 1);
    });

    it("mints no id once the lease may have lapsed", async () => {
      const a = await registerNode(sql, LEASE_MS);
      expect(a.idNode()).toBe(a.node);
      await sleep(LEASE_MS * 0.8 + 50);
      expect(() => a.idNode()).toThrow(expect.objectContaining({ kind: "Unavailable", id: "ID-fenced" }));
      expect(await a.renew()).toBe("renewed");
      expect(a.idNode()).toBe(a.node);
    });
  });

  describe("two server processes, one stopped past its lease", () => {
    let a: ServerProcess;
    let b: ServerProcess | undefined;
    let drop: () => Promise<void>;
    let url: string;
    let dir: string;
    let pat: string;
    let env: Record<string, string>;

    beforeAll(async () => {
      const db = await createTestDatabase();
      drop = db.drop;
      url = db.url;
      dir = mkdtempSync(path.join(os.tmpdir(), "portcullis-fence-"));
      env = {
        PORTCULLIS_DATABASE_URL: url,
        PORTCULLIS_DATA_DIR: dir,
        ZITADEL_FIRSTINSTANCE_PATPATH: path.join(dir, "admin.pat"),
        PORTCULLIS_RATE_LIMIT_ENABLED: "false",
        PORTCULLIS_DB_NODE_LEASE_MS: String(LEASE_MS),
      };
      a = await startServerProcess(env);
      pat = readFileSync(path.join(dir, "admin.pat"), "utf8").trim();
    });

    afterAll(async () => {
      a?.proc.kill("SIGCONT");
      await Promise.all([a?.kill(), b?.kill()]);
      await drop?.();
      rmSync(dir, { recursive: true, force: true });
    });

    const add = (s: ServerProcess, userName: string) => rest(s.url, "POST", "/management/v1/users/machine", { token: pat, body: { userName, name: "Fence" } });

    it("SIGSTOP past the lease, a new process takes the slot, SIGCONT: no duplicate id, nothing written under the lost slot", async () => {
      const first = await add(a, "before-stall");
      expect(first.status).toBe(200);
      const sql = await openPostgres(url);
      try {
        const [regA] = await sql.query<{ node_id: number; lease: number }>("SELECT node_id, lease FROM nodes");
        const slot = Number(regA!.node_id);
        expect(slotOf(first.json.userId as string)).toBe(slot);

        a.proc.kill("SIGSTOP");
        await sleep(LEASE_MS + 500);
        // The next registration comes round to a's slot (as after 1024 of them).
        await sql.query("SELECT setval('node_ids', $1)", [Number(regA!.lease) + 1023]);
        b = await startServerProcess(env);
        const [regB] = await sql.query<{ lease: number }>("SELECT lease FROM nodes WHERE node_id = $1", [slot]);
        expect(Number(regB!.lease)).toBe(Number(regA!.lease) + 1024);

        a.proc.kill("SIGCONT");
        const ids: string[] = [];
        const fromA: { status: number; id?: string }[] = [];
        const deadline = Date.now() + 4_000;
        for (let round = 0; Date.now() < deadline; round++) {
          const results = await Promise.all(
            Array.from({ length: 6 }, (_, i) => {
              const s = i % 2 === 0 ? a : b!;
              return add(s, `r${round}-${i}`).then((r) => ({ s, r }));
            }),
          );
          for (const { s, r } of results) {
            if (r.status === 200) ids.push(r.json.userId as string);
            if (s === a) fromA.push({ status: r.status, id: r.status === 200 ? (r.json.userId as string) : undefined });
            else expect(r.status).toBe(200);
          }
        }
        expect(new Set(ids).size).toBe(ids.length);
        // a never wrote under the slot it lost; it wrote again under a new one.
        const accepted = fromA.filter((r) => r.status === 200);
        for (const r of accepted) expect(slotOf(r.id!)).not.toBe(slot);
        expect(accepted.length).toBeGreaterThan(0);
        for (const r of fromA.filter((x) => x.status !== 200)) expect(r.status).toBe(503);
        const rows = await sql.query<{ node_id: number }>("SELECT node_id FROM nodes ORDER BY node_id");
        expect(rows.length).toBe(2);
        // Every user the two processes created is there once.
        const stored = await sql.query<{ n: number }>("SELECT count(DISTINCT id)::int AS n FROM proj_users WHERE username LIKE 'r%'");
        expect(stored[0]!.n).toBe(ids.length);
      } finally {
        await sql.close();
      }
    });
  });
});
