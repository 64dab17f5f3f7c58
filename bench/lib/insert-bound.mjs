// The write bound, pgbench-style: concurrent loops of BEGIN; INSERT one row; COMMIT, for a fixed
// time, on PostgreSQL (a pg.Pool the size of Portcullis's pool, same database) or on PGlite (one
// connection, as Portcullis's embedded store). Reports transactions/s and per-transaction latency.
// `notify: true` adds a pg_notify in the transaction, as every Portcullis commit does (diagnostic).
import { performance } from "node:perf_hooks";

const TABLE = `CREATE TABLE IF NOT EXISTS bench_insert_bound (
  id bigserial PRIMARY KEY,
  k text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
)`;

async function open(spec) {
  if (spec.kind === "pg") {
    const pg = (await import("pg")).default;
    const pool = new pg.Pool({ connectionString: spec.url, max: spec.poolSize });
    await pool.query(TABLE);
    return {
      async txn(k) {
        const c = await pool.connect();
        try {
          await c.query("BEGIN ISOLATION LEVEL READ COMMITTED");
          await c.query("INSERT INTO bench_insert_bound (k, payload) VALUES ($1, $2)", [k, '{"hashedSecret":"x"}']);
          if (spec.notify) await c.query("SELECT pg_notify('bench_insert_bound', $1)", [k]);
          await c.query("COMMIT");
        } finally {
          c.release();
        }
      },
      close: () => pool.end(),
    };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const db = new PGlite(spec.dir);
  await db.waitReady;
  await db.exec(TABLE);
  return {
    txn: (k) => db.transaction((tx) => tx.query("INSERT INTO bench_insert_bound (k, payload) VALUES ($1, $2)", [k, '{"hashedSecret":"x"}'])),
    close: () => db.close(),
  };
}

const pct = (s, p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];

process.on("message", async (spec) => {
  try {
    const db = await open(spec);
    const run = async (seconds, record) => {
      const end = performance.now() + seconds * 1000;
      let n = 0;
      const lat = [];
      await Promise.all(
        Array.from({ length: spec.concurrency }, async (_, w) => {
          while (performance.now() < end) {
            const t = performance.now();
            await db.txn(`w${w}`);
            if (record) lat.push(performance.now() - t);
            n++;
          }
        }),
      );
      return { n, lat };
    };
    await run(spec.warmup, false);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const { n, lat } = await run(spec.duration, true);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    lat.sort((a, b) => a - b);
    await db.close();
    process.send({
      type: "result",
      result: {
        transactions: n,
        elapsed,
        tps: n / elapsed,
        latencyMs: { p50: pct(lat, 50), p99: pct(lat, 99), max: lat.at(-1) },
        clientCpuCores: (cpu.user + cpu.system) / 1e6 / elapsed,
      },
    });
  } catch (e) {
    process.send({ type: "error", error: String(e?.stack ?? e) });
  }
});
