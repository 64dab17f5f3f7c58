/**
 * Embedded PostgreSQL (PGlite, WASM) persisted under `<dataDir>/pgdata`.
 *
 * - Footprint: the cluster is created outside this process and only reopened here, with a small
 *   buffer pool and V8's baseline WebAssembly compiler (pglite-cluster.ts, docs/benchmarks.md).
 * - One process per data directory: `lockDataDir` (data-dir-lock.ts) takes `<dataDir>/portcullis.lock`
 *   before PGlite opens anything (two PGlite processes on one directory silently lose writes).
 * - PGlite is a single connection: every call runs through one FIFO mutex, so a `query()` never
 *   lands inside somebody else's `transaction()`. (PGlite queues internally as well; the adapter
 *   does not rely on that.) Calling the port itself from inside `transaction()` would wait for the
 *   transaction it is part of, so that is rejected with an error instead of hanging: use `tx`.
 * - Durability: PGlite's NodeFS writes through `fs.writeSync` on every WAL write, so a committed
 *   transaction is in the kernel's page cache when `transaction()` resolves and survives a SIGKILL
 *   of this process (tested). By default (`db.embeddedFsync`) PostgreSQL's fsync is on and reaches
 *   the disk (`SyncingNodeFS`): a commit is also on disk when it resolves, and survives a power
 *   loss. Off, PGlite's own setting (`-F`): a power loss right after a commit can lose it.
 */
import * as path from "node:path";
import { PGlite, type Transaction } from "@electric-sql/pglite";
import { DomainError, unavailable } from "../domain/errors.js";
import { LOCK_FILE_NAME, lockDataDir } from "./data-dir-lock.js";
import { isBadInputValue, type Queryable, type Row, type SqlError, type SqlPort } from "./sql.js";
import { Mutex } from "./mutex.js";
import { SyncingNodeFS, compiledModuleOption, ensureCluster, pgliteStartParams } from "./pglite-cluster.js";

/** A database error with node-postgres's fields (PGlite's own error also carries the parameters). */
export class PgliteSqlError extends Error implements SqlError {
  override readonly name = "SqlError";
  code?: string;
  constraint?: string;
  detail?: string;
  schema?: string;
  table?: string;
  column?: string;
  severity?: string;
  hint?: string;
  where?: string;
  routine?: string;
  constructor(message: string) {
    super(message);
  }
}

const FIELDS = ["code", "constraint", "detail", "schema", "table", "column", "severity", "hint", "where", "routine"] as const;

function mapError(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const src = e as Error & Record<string, unknown>;
  if (typeof src.code !== "string" || src.code === "") {
    if (/pglite is closed/i.test(e.message)) return unavailable("STORE-unavail", "database unavailable");
    return e;
  }
  if (isBadInputValue(src)) return new DomainError("InvalidArgument", "STORE-value", "a value in the request cannot be stored or compared (NUL character, invalid text or a number out of range)");
  // Copy the SQLSTATE fields; drop `params`, which PGlite attaches and which may hold secrets.
  const out = new PgliteSqlError(e.message);
  for (const f of FIELDS) {
    const v = src[f];
    if (typeof v === "string") out[f] = v;
  }
  return out;
}


const noParams = (params?: readonly unknown[]) => params === undefined || params.length === 0;

/**
 * Without parameters the text may hold several statements (simple-query protocol, like
 * node-postgres); the rows of the last statement are returned.
 */
async function run<R extends Row>(
  target: Pick<PGlite, "query" | "exec"> | Transaction,
  sql: string,
  params?: readonly unknown[],
): Promise<R[]> {
  if (noParams(params)) {
    const results = await target.exec(sql);
    return (results[results.length - 1]?.rows ?? []) as R[];
  }
  const res = await target.query<R>(sql, params as unknown[]);
  return res.rows;
}

export interface PgliteOptions {
  /** Sync every commit to disk before it is acknowledged (default true; see the header). */
  fsync?: boolean;
}

export async function openPglite(dataDir: string, opts: PgliteOptions = {}): Promise<SqlPort> {
  const fsync = opts.fsync ?? true;
  const root = path.resolve(dataDir);
  let lockLost = false;
  const lock = await lockDataDir(root, {
    onLost: () => {
      lockLost = true;
      process.emitWarning(`lock ${path.join(root, LOCK_FILE_NAME)} was replaced or removed by someone else; the store stops answering`);
    },
    onWait: (msg) => process.emitWarning(msg),
  }).catch((e: unknown) => {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EROFS" || code === "EACCES" || code === "EPERM" || code === "ENOSPC")
      throw new Error(`data directory ${root} is not writable (${code}); give Portcullis a writable PORTCULLIS_DATA_DIR`);
    throw e;
  });
  let db: PGlite;
  try {
    // A new cluster is copied from the build's template (or made in a child process) under our
    // lock, so this process only ever reopens one (pglite-cluster.ts).
    const reuse = compiledModuleOption(); // compiling while the cluster is checked (or copied)
    await ensureCluster(root, { onWarning: (msg) => process.emitWarning(msg) });
    // relaxedDurability stays false (the default): results are returned only after the sync.
    const pgdata = path.join(root, "pgdata");
    db = await PGlite.create({
      ...(fsync ? { fs: new SyncingNodeFS(pgdata) } : { dataDir: pgdata }),
      relaxedDurability: false,
      ...(await reuse),
      startParams: pgliteStartParams(PGlite, { fsync }),
    });
  } catch (e) {
    lock.release();
    throw e;
  }

  const mutex = new Mutex();
  let closed = false;

  const enter = () => {
    // Note: calling the port (not the tx argument) inside transaction() waits for the transaction
    // forever: PGlite has one connection. An AsyncLocalStorage guard would catch it, but would put
    // promise hooks on every await of the process; the store's code uses the tx argument.
    if (closed || lockLost) throw unavailable("STORE-unavail", "database unavailable");
  };

  const port: SqlPort = {
    dialect: "pglite",

    async query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]> {
      enter();
      return mutex.run(async () => {
        try {
          return await run<R>(db, sql, params);
        } catch (e) {
          throw mapError(e);
        }
      });
    },

    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      enter();
      return mutex.run(async () => {
        let done = false;
        let firstError: unknown;
        try {
          return await db.transaction(async (ptx) => {
            const tx: Queryable = {
              query: async <R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]> => {
                if (done) throw new Error("transaction is already finished");
                try {
                  return await run<R>(ptx, sql, params);
                } catch (e) {
                  const mapped = mapError(e);
                  firstError ??= mapped;
                  throw mapped;
                }
              },
            };
            return await fn(tx);
          });
        } catch (e) {
          // COMMIT of a transaction that a swallowed error had aborted rolls back: surface that error.
          if (firstError !== undefined && e instanceof Error && /rolled back instead of committed/i.test(e.message)) throw firstError;
          throw mapError(e);
        } finally {
          done = true;
        }
      });
    },

    // One transaction, its statements in one call (the event store's group commit, group-commit.ts):
    // an error rolls the whole script back and surfaces with its SQLSTATE.
    async script(statements: readonly string[]): Promise<Row[][]> {
      enter();
      return mutex.run(async () => {
        try {
          return await db.transaction(async (ptx) => {
            const results = await ptx.exec(statements.join(";\n"));
            // A statement that held several would shift the results: roll back rather than misreport.
            if (results.length !== statements.length) throw new Error("transaction script results do not match its statements");
            return results.map((r) => r.rows as Row[]);
          });
        } catch (e) {
          throw mapError(e);
        }
      });
    },

    async listen() {
      return async () => {};
    },

    async dump(): Promise<Buffer> {
      enter();
      return mutex.run(async () => {
        await db.query("CHECKPOINT");
        const tar = await db.dumpDataDir("gzip");
        return Buffer.from(await tar.arrayBuffer());
      });
    },

    async ping(): Promise<boolean> {
      if (closed || lockLost) return false;
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          mutex.run(async () => (await db.query("SELECT 1")).rows.length === 1),
          new Promise<boolean>((r) => {
            timer = setTimeout(() => r(false), 2_000);
          }),
        ]);
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      // Let queued work finish (bounded: a transaction that never settles must not block shutdown).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([mutex.run(async () => undefined), new Promise<void>((r) => (timer = setTimeout(r, 5_000)))]);
      clearTimeout(timer);
      try {
        if (!db.closed) await db.close();
      } finally {
        lock.release();
      }
    },
  };
  return port;
}
