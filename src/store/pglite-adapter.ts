/**
 * Embedded PostgreSQL (PGlite, WASM) persisted under `<dataDir>/pgdata`.
 *
 * - One process per data directory: `lockDataDir` takes `<dataDir>/portcullis.lock` before PGlite
 *   opens anything (two PGlite processes on one directory silently lose writes).
 * - PGlite is a single connection: every call runs through one FIFO mutex, so a `query()` never
 *   lands inside somebody else's `transaction()`. (PGlite queues internally as well; the adapter
 *   does not rely on that.) Calling the port itself from inside `transaction()` would wait for the
 *   transaction it is part of, so that is rejected with an error instead of hanging: use `tx`.
 * - Durability: PGlite's NodeFS writes through `fs.writeSync` on every WAL write, so a committed
 *   transaction is in the kernel's page cache when `transaction()` resolves and survives a SIGKILL
 *   of this process (tested). PGlite runs postgres with `-F` (fsync off) and its NodeFS has no
 *   fsync, so a power loss / kernel crash right after commit can still lose it.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PGlite, type Transaction } from "@electric-sql/pglite";
import { DomainError, unavailable } from "../domain/errors.js";
import { isBadInputValue, type Queryable, type Row, type SqlError, type SqlPort } from "./sql.js";
import { Mutex } from "./mutex.js";

// ---------------------------------------------------------------------------------------------
// Data directory lock
// ---------------------------------------------------------------------------------------------

export const LOCK_FILE_NAME = "portcullis.lock";

/** Who holds a lock. `bootId`/`pidNs` (Linux only) tell whether a PID can be checked from here. */
export interface LockOwner {
  pid: number;
  hostname: string;
  bootId?: string;
  pidNs?: string;
}

interface LockFileContent extends LockOwner {
  token: string;
  startedAt: string;
}

export interface LockOptions {
  /** How often the holder touches the lock file (its mtime is the heartbeat). Default 2 s. */
  heartbeatMs?: number;
  /**
   * A lock whose owner cannot be checked by PID (another host, another PID namespace, e.g. a
   * previous container) counts as abandoned once its heartbeat is older than this. Default 15 s.
   */
  staleMs?: number;
  /** How long to wait for such a lock to go stale before refusing. Default staleMs + 2 heartbeats. */
  maxWaitMs?: number;
  /** Called when the start is delayed by such a lock. */
  onWait?: (message: string) => void;
  /** Called (once) if the lock file is found replaced or removed by someone else while held. */
  onLost?: () => void;
}

export interface DataDirLock {
  readonly dir: string;
  readonly path: string;
  readonly token: string;
  /** Stops the heartbeat and removes the lock file if it is still ours. Idempotent, synchronous. */
  release(): void;
}

export class DataDirLockedError extends Error {
  override readonly name = "DataDirLockedError";
  readonly code = "EDATADIRLOCKED";
  constructor(
    readonly dir: string,
    readonly owner: LockOwner | undefined,
  ) {
    const who = owner
      ? `pid ${owner.pid}${owner.hostname !== os.hostname() ? ` on host ${owner.hostname}` : ""}`
      : "unknown pid";
    super(
      `data directory ${dir} is in use by another Portcullis process (${who}); ` +
        `stop it or use another PORTCULLIS_DATA_DIR (lock file: ${path.join(dir, LOCK_FILE_NAME)})`,
    );
  }
}

const readProcId = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
};
const readNsLink = (file: string): string | undefined => {
  try {
    return fs.readlinkSync(file);
  } catch {
    return undefined;
  }
};

/** This process's identity as written into the lock file. */
export function describeSelf(): LockOwner {
  const self: LockOwner = { pid: process.pid, hostname: os.hostname() };
  const bootId = readProcId("/proc/sys/kernel/random/boot_id");
  const pidNs = readNsLink("/proc/self/ns/pid");
  if (bootId !== undefined) self.bootId = bootId;
  if (pidNs !== undefined) self.pidNs = pidNs;
  return self;
}

interface HeldLock {
  token: string;
  lockPath: string;
  timer: NodeJS.Timeout;
}
/** Locks held by this process, by real path of the data directory. */
const held = new Map<string, HeldLock>();
let exitHookInstalled = false;

const errno = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null ? ((e as NodeJS.ErrnoException).code ?? undefined) : undefined;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Observed {
  raw: string;
  ino: number;
  mtimeMs: number;
  content: LockFileContent | undefined;
}

function observe(lockPath: string): Observed | undefined {
  let fd: number;
  try {
    fd = fs.openSync(lockPath, "r");
  } catch (e) {
    if (errno(e) === "ENOENT") return undefined;
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    const raw = fs.readFileSync(fd, "utf8");
    let content: LockFileContent | undefined;
    try {
      const v = JSON.parse(raw) as Partial<LockFileContent>;
      if (typeof v.pid === "number" && Number.isInteger(v.pid) && v.pid > 0 && typeof v.hostname === "string" && typeof v.token === "string")
        content = v as LockFileContent;
    } catch {
      content = undefined;
    }
    return { raw, ino: st.ino, mtimeMs: st.mtimeMs, content };
  } finally {
    fs.closeSync(fd);
  }
}

/** Creates the lock file atomically with its full content; false if it already exists. */
function tryCreate(lockPath: string, raw: string, token: string): boolean {
  const tmp = `${lockPath}.${token}.tmp`;
  fs.writeFileSync(tmp, raw, { mode: 0o644 });
  try {
    try {
      fs.linkSync(tmp, lockPath); // atomic, fails with EEXIST; the file never appears half-written
      return true;
    } catch (e) {
      if (errno(e) === "EEXIST") return false;
      // Filesystems without hard links: exclusive create, then write.
      if (!["EPERM", "ENOTSUP", "EOPNOTSUPP", "EXDEV", "ENOSYS", "EMLINK"].includes(errno(e) ?? "")) throw e;
    }
    let fd: number;
    try {
      fd = fs.openSync(lockPath, "wx");
    } catch (e) {
      if (errno(e) === "EEXIST") return false;
      throw e;
    }
    try {
      fs.writeSync(fd, raw);
    } finally {
      fs.closeSync(fd);
    }
    return true;
  } finally {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* already gone */
    }
  }
}

const GUARD_STALE_MS = 10_000;

/**
 * Removes a lock file judged stale, but only if it is still exactly that file. Removal happens
 * under a short-lived guard file (`<lock>.takeover`, created atomically like the lock itself) so
 * that two starters taking over the same stale lock cannot delete each other's fresh lock.
 * Returns false when another starter holds the guard (try again shortly).
 */
function removeStale(lockPath: string, seen: Observed, token: string): boolean {
  const guardPath = `${lockPath}.takeover`;
  if (!tryCreate(guardPath, JSON.stringify({ pid: process.pid, token }) + "\n", token)) {
    // Held only for a few syscalls; one older than GUARD_STALE_MS was left by a crash.
    const guard = observe(guardPath);
    if (guard && Date.now() - guard.mtimeMs > GUARD_STALE_MS) {
      try {
        fs.unlinkSync(guardPath);
      } catch {
        /* someone else cleaned it */
      }
    }
    return false;
  }
  try {
    const now = observe(lockPath);
    if (now && now.ino === seen.ino && now.raw === seen.raw) fs.unlinkSync(lockPath);
  } finally {
    try {
      fs.unlinkSync(guardPath);
    } catch {
      /* ignore */
    }
  }
  return true;
}

type Verdict = { kind: "stale" } | { kind: "held" } | { kind: "wait"; ms: number };

function judge(seen: Observed, me: LockOwner, staleMs: number): Verdict {
  const owner = seen.content;
  const sameNamespace =
    owner !== undefined && owner.hostname === me.hostname && owner.bootId === me.bootId && owner.pidNs === me.pidNs;
  if (owner && sameNamespace) {
    // Our own PID but not in our registry: a previous process that had this PID. It is gone.
    if (owner.pid === me.pid) return { kind: "stale" };
    try {
      process.kill(owner.pid, 0);
      return { kind: "held" };
    } catch (e) {
      if (errno(e) === "ESRCH") return { kind: "stale" };
      if (errno(e) === "EPERM") return { kind: "held" };
    }
  }
  // Owner not checkable from here: rely on the heartbeat.
  const age = Date.now() - seen.mtimeMs;
  if (age >= staleMs) return { kind: "stale" };
  return { kind: "wait", ms: Math.max(50, staleMs - age + 50) };
}

function releaseSync(key: string): void {
  const h = held.get(key);
  if (!h) return;
  held.delete(key);
  clearInterval(h.timer);
  const seen = observe(h.lockPath);
  if (seen?.content?.token === h.token) {
    try {
      fs.unlinkSync(h.lockPath);
    } catch {
      /* ignore */
    }
  }
}

/**
 * Takes the exclusive lock on `dir` (created if missing). Rejects with DataDirLockedError when
 * another live process (or this process) holds it. A lock left behind by a dead process is taken
 * over: immediately when its PID can be checked (same host and PID namespace), otherwise once its
 * heartbeat is older than `staleMs` (waiting up to `maxWaitMs` for that).
 */
export async function lockDataDir(dir: string, opts: LockOptions = {}): Promise<DataDirLock> {
  const heartbeatMs = opts.heartbeatMs ?? 2_000;
  const staleMs = opts.staleMs ?? 15_000;
  const maxWaitMs = opts.maxWaitMs ?? staleMs + 2 * heartbeatMs;
  fs.mkdirSync(dir, { recursive: true });
  const key = fs.realpathSync(dir);
  const lockPath = path.join(key, LOCK_FILE_NAME);
  const me = describeSelf();
  if (held.has(key)) throw new DataDirLockedError(dir, me);

  const token = randomUUID();
  const raw = JSON.stringify({ ...me, token, startedAt: new Date().toISOString() } satisfies LockFileContent) + "\n";
  const deadline = Date.now() + maxWaitMs;
  let waitedOn: { raw: string; mtimeMs: number } | undefined;

  for (let attempt = 0; ; attempt++) {
    if (held.has(key)) throw new DataDirLockedError(dir, me); // another open in this process won the race
    if (tryCreate(lockPath, raw, token)) break;
    const seen = observe(lockPath);
    if (!seen) continue; // released meanwhile
    const verdict = judge(seen, me, staleMs);
    if (verdict.kind === "held") throw new DataDirLockedError(dir, seen.content);
    if (verdict.kind === "stale") {
      if (attempt > 1_000) throw new Error(`could not take over the stale lock ${lockPath}`);
      if (!removeStale(lockPath, seen, token)) await sleep(5 + Math.random() * 20);
      continue;
    }
    // Heartbeat-based: an advancing mtime means the owner is alive.
    if (waitedOn && waitedOn.raw === seen.raw && seen.mtimeMs > waitedOn.mtimeMs) throw new DataDirLockedError(dir, seen.content);
    if (Date.now() + verdict.ms > deadline) throw new DataDirLockedError(dir, seen.content);
    opts.onWait?.(
      `data directory ${dir} is locked by pid ${seen.content?.pid ?? "?"} on host ${seen.content?.hostname ?? "?"} ` +
        `that cannot be checked from here; waiting ${Math.ceil(verdict.ms / 1000)}s for its heartbeat to go stale`,
    );
    waitedOn = { raw: seen.raw, mtimeMs: seen.mtimeMs };
    await sleep(verdict.ms);
  }

  let lost = false;
  const timer = setInterval(() => {
    if (lost) return;
    try {
      const seen = observe(lockPath);
      if (seen?.content?.token === token) {
        const now = new Date();
        fs.utimesSync(lockPath, now, now);
        return;
      }
    } catch {
      return; // transient I/O error: try again next beat
    }
    lost = true;
    clearInterval(timer);
    opts.onLost?.();
  }, heartbeatMs);
  timer.unref();
  held.set(key, { token, lockPath, timer });
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const k of [...held.keys()]) releaseSync(k);
    });
  }
  return { dir: key, path: lockPath, token, release: () => releaseSync(key) };
}

// ---------------------------------------------------------------------------------------------
// Adapter
// ---------------------------------------------------------------------------------------------

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

export async function openPglite(dataDir: string): Promise<SqlPort> {
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
    const pgdata = path.join(root, "pgdata");
    fs.mkdirSync(pgdata, { recursive: true });
    // relaxedDurability stays false (the default): results are returned only after the sync.
    db = await PGlite.create({ dataDir: pgdata, relaxedDurability: false });
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

    async listen() {
      return async () => {};
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
