/**
 * Reaching PostgreSQL at start-up. In compose files and Kubernetes the database often comes up
 * seconds after Portcullis: `waitForPostgres` retries a connection with backoff up to a limit,
 * reporting each failed attempt, and gives up with one line naming host, port and the last error.
 * Nothing here ever prints the URL's password.
 */
import pg from "pg";
import { isConnectionError } from "./postgres-adapter.js";

/** Where a postgres:// URL points (for messages: never the user's password). */
export interface PostgresTarget {
  host: string;
  port: number;
  database: string;
}

export function describePostgresUrl(url: string): PostgresTarget {
  try {
    const u = new URL(url);
    const host = u.searchParams.get("host") || decodeURIComponent(u.hostname) || "localhost";
    const port = Number(u.searchParams.get("port") || u.port || 5432);
    return { host, port, database: decodeURIComponent(u.pathname.replace(/^\//, "")) || decodeURIComponent(u.username) || "postgres" };
  } catch {
    return { host: "?", port: 5432, database: "?" };
  }
}

/** A failed attempt, as the caller logs it. */
export interface PostgresAttempt extends PostgresTarget {
  attempt: number;
  /** The driver's message with its code, e.g. `connect ECONNREFUSED 127.0.0.1:5432 (ECONNREFUSED)`. */
  error: string;
  /** Milliseconds until the next attempt. */
  retryInMs: number;
}

/** PostgreSQL could not be reached (or refused us) at start-up: one line for the operator. */
export class DatabaseUnreachableError extends Error {
  override readonly name = "DatabaseUnreachableError";
}

const password = (url: string) => {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return "";
  }
};

/** The error as one line: message and code, the URL's password masked should a driver ever echo it. */
export function describePgError(e: unknown, url: string): string {
  const parts: string[] = [];
  const errors = e instanceof AggregateError && e.errors.length > 0 ? e.errors : [e];
  for (const err of errors) {
    const message = err instanceof Error ? err.message : String(err);
    const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
    const text = (message || String(code ?? "error")).split("\n")[0]!;
    const withCode = typeof code === "string" && !text.includes(code) ? `${text} (${code})` : text;
    if (!parts.includes(withCode)) parts.push(withCode);
  }
  const secret = password(url);
  const line = parts.join("; ");
  return secret ? line.split(secret).join("***") : line;
}

/** One connection attempt: connect and `SELECT 1`, within `timeoutMs`. Resolves to the error, or undefined. */
export async function probePostgres(url: string, timeoutMs: number): Promise<unknown> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs, application_name: "portcullis" });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (e) {
    return e ?? new Error("connection failed");
  } finally {
    await client.end().catch(() => undefined);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/**
 * Waits until PostgreSQL answers, retrying connection failures (refused, unknown host, timeout, "the
 * database system is starting up") with backoff (250 ms doubling to 5 s) until `timeoutMs` has
 * passed. An error that waiting does not fix (wrong password, unknown database) fails at once.
 */
export async function waitForPostgres(
  url: string,
  opts: { timeoutMs: number; connectTimeoutMs: number; onRetry?: (a: PostgresAttempt) => void },
): Promise<void> {
  const target = describePostgresUrl(url);
  const where = `PostgreSQL at ${target.host}:${target.port}`;
  const deadline = Date.now() + opts.timeoutMs;
  let delay = 250;
  for (let attempt = 1; ; attempt++) {
    // The last attempts get what is left of the limit (but at least 250 ms); a limit of 0 tries once.
    const remaining = deadline - Date.now();
    const error = await probePostgres(url, opts.timeoutMs === 0 ? opts.connectTimeoutMs : Math.max(250, Math.min(opts.connectTimeoutMs, remaining)));
    if (error === undefined) return;
    const message = describePgError(error, url);
    if (!isConnectionError(error)) throw new DatabaseUnreachableError(`${where} refused the connection: ${message}; check PORTCULLIS_DATABASE_URL`);
    const left = deadline - Date.now();
    if (left <= 0)
      throw new DatabaseUnreachableError(
        `${where} is not reachable (${message}); gave up after ${attempt} attempt${attempt === 1 ? "" : "s"} in ${seconds(opts.timeoutMs)} ` +
          `(PORTCULLIS_DB_STARTUP_TIMEOUT_MS); check PORTCULLIS_DATABASE_URL and that the database is up`,
      );
    const wait = Math.min(delay, left);
    opts.onRetry?.({ ...target, attempt, error: message, retryInMs: wait });
    await sleep(wait);
    delay = Math.min(delay * 2, 5_000);
  }
}
