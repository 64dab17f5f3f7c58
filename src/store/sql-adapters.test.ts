import { spawn, type ChildProcess } from "node:child_process";
import { restartableProxy } from "../../test/helpers/tcp-proxy.js";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DomainError } from "../domain/errors.js";
import { describeSelf, LOCK_FILE_NAME, lockDataDir } from "./data-dir-lock.js";
import { openPglite } from "./pglite-adapter.js";
import { quoteChannel } from "./pg-listener.js";
import { openPostgres } from "./postgres-adapter.js";
import { isUniqueViolation, type SqlPort } from "./sql.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../..");
const PG_HOST = "127.0.0.1:5432";
const adminUrl = `postgres://postgres@${PG_HOST}/postgres`;

const tmpDirs: string[] = [];
const mkTmp = (prefix: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const uniq = () => randomBytes(4).toString("hex");

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(25);
  }
  throw new Error("condition not reached in time");
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client(adminUrl);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A fresh database per test; returns its URL and a drop function. */
async function freshDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `portcullis_t_${uniq()}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  return {
    url: `postgres://postgres@${PG_HOST}/${name}`,
    name,
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

// ---------------------------------------------------------------------------------------------
// Behaviour both adapters share
// ---------------------------------------------------------------------------------------------

function sharedSuite(getPort: () => SqlPort, lockingRead: string) {
  it("queries with parameters, and several statements without", async () => {
    const port = getPort();
    const t = `t_${uniq()}`;
    await port.query(`CREATE TABLE ${t} (id int PRIMARY KEY, name text NOT NULL, n bigint); CREATE INDEX ON ${t} (name)`);
    await port.query(`INSERT INTO ${t} (id, name, n) VALUES ($1, $2, $3), ($4, $5, $6)`, [1, "a", 10, 2, "b", 9007199254740993n]);
    const rows = await port.query<{ id: number; name: string; n: number | bigint }>(`SELECT id, name, n FROM ${t} WHERE id >= $1 ORDER BY id`, [1]);
    expect(rows).toEqual([
      { id: 1, name: "a", n: 10 },
      { id: 2, name: "b", n: 9007199254740993n },
    ]);
    const [count] = await port.query<{ c: unknown }>(`SELECT count(*) AS c FROM ${t}`);
    expect(count?.c).toBe(2); // int8 is a number on both adapters
    expect(await port.query(`INSERT INTO ${t} (id, name) VALUES ($1, $2)`, [3, "c"])).toEqual([]);
    const last = await port.query<{ x: number }>(`SELECT 1 AS x; SELECT 2 AS x`);
    expect(last).toEqual([{ x: 2 }]);
  });

  it("commits a transaction and rolls back when fn throws", async () => {
    const port = getPort();
    const t = `t_${uniq()}`;
    await port.query(`CREATE TABLE ${t} (id int PRIMARY KEY)`);
    const result = await port.transaction(async (tx) => {
      await tx.query(`INSERT INTO ${t} VALUES ($1)`, [1]);
      return (await tx.query<{ c: number }>(`SELECT count(*)::int AS c FROM ${t}`))[0]?.c;
    });
    expect(result).toBe(1);
    await expect(
      port.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${t} VALUES ($1)`, [2]);
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await port.query(`SELECT id FROM ${t} ORDER BY id`)).toEqual([{ id: 1 }]);
    // The port is usable after a rollback.
    await port.transaction((tx) => tx.query(`INSERT INTO ${t} VALUES (3)`));
    expect(await port.query(`SELECT id FROM ${t} ORDER BY id`)).toEqual([{ id: 1 }, { id: 3 }]);
  });

  it("surfaces a unique violation with code 23505 and the constraint name", async () => {
    const port = getPort();
    const t = `t_${uniq()}`;
    await port.query(`CREATE TABLE ${t} (id int PRIMARY KEY, name text, CONSTRAINT ${t}_name_uq UNIQUE (name))`);
    await port.query(`INSERT INTO ${t} VALUES (1, 'x')`);
    const e1 = await port.query(`INSERT INTO ${t} VALUES (1, 'y')`).catch((e: unknown) => e);
    expect(isUniqueViolation(e1)).toBe(true);
    expect(e1).toMatchObject({ code: "23505", constraint: `${t}_pkey` });
    expect(e1).not.toHaveProperty("params");
    const e2 = await port.transaction((tx) => tx.query(`INSERT INTO ${t} VALUES ($1, $2)`, [2, "x"])).catch((e: unknown) => e);
    expect(e2).toMatchObject({ code: "23505", constraint: `${t}_name_uq` });
    // An error swallowed inside fn aborts the transaction; COMMIT must not pretend it succeeded.
    const e3 = await port
      .transaction(async (tx) => {
        await tx.query(`INSERT INTO ${t} VALUES (3, 'z')`);
        await tx.query(`INSERT INTO ${t} VALUES (4, 'x')`).catch(() => undefined);
        return "ok";
      })
      .catch((e: unknown) => e);
    expect(e3).toMatchObject({ code: "23505", constraint: `${t}_name_uq` });
    expect(await port.query(`SELECT id FROM ${t} ORDER BY id`)).toEqual([{ id: 1 }]);
  });

  it("runs 20 concurrent read-modify-write transactions without lost updates", async () => {
    const port = getPort();
    const t = `t_${uniq()}`;
    await port.query(`CREATE TABLE ${t} (id int PRIMARY KEY, v int NOT NULL)`);
    await port.query(`INSERT INTO ${t} VALUES (1, 0)`);
    const plainReads: Promise<unknown>[] = [];
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        if (i % 5 === 0) plainReads.push(port.query(`SELECT v FROM ${t} WHERE id = 1`));
        await port.transaction(async (tx) => {
          const [row] = await tx.query<{ v: number }>(`SELECT v FROM ${t} WHERE id = 1 ${lockingRead}`);
          await sleep(2); // give other callers every chance to interleave
          await tx.query(`UPDATE ${t} SET v = $1 WHERE id = 1`, [(row?.v ?? 0) + 1]);
        });
      }),
    );
    await Promise.all(plainReads);
    expect(await port.query(`SELECT v FROM ${t}`)).toEqual([{ v: 20 }]);
  });

  it("answers ping", async () => {
    expect(await getPort().ping()).toBe(true);
  });
}

// ---------------------------------------------------------------------------------------------
// PGlite
// ---------------------------------------------------------------------------------------------

describe("pglite adapter", () => {
  let port: SqlPort;
  let dir: string;
  beforeAll(async () => {
    dir = mkTmp("portcullis-pglite-");
    port = await openPglite(dir);
  });
  afterAll(async () => {
    await port?.close();
  });

  sharedSuite(() => port, "");

  it("has the pglite dialect, a no-op listen, and persists under <dataDir>/pgdata", async () => {
    expect(port.dialect).toBe("pglite");
    const unlisten = await port.listen("anything", () => {
      throw new Error("never called");
    });
    await unlisten();
    expect(fs.existsSync(path.join(dir, "pgdata", "PG_VERSION"))).toBe(true);
    expect(fs.existsSync(path.join(dir, LOCK_FILE_NAME))).toBe(true);
  });

  it("rejects a second open of the same directory in the same process", async () => {
    await expect(openPglite(dir)).rejects.toThrow(
      `data directory ${dir} is in use by another Portcullis process (pid ${process.pid})`,
    );
    expect(await port.ping()).toBe(true); // the first instance is untouched
  });

  it("releases the lock on close and answers Unavailable afterwards", async () => {
    const d = mkTmp("portcullis-pglite-close-");
    const p = await openPglite(d);
    await p.query("CREATE TABLE k (id int)");
    await p.query("INSERT INTO k VALUES (1)");
    await p.close();
    await p.close(); // idempotent
    expect(fs.existsSync(path.join(d, LOCK_FILE_NAME))).toBe(false);
    const err = await p.query("SELECT 1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ kind: "Unavailable", id: "STORE-unavail" });
    expect(await p.ping()).toBe(false);
    const again = await openPglite(d);
    expect(await again.query("SELECT id FROM k")).toEqual([{ id: 1 }]);
    await again.close();
  });
});

describe("data directory lock", () => {
  const writeLock = (d: string, content: object, mtime?: Date) => {
    const p = path.join(d, LOCK_FILE_NAME);
    fs.writeFileSync(p, JSON.stringify(content));
    if (mtime) fs.utimesSync(p, mtime, mtime);
    return p;
  };
  const deadPid = async () => {
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    const pid = child.pid!;
    await new Promise((r) => child.on("exit", r));
    return pid;
  };

  it("takes over a lock left by a dead process (same host)", async () => {
    const d = mkTmp("portcullis-lock-");
    const pid = await deadPid();
    writeLock(d, { ...describeSelf(), pid, token: "dead", startedAt: "x" });
    const lock = await lockDataDir(d);
    const content = JSON.parse(fs.readFileSync(lock.path, "utf8"));
    expect(content).toMatchObject({ pid: process.pid, token: lock.token });
    lock.release();
    expect(fs.existsSync(lock.path)).toBe(false);
    lock.release(); // idempotent
  });

  it("refuses a lock held by a live process (same host), without touching it", async () => {
    const d = mkTmp("portcullis-lock-");
    const p = writeLock(d, { ...describeSelf(), pid: process.ppid, token: "live", startedAt: "x" });
    const before = fs.readFileSync(p, "utf8");
    const started = Date.now();
    await expect(lockDataDir(d)).rejects.toThrow(
      `data directory ${d} is in use by another Portcullis process (pid ${process.ppid}); stop it or use another PORTCULLIS_DATA_DIR`,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(fs.readFileSync(p, "utf8")).toBe(before);
    expect(fs.readdirSync(d)).toEqual([LOCK_FILE_NAME]); // no temp files left behind
  });

  it("a lock with our own pid but not held by this process is a previous incarnation's", async () => {
    const d = mkTmp("portcullis-lock-");
    writeLock(d, { ...describeSelf(), token: "previous", startedAt: "x" });
    const lock = await lockDataDir(d);
    lock.release();
  });

  it("uses the heartbeat for owners it cannot check: fresh refuses, stale is taken over", async () => {
    const foreign = { pid: 1, hostname: "some-other-host", token: "f", startedAt: "x" };
    const d1 = mkTmp("portcullis-lock-");
    writeLock(d1, foreign);
    const waits: string[] = [];
    await expect(lockDataDir(d1, { staleMs: 60_000, maxWaitMs: 200, onWait: (m) => waits.push(m) })).rejects.toThrow(
      /in use by another Portcullis process \(pid 1 on host some-other-host\)/,
    );

    const d2 = mkTmp("portcullis-lock-");
    writeLock(d2, foreign, new Date(Date.now() - 120_000));
    const lock = await lockDataDir(d2, { staleMs: 60_000 });
    lock.release();

    // Goes stale while we wait: taken over after the wait.
    const d3 = mkTmp("portcullis-lock-");
    writeLock(d3, foreign, new Date(Date.now() - 700));
    const started = Date.now();
    const lock3 = await lockDataDir(d3, { staleMs: 1_000, onWait: (m) => waits.push(m) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(waits.some((m) => m.includes("some-other-host"))).toBe(true);
    lock3.release();

    // A heartbeat that keeps advancing means alive: refused.
    const d4 = mkTmp("portcullis-lock-");
    const p4 = writeLock(d4, foreign);
    const beat = setInterval(() => fs.utimesSync(p4, new Date(), new Date()), 50);
    try {
      await expect(lockDataDir(d4, { staleMs: 400, maxWaitMs: 5_000 })).rejects.toThrow(/some-other-host/);
    } finally {
      clearInterval(beat);
    }
  });

  it("keeps the lock file's heartbeat fresh and notices when it is taken away", async () => {
    const d = mkTmp("portcullis-lock-");
    let lost = false;
    const lock = await lockDataDir(d, { heartbeatMs: 50, onLost: () => (lost = true) });
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lock.path, old, old);
    await waitFor(() => fs.statSync(lock.path).mtimeMs > Date.now() - 5_000);
    fs.writeFileSync(lock.path, JSON.stringify({ pid: 1, hostname: "x", token: "other", startedAt: "x" }));
    await waitFor(() => lost);
    lock.release();
    expect(fs.existsSync(lock.path)).toBe(true); // not ours any more: left alone
  });

  it("lets exactly one of several concurrent opens in one process win a stale lock", async () => {
    const d = mkTmp("portcullis-lock-");
    writeLock(d, { ...describeSelf(), pid: await deadPid(), token: "dead", startedAt: "x" });
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => lockDataDir(d)));
    const won = results.filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(String(r.reason)).toMatch(/in use by another Portcullis process/);
    if (won[0]?.status === "fulfilled") won[0].value.release();
  });
});

describe("pglite across processes", () => {
  let childDir: string;
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  });

  /** The child runs the built adapter (`npm test` builds dist/ first), so it is the real code. */
  beforeAll(() => {
    childDir = mkTmp("portcullis-child-");
    const built = path.join(repoRoot, "dist/store/pglite-adapter.js");
    const builtLock = path.join(repoRoot, "dist/store/data-dir-lock.js");
    if (!fs.existsSync(built)) throw new Error(`${built} is missing: run npm run build first`);
    fs.writeFileSync(path.join(childDir, "package.json"), JSON.stringify({ type: "module" }));
    fs.writeFileSync(
      path.join(childDir, "child.js"),
      `import { lockDataDir } from ${JSON.stringify(pathToFileURL(builtLock).href)};
import { openPglite } from ${JSON.stringify(pathToFileURL(built).href)};
const [mode, dataDir, arg] = process.argv.slice(2);
try {
  if (mode === "lock") {
    while (Date.now() < Number(arg)) {} // start all racers at the same instant
    const lock = await lockDataDir(dataDir);
    process.stdout.write("LOCKED\\n");
    // Hold until every racer has answered (the test sends SIGTERM): a winner that let go after a
    // fixed time would let a racer that started late on a loaded machine win a second time.
    process.on("SIGTERM", () => { lock.release(); process.exit(0); });
    setInterval(() => {}, 1000);
  } else {
    const port = await openPglite(dataDir);
    await port.query("CREATE TABLE IF NOT EXISTS durable (id int PRIMARY KEY)");
    await port.transaction((tx) => tx.query("INSERT INTO durable VALUES ($1)", [Number(arg)]));
    process.stdout.write("COMMITTED\\n");
    setInterval(() => {}, 1000); // stay alive holding the lock until killed
  }
} catch (e) {
  process.stdout.write("ERROR " + e.message + "\\n");
  process.exit(3);
}
`,
    );
  });

  const startChild = (dataDir: string, arg: number, mode = "commit") => {
    const child = spawn(process.execPath, [path.join(childDir, "child.js"), mode, dataDir, String(arg)], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    let out = "";
    const line = new Promise<string>((resolve, reject) => {
      child.stdout!.on("data", (b: Buffer) => {
        out += b.toString();
        if (out.includes("\n")) resolve(out.trim());
      });
      child.on("exit", (code) => (out.includes("\n") ? resolve(out.trim()) : reject(new Error(`child exited ${code}: ${out}`))));
    });
    return { child, line };
  };

  it("lets exactly one of several racing processes take over a stale lock", async () => {
    const dataDir = mkTmp("portcullis-race-");
    const dead = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await new Promise((r) => dead.on("exit", r));
    fs.writeFileSync(path.join(dataDir, LOCK_FILE_NAME), JSON.stringify({ ...describeSelf(), pid: dead.pid, token: "dead", startedAt: "x" }));
    const startAt = Date.now() + 2_000;
    // 16 racers: a naive "judge stale, then unlink" takeover lets two of them win in most runs.
    const racers = Array.from({ length: 16 }, () => startChild(dataDir, startAt, "lock"));
    const lines = await Promise.all(racers.map((r) => r.line));
    for (const r of racers) if (r.child.exitCode === null) r.child.kill("SIGTERM");
    expect(lines.filter((l) => l === "LOCKED")).toHaveLength(1);
    for (const l of lines) if (l !== "LOCKED") expect(l).toMatch(/^ERROR data directory .* is in use by another Portcullis process \(pid \d+\)/);
    await Promise.all(racers.map((r) => new Promise((res) => (r.child.exitCode !== null ? res(null) : r.child.on("exit", res)))));
    expect(fs.readdirSync(dataDir)).toEqual([]); // released, no guard or temp files left
  });

  it("refuses a second process, and after SIGKILL right after commit the next start succeeds with the data", async () => {
    const dataDir = mkTmp("portcullis-xproc-");
    const a = startChild(dataDir, 1);
    expect(await a.line).toBe("COMMITTED");

    // While the child lives: this process refuses, and so does another child.
    await expect(openPglite(dataDir)).rejects.toThrow(`is in use by another Portcullis process (pid ${a.child.pid})`);
    const b = startChild(dataDir, 2);
    await expect(b.line).resolves.toMatch(new RegExp(`^ERROR data directory .* in use by another Portcullis process \\(pid ${a.child.pid}\\)`));

    // SIGKILL: no cleanup runs, the lock file stays behind.
    const exited = new Promise((r) => a.child.on("exit", r));
    a.child.kill("SIGKILL");
    await exited;
    expect(fs.existsSync(path.join(dataDir, LOCK_FILE_NAME))).toBe(true);

    const port = await openPglite(dataDir);
    try {
      expect(await port.query("SELECT id FROM durable ORDER BY id")).toEqual([{ id: 1 }]);
    } finally {
      await port.close();
    }

    // And again with the roles swapped: a child after a SIGKILLed child, data accumulates.
    const c = startChild(dataDir, 3);
    expect(await c.line).toBe("COMMITTED");
    const cExited = new Promise((r) => c.child.on("exit", r));
    c.child.kill("SIGKILL");
    await cExited;
    const port2 = await openPglite(dataDir);
    try {
      expect(await port2.query("SELECT id FROM durable ORDER BY id")).toEqual([{ id: 1 }, { id: 3 }]);
    } finally {
      await port2.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------

describe("postgres adapter", () => {
  let port: SqlPort;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  beforeEach(async () => {
    db = await freshDatabase();
    port = await openPostgres(db.url, { max: 5 });
  });
  afterEach(async () => {
    await port?.close();
    await db?.drop();
  });

  sharedSuite(() => port, "FOR UPDATE");

  it("has the postgres dialect", () => {
    expect(port.dialect).toBe("postgres");
  });

  const terminate = (database: string, appName: string) =>
    admin((c) =>
      c.query<{ ok: boolean }>(
        "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
        [database, appName],
      ),
    );

  it("recovers by itself after its connections are killed (as in a server restart)", async () => {
    await Promise.all(Array.from({ length: 5 }, () => port.query("SELECT pg_sleep(0.05)")));
    const killed = await terminate(db.name, "portcullis");
    expect(killed.rows.length).toBeGreaterThan(0);
    // No crash (the idle clients' errors are absorbed); the next queries get new connections.
    await waitFor(async () => {
      try {
        return (await port.query<{ one: number }>("SELECT 1 AS one"))[0]?.one === 1;
      } catch (e) {
        expect(e).toMatchObject({ kind: "Unavailable" });
        return false;
      }
    }, 5_000);
    await port.transaction((tx) => tx.query("SELECT 1"));
    expect(await port.ping()).toBe(true);
  });

  it("discards the client when a transaction's connection dies", async () => {
    const err = await port
      .transaction(async (tx) => {
        const [me] = await tx.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        await admin((c) => c.query("SELECT pg_terminate_backend($1)", [me?.pid]));
        await tx.query("SELECT 1");
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ kind: "Unavailable", id: "STORE-unavail", message: "database unavailable" });
    for (let i = 0; i < 6; i++) await port.transaction((tx) => tx.query("SELECT 1"));
  });

  it("delivers NOTIFY payloads, re-listens after its connection dies and calls onReconnect", async () => {
    const got: string[] = [];
    let reconnects = 0;
    const unlisten = await port.listen(
      "Events_1",
      (p) => got.push(p),
      () => reconnects++,
    );
    const other: string[] = [];
    const unlistenOther = await port.listen("other", (p) => other.push(p));
    // NOTIFY reaches listeners of the same database only: send it from a second connection to it.
    const notify = async (ch: string, payload: string) => {
      const c = new pg.Client(db.url);
      await c.connect();
      try {
        await c.query(`NOTIFY ${quoteChannel(ch)}, '${payload}'`);
      } finally {
        await c.end();
      }
    };

    await notify("Events_1", "hello");
    await notify("other", "x");
    await waitFor(() => got.length === 1 && other.length === 1);
    expect(got).toEqual(["hello"]);
    expect(reconnects).toBe(0);

    const killed = await terminate(db.name, "portcullis-listen");
    expect(killed.rows).toEqual([{ ok: true }]);
    await waitFor(() => reconnects === 1);
    await port.query("SELECT pg_notify('Events_1', 'after')");
    await waitFor(() => got.length === 2);
    expect(got).toEqual(["hello", "after"]);

    await unlisten();
    await unlisten(); // idempotent
    await notify("Events_1", "ignored");
    await notify("other", "y");
    await waitFor(() => other.length === 2);
    expect(got).toEqual(["hello", "after"]);
    await unlistenOther();
  });

  it("validates channel names", async () => {
    await expect(port.listen('x"; DROP TABLE y; --', () => undefined)).rejects.toThrow(/invalid LISTEN channel/);
    await expect(port.listen("", () => undefined)).rejects.toThrow(/invalid LISTEN channel/);
    expect(quoteChannel("abc_1")).toBe('"abc_1"');
  });

  it("closes promptly while a LISTEN is active, and answers Unavailable afterwards", async () => {
    await port.listen("c", () => undefined);
    const started = Date.now();
    await port.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(port.query("SELECT 1")).rejects.toMatchObject({ kind: "Unavailable" });
    expect(await port.ping()).toBe(false);
  });
});

describe("postgres adapter across a database outage", () => {
  it("answers Unavailable while the server is gone and recovers by itself, LISTEN included", async () => {
    const db = await freshDatabase();
    const proxy = await restartableProxy();
    const port = await openPostgres(`postgres://postgres@127.0.0.1:${proxy.port()}/${db.name}`, { max: 3 });
    try {
      await port.query("CREATE TABLE t (id int)");
      const got: string[] = [];
      let reconnects = 0;
      await port.listen("ev", (p) => got.push(p), () => reconnects++);
      await Promise.all(Array.from({ length: 3 }, () => port.query("SELECT pg_sleep(0.02)")));

      await proxy.stop(); // every connection reset, new ones refused
      for (const attempt of [() => port.query("SELECT 1"), () => port.transaction((tx) => tx.query("INSERT INTO t VALUES (1)"))]) {
        const started = Date.now();
        await expect(attempt()).rejects.toMatchObject({ kind: "Unavailable", id: "STORE-unavail" });
        expect(Date.now() - started).toBeLessThan(3_000);
      }
      expect(await port.ping()).toBe(false);
      await sleep(600); // the LISTEN client retries (and fails) meanwhile

      await proxy.start();
      await waitFor(async () => port.ping(), 10_000);
      await port.transaction((tx) => tx.query("INSERT INTO t VALUES (2)"));
      expect(await port.query("SELECT id FROM t")).toEqual([{ id: 2 }]);
      await waitFor(() => reconnects === 1, 15_000);
      await port.query("SELECT pg_notify('ev', 'back')");
      await waitFor(() => got.includes("back"));
    } finally {
      await port.close();
      await proxy.stop();
      await db.drop();
    }
  });
});

describe("postgres adapter without a database", () => {
  it("answers Unavailable quickly and does not crash when nothing listens on the port", async () => {
    const port = await openPostgres("postgres://postgres@127.0.0.1:1/none", { connectTimeoutMs: 2_000 });
    try {
      for (const attempt of [
        () => port.query("SELECT 1"),
        () => port.transaction((tx) => tx.query("SELECT 1")),
      ]) {
        const started = Date.now();
        const err = await attempt().catch((e: unknown) => e);
        expect(Date.now() - started).toBeLessThan(3_000);
        expect(err).toBeInstanceOf(DomainError);
        expect(err).toMatchObject({ kind: "Unavailable", id: "STORE-unavail", message: "database unavailable" });
      }
      const started = Date.now();
      expect(await port.ping()).toBe(false);
      expect(Date.now() - started).toBeLessThan(3_000);
      // LISTEN registers and keeps retrying in the background instead of failing.
      const unlisten = await port.listen("later", () => undefined);
      await unlisten();
    } finally {
      const started = Date.now();
      await port.close();
      expect(Date.now() - started).toBeLessThan(3_000);
    }
  });

  it("answers Unavailable within the connect timeout when the server does not answer at all", async () => {
    // A listening socket that never speaks the protocol: only the connect timeout can end it.
    const net = await import("node:net");
    const sockets: import("node:net").Socket[] = [];
    const server = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port: p } = server.address() as import("node:net").AddressInfo;
    const port = await openPostgres(`postgres://postgres@127.0.0.1:${p}/none`, { connectTimeoutMs: 500 });
    try {
      const started = Date.now();
      await expect(port.query("SELECT 1")).rejects.toMatchObject({ kind: "Unavailable" });
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await port.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});
