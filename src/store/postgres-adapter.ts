/**
 * PostgreSQL through a `pg.Pool`.
 *
 * - Survives a database restart: idle-client errors are absorbed (`pool.on("error")`), a refused,
 *   reset or timed-out connection surfaces as DomainError("Unavailable", "STORE-unavail") within
 *   `connectTimeoutMs`, and the pool opens new connections by itself once the database is back.
 * - SQL errors (23505, 40001, ...) are passed through unchanged (node-postgres's DatabaseError with
 *   `code` and `constraint`).
 * - LISTEN uses one dedicated long-lived client for all channels (pg-listener.ts); it reconnects
 *   with backoff, re-issues every LISTEN and then calls the subscribers' `onReconnect`.
 * - Result types match the PGlite adapter: int8 (bigint, count(*)) is a number, or a BigInt when it
 *   exceeds Number.MAX_SAFE_INTEGER (node-postgres would return a string).
 */
import pg from "pg";
import { DomainError, unavailable } from "../domain/errors.js";
import { Listener } from "./pg-listener.js";
import { isBadInputValue, type Queryable, type Row, type SqlPort } from "./sql.js";
import { withTimeout } from "./timeout.js";

export interface PostgresOptions {
  /** Pool size. Default 10. */
  max?: number;
  /** Time to open a connection, or to wait for a free pooled one, before answering Unavailable. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** Server-side statement_timeout. Default 30000 ms. */
  statementTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;
const PING_TIMEOUT_MS = 2_000;
const CLOSE_TIMEOUT_MS = 5_000;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

const NET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOENT", // unix socket path missing while the server is down
]);
const SQLSTATE_UNAVAILABLE = new Set([
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up / shutting down / recovery)
  "57P05", // idle_session_timeout
  "25P03", // idle_in_transaction_session_timeout
  "57014", // query_canceled (statement_timeout)
  "53300", // too_many_connections
  "58000", // system_error
  "58030", // io_error
]);
const CLIENT_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|not queryable|Cannot use a pool after calling end|Client was closed|Connection is closed|socket hang up/i;

/** True for errors that mean "the database cannot be reached right now" rather than "bad SQL". */
export function isConnectionError(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string") {
    if (NET_CODES.has(code) || SQLSTATE_UNAVAILABLE.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  if (e instanceof AggregateError && e.errors.some(isConnectionError)) return true; // happy eyeballs
  return e instanceof Error && typeof code !== "string" && CLIENT_MESSAGES.test(e.message);
}

function mapError(e: unknown): unknown {
  if (isBadInputValue(e)) return new DomainError("InvalidArgument", "STORE-value", "a value in the request cannot be stored or compared (NUL character, invalid text or a number out of range)");
  if (!isConnectionError(e)) return e;
  const err = unavailable("STORE-unavail", "database unavailable");
  (err as Error).cause = e;
  return err;
}

// ---------------------------------------------------------------------------------------------
// Types: int8 like PGlite (number when safe, else BigInt)
// ---------------------------------------------------------------------------------------------

const INT8 = 20;
const INT8_ARRAY = 1016;
const parseInt8 = (v: string): number | bigint => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : BigInt(v);
};
const mapNested = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(mapNested) : typeof v === "string" ? parseInt8(v) : v;

const defaultParser = pg.types.getTypeParser as (oid: number, format: "text" | "binary") => (v: string) => unknown;
const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (format !== "binary") {
      if (oid === INT8) return parseInt8;
      if (oid === INT8_ARRAY) {
        const base = defaultParser(INT8_ARRAY, "text");
        return (v: string) => mapNested(base(v));
      }
    }
    return defaultParser(oid, format ?? "text");
  },
} as pg.CustomTypesConfig;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Several statements (no parameters) give one result per statement: return the last one's rows. */
function rowsOf<R extends Row>(res: pg.QueryResult<R> | pg.QueryResult<R>[]): R[] {
  if (Array.isArray(res)) return res[res.length - 1]?.rows ?? [];
  return res.rows ?? [];
}

/** Without parameters node-postgres uses the simple protocol (several statements allowed), as PGlite's exec does. */
const valuesOf = (params?: readonly unknown[]) => (params && params.length > 0 ? [...params] : undefined);

// ---------------------------------------------------------------------------------------------
// Adapter
// ---------------------------------------------------------------------------------------------

export async function openPostgres(url: string, opts: PostgresOptions = {}): Promise<SqlPort> {
  const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const statementTimeoutMs = opts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const base: pg.ClientConfig = {
    connectionString: url,
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: statementTimeoutMs,
    // Client-side backstop for a silently dead network (the server enforces statement_timeout).
    query_timeout: statementTimeoutMs + 5_000,
    // A transaction whose caller hangs must not hold locks forever.
    idle_in_transaction_session_timeout: Math.max(60_000, 2 * statementTimeoutMs),
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: "portcullis",
    types,
  };
  const pool = new pg.Pool({ ...base, max: opts.max ?? 10, idleTimeoutMillis: 30_000 });
  // An idle client whose connection dies (server restart, admin_shutdown) is dropped by the pool;
  // without this listener the 'error' event would crash the process.
  pool.on("error", () => undefined);

  const listener = new Listener({ ...base, query_timeout: 5_000, application_name: "portcullis-listen" });

  /**
   * Runs `work` on a pooled client that opens and closes its own transaction. When `work` fails,
   * the transaction is rolled back unless the connection broke, and a broken connection is
   * discarded instead of going back to the pool.
   */
  async function onClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      throw mapError(e);
    }
    let broken: unknown;
    const onError = (e: Error) => {
      broken ??= e;
    };
    client.on("error", onError);
    try {
      const result = await work(client);
      client.off("error", onError);
      client.release();
      return result;
    } catch (e) {
      if (broken === undefined && !isConnectionError(e)) {
        try {
          await client.query("ROLLBACK");
        } catch (rollbackError) {
          broken = rollbackError;
        }
      }
      client.off("error", onError);
      const discard = broken ?? (isConnectionError(e) ? e : undefined);
      client.release(discard === undefined ? undefined : discard instanceof Error ? discard : true);
      throw mapError(e);
    }
  }
  let closed = false;
  const ensureOpen = () => {
    if (closed) throw unavailable("STORE-unavail", "database unavailable");
  };

  return {
    dialect: "postgres",

    async query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]> {
      ensureOpen();
      try {
        return rowsOf(await pool.query<R>(sql, valuesOf(params)));
      } catch (e) {
        throw mapError(e);
      }
    },

    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      ensureOpen();
      return onClient(async (client) => {
        let done = false;
        let firstError: unknown;
        const tx: Queryable = {
          query: async <R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]> => {
            if (done) throw new Error("transaction is already finished");
            try {
              return rowsOf(await client.query<R>(sql, valuesOf(params)));
            } catch (e) {
              const mapped = mapError(e);
              firstError ??= mapped;
              throw mapped;
            }
          },
        };
        try {
          await client.query("BEGIN ISOLATION LEVEL READ COMMITTED");
          const result = await fn(tx);
          done = true;
          const commit = await client.query("COMMIT");
          // COMMIT of a transaction aborted by an error that fn swallowed answers ROLLBACK.
          if (commit.command === "ROLLBACK") throw firstError ?? new Error("transaction was rolled back instead of committed");
          return result;
        } catch (e) {
          done = true;
          throw e;
        }
      });
    },

    async script(statements: readonly string[]): Promise<Row[][]> {
      ensureOpen();
      const results = await onClient(async (client) => {
        const text = ["BEGIN ISOLATION LEVEL READ COMMITTED", ...statements, "COMMIT"].join(";\n");
        const res = (await client.query(text)) as unknown as pg.QueryResult[];
        // An error stops the script before COMMIT (the transaction stays open, aborted); so a result
        // per statement and a COMMIT that committed are the only way here.
        const all = Array.isArray(res) ? res : [res];
        if (all.at(-1)?.command !== "COMMIT") throw new Error("transaction script was rolled back instead of committed");
        return all;
      });
      // A statement that held several would shift the results: a bug, and the script did commit.
      if (results.length !== statements.length + 2) throw new Error("transaction script committed, but its results do not match its statements");
      return results.slice(1, -1).map((r) => r.rows ?? []);
    },

    async listen(channel, onMessage, onReconnect) {
      ensureOpen();
      return listener.subscribe(channel, onMessage, onReconnect);
    },

    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: opts.max ?? 10 }),
    async ping(): Promise<boolean> {
      if (closed) return false;
      const attempt = pool
        .query({ text: "SELECT 1", query_timeout: PING_TIMEOUT_MS } as pg.QueryConfig)
        .then(() => true)
        .catch(() => false);
      return withTimeout(attempt, PING_TIMEOUT_MS + 500, false);
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await listener.close();
      // pool.end() waits for checked-out clients; bounded so shutdown never hangs.
      await withTimeout(
        pool.end().catch(() => undefined),
        CLOSE_TIMEOUT_MS,
        undefined,
      );
    },
  };
}
