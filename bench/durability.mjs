// `node bench/durability.mjs [pglite] [pg]` (after `npm run build`): what durability costs on the
// write path, measured at the event store (one push = one command's append with its projections).
//   pglite: sequential pushes on the embedded store, db.embeddedFsync on vs off.
//   pg:     pushes from CONCURRENCY writers on PostgreSQL (group commit), the push lock and slot
//           fence on vs off (BENCH_NO_PROLOGUE, a measurement switch of this script only).
// Environment: BENCH_PUSHES (default 2000), BENCH_CONCURRENCY (default 32), BENCH_PG_URL.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { createEventStore } from "../dist/store/event-store.js";
import { migrate } from "../dist/store/migrations.js";
import { openPglite } from "../dist/store/pglite-adapter.js";
import { openPostgres } from "../dist/store/postgres-adapter.js";
import { registerNode } from "../dist/server/node-slot.js";

const PUSHES = Number(process.env.BENCH_PUSHES ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const PG_URL = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const which = process.argv.slice(2);
const all = which.length === 0;

const push = (store, id, seq) =>
  store.push({
    instanceId: "i1",
    editor: "e",
    events: [{ aggregateType: "user", aggregateId: id, resourceOwner: "o", type: "user.machine.secret.set", payload: {} }],
    expected: new Map([[`user:${id}`, seq]]),
    now: new Date(),
  });

let runs = 0;
async function run(store, n, concurrency) {
  const prefix = `r${++runs}-`;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) await push(store, `${prefix}${i}`, 0);
    }),
  );
  const ms = performance.now() - t0;
  return { pushesPerSecond: Math.round((n / ms) * 1000), msPerPush: +(ms / n).toFixed(3) };
}

if (all || which.includes("pglite")) {
  for (const fsync of [false, true, false, true]) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "portcullis-durability-"));
    const sql = await openPglite(dir, { fsync });
    await migrate(sql);
    const store = createEventStore(sql, await registerNode(sql, 10_000));
    await run(store, 200, 1); // warm-up
    const r = await run(store, PUSHES, 1);
    const [{ fsync: shown }] = await sql.query("SHOW fsync");
    console.log(JSON.stringify({ store: "pglite", fsync: shown, ...r }));
    await sql.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (all || which.includes("pg")) {
  for (const prologue of [true, false, true, false]) {
    const name = `portcullis_bench_${Date.now()}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const u = new URL(PG_URL);
    u.pathname = `/${name}`;
    const sql = await openPostgres(u.toString());
    await migrate(sql);
    const slot = await registerNode(sql, 10_000);
    // Without the prologue: the store as before (no lease: no fence; the push lock is replaced by a no-op).
    const store = createEventStore(prologue ? sql : { ...sql, script: (s) => sql.script(s.map((x) => (x.includes("pg_advisory_xact_lock_shared") ? "SELECT 1" : x))) }, prologue ? slot : 1);
    await run(store, 300, CONCURRENCY);
    const r = await run(store, PUSHES, CONCURRENCY);
    console.log(JSON.stringify({ store: "postgres", prologue, concurrency: CONCURRENCY, ...r }));
    await sql.close();
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await admin.end();
  }
}
