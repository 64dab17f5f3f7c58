/**
 * The SQL port: the only way the store talks to a database. Two adapters implement it with the
 * same SQL (PostgreSQL dialect): PGlite (embedded) and PostgreSQL (a pool).
 *
 * Errors: a lost or refused connection surfaces as DomainError("Unavailable", "STORE-unavail", ...)
 * so that every edge answers Unavailable (14 / 503) rather than crashing. A unique violation keeps
 * its SQLSTATE in `code` ("23505") and the violated constraint in `constraint`, so the event store
 * can tell an optimistic-concurrency conflict from a unique-constraint claim.
 */
export interface Row {
  [column: string]: unknown;
}

export interface Queryable {
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]>;
}

export interface SqlPort extends Queryable {
  readonly dialect: "pglite" | "postgres";
  /** Runs fn in one transaction (READ COMMITTED); commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * PostgreSQL only: runs the statements (no parameters; values inlined as literals, one statement
   * each) as one READ COMMITTED transaction in a single round trip (simple protocol) and returns
   * each statement's rows. An error rolls back everything and is thrown as transaction() would throw it.
   */
  script?(statements: readonly string[]): Promise<Row[][]>;
  /**
   * Subscribe to a notification channel (LISTEN). PostgreSQL only; PGlite is one process, so
   * it invokes nothing and returns a no-op unsubscribe. The adapter re-listens after reconnects
   * and calls `onReconnect` so caches can be dropped (notifications may have been missed).
   */
  listen(channel: string, onMessage: (payload: string) => void, onReconnect?: () => void): Promise<() => Promise<void>>;
  /** PostgreSQL only: the pool's connections now (for metrics). */
  poolStats?(): { total: number; idle: number; waiting: number; max: number };
  /**
   * Embedded store only: a consistent copy of the whole data directory (a gzipped tar), taken after
   * a CHECKPOINT while no other statement runs (store/backup.ts). PostgreSQL: pg_dump.
   */
  dump?(): Promise<Buffer>;
  /** True while the database answered the last attempt (used by /debug/ready). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface SqlError extends Error {
  code?: string;
  constraint?: string;
}

/**
 * Input PostgreSQL cannot take (a NUL character or invalid byte sequence in text, a uint64 beyond
 * bigint): the caller's input is bad, so the edges answer InvalidArgument, not Internal.
 */
export const isBadInputValue = (e: unknown): boolean => {
  const code = typeof e === "object" && e !== null ? (e as SqlError).code : undefined;
  return code === "22021" || code === "22P05" || code === "22003";
};

export const isUniqueViolation = (e: unknown): e is SqlError =>
  typeof e === "object" && e !== null && (e as SqlError).code === "23505";
