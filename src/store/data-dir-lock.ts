/**
 * The data directory lock: one process per data directory. `lockDataDir` takes
 * `<dataDir>/portcullis.lock` before PGlite opens anything (two PGlite processes on one directory
 * silently lose writes). The file holds the owner's PID and host and is touched as a heartbeat; a
 * lock left by a dead process is taken over.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

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
