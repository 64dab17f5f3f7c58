import * as fs from "node:fs";
import * as path from "node:path";
import { unavailable } from "../domain/errors.js";
import type { Queryable } from "./sql.js";
import type { UsedAssertions } from "./used-assertions.js";

/**
 * The used-assertion marks of the embedded store (issue #16): a map in memory, made durable by an
 * append-only file `<dataDir>/used-assertions.log` instead of a row in PGlite's `used_assertions`.
 *
 * Why: on PGlite each claim was an INSERT run in WebAssembly on the main thread plus a synchronous
 * fdatasync per commit, also on the main thread — about a third of a token exchange's time. Here
 * the check is a map lookup, and durability is one `write` + `fdatasync` per group of claims through
 * `fs.promises`, which runs on libuv's thread pool: the main thread keeps serving requests meanwhile.
 * Only one process holds the data directory (`portcullis.lock`), so the map is the authority; on
 * PostgreSQL the table stays (processes share it).
 *
 * - A claim of an id with a live mark (until > now) is false at once. Otherwise the mark is set in
 *   the map right away (a concurrent claim of the same id loses) and a record is queued; the claim
 *   resolves true only once its record is written and fdatasync'ed (`db.embeddedFsync`; off: written
 *   to the kernel only, as PGlite's own `-F`). Records queued while one append is in flight go
 *   together in the next: one write, one fdatasync (group commit).
 * - A failed append rejects that batch's claims (the caller answers 503) and keeps their marks in
 *   memory (conservative: those assertions are refused until they end). The file is cut back to
 *   its last good length before the next append, so a partly written record cannot swallow the next.
 * - Format: one JSON array per line, `["<instance>","<id>",<untilMs>]` — JSON escapes a newline or
 *   tab in an id. On open, a last line without its newline (a crash mid-append; never acknowledged)
 *   is dropped and the file cut back to the last complete line; ended marks are skipped. The live
 *   rows of the old `used_assertions` table (data directories of earlier versions) are read once.
 * - Memory: a mark lives until its assertion could no longer be accepted (the callers' untilMs, at
 *   most the assertion's exp + 60 s), and `prune` drops ended marks, so the map holds about
 *   (accepted assertions per second) × (their lifetime): ~100 bytes each, e.g. 100/s of one-hour
 *   assertions ≈ 360,000 marks ≈ 40 MB.
 * - Compaction: when the file holds many more records than live marks (> 2 × live + 10,000), `prune`
 *   asks for a rewrite: live marks to `used-assertions.log.tmp`, fdatasync, rename over the log,
 *   fsync the directory. File operations run one at a time (appends and rewrites never overlap).
 */
export interface UsedAssertionLog extends UsedAssertions {
  /** Waits for queued appends (and a running rewrite), then closes the file; later claims are refused. */
  close(): Promise<void>;
}

/** The file operations used (fs.promises by default; tests inject failures or count syncs). */
export interface LogHandle {
  write(buffer: Buffer, offset: number, length: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}
export interface LogFs {
  open(file: string, flags: string): Promise<LogHandle>;
  readFile(file: string): Promise<Buffer>;
  rename(from: string, to: string): Promise<void>;
}

export interface UsedAssertionLogOptions {
  /** fdatasync each append (config db.embeddedFsync); default true. */
  fsync?: boolean;
  /** The store whose `used_assertions` rows (written by earlier versions) are honoured at open. */
  sql?: Queryable;
  pruneEveryMs?: number;
  /** A failed prune or rewrite (the marks stay in memory; the file is rewritten at a later prune). */
  onError?: (e: unknown) => void;
  now?: () => number;
  fs?: LogFs;
}

export const USED_ASSERTION_LOG = "used-assertions.log";

const nodeFs: LogFs = {
  open: (file, flags) => fs.promises.open(file, flags),
  readFile: (file) => fs.promises.readFile(file),
  rename: (from, to) => fs.promises.rename(from, to),
};

interface Pending {
  line: string;
  resolve: (claimed: boolean) => void;
  reject: (e: unknown) => void;
}

const keyOf = (instanceId: string, id: string) => `${instanceId}\u0000${id}`;
const lineOf = (key: string, untilMs: number) => {
  const sep = key.indexOf("\u0000");
  return `${JSON.stringify([key.slice(0, sep), key.slice(sep + 1), untilMs])}\n`;
};

/** The marks of complete lines, and the length of the file up to its last complete line. */
function parse(text: Buffer, nowMs: number, marks: Map<string, number>): { records: number; goodLength: number } {
  const goodLength = text.lastIndexOf(0x0a) + 1;
  let records = 0;
  for (const line of text.subarray(0, goodLength).toString("utf8").split("\n")) {
    if (line === "") continue;
    records++;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      continue; // cannot be a record this code wrote whole; nothing to honour
    }
    if (!Array.isArray(rec) || typeof rec[0] !== "string" || typeof rec[1] !== "string" || typeof rec[2] !== "number") continue;
    const [instanceId, id, untilMs] = rec as [string, string, number];
    if (untilMs <= nowMs) continue;
    const key = keyOf(instanceId, id);
    if ((marks.get(key) ?? 0) < untilMs) marks.set(key, untilMs);
  }
  return { records, goodLength };
}

async function writeAll(fh: LogHandle, buf: Buffer): Promise<void> {
  for (let off = 0; off < buf.length; ) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
}

/** Makes a created or renamed directory entry durable (not possible everywhere, e.g. Windows). */
async function syncDir(lfs: LogFs, dir: string): Promise<void> {
  let dh: LogHandle | undefined;
  try {
    dh = await lfs.open(dir, "r");
    await dh.sync();
  } catch (e) {
    if (!["EISDIR", "EINVAL", "EPERM", "EBADF"].includes((e as NodeJS.ErrnoException).code ?? "")) throw e;
  } finally {
    await dh?.close().catch(() => undefined);
  }
}

export async function createUsedAssertionLog(dataDir: string, opts: UsedAssertionLogOptions = {}): Promise<UsedAssertionLog> {
  const lfs = opts.fs ?? nodeFs;
  const doSync = opts.fsync ?? true;
  const now = opts.now ?? Date.now;
  const pruneEveryMs = opts.pruneEveryMs ?? 60_000;
  const file = path.join(dataDir, USED_ASSERTION_LOG);
  const tmpFile = `${file}.tmp`;
  const marks = new Map<string, number>();

  // Open: the file's live marks, the old table's live rows; a torn last line is cut off.
  const openedAt = now();
  let existing: Buffer | undefined;
  try {
    existing = await lfs.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const { records: fileRecords, goodLength } = existing ? parse(existing, openedAt, marks) : { records: 0, goodLength: 0 };
  let records = fileRecords;
  if (opts.sql) {
    const rows = await opts.sql.query<{ instance_id: string; id: string; expires_at: Date | string }>(
      "SELECT instance_id, id, expires_at FROM used_assertions WHERE expires_at > $1",
      [new Date(openedAt)],
    );
    for (const r of rows) {
      const key = keyOf(r.instance_id, r.id);
      const untilMs = new Date(r.expires_at).getTime();
      if ((marks.get(key) ?? 0) < untilMs) marks.set(key, untilMs);
    }
  }
  // The file is made by the first append (a store that never spends an assertion has none).
  let fh: LogHandle | undefined;
  let created = existing !== undefined;
  /** The file's length up to the last record known whole; an append that failed is cut back to it. */
  let length = goodLength;
  let cutBack = false;
  if (existing !== undefined && goodLength < existing.length) {
    fh = await lfs.open(file, "a");
    try {
      await fh.truncate(goodLength);
      if (doSync) await fh.datasync();
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
  }

  let queue: Pending[] = [];
  let running = false;
  let compactWanted = false;
  let closed = false;
  let lastPrune = Number.NEGATIVE_INFINITY;
  const idle: Array<() => void> = [];

  const append = async (batch: Pending[]) => {
    fh ??= await lfs.open(file, "a");
    if (cutBack) {
      await fh.truncate(length);
      cutBack = false;
    }
    const buf = Buffer.from(batch.map((p) => p.line).join(""), "utf8");
    try {
      await writeAll(fh, buf);
      if (doSync) await fh.datasync();
      if (!created) {
        // The new file's directory entry is durable too before its first records are acknowledged.
        if (doSync) await syncDir(lfs, dataDir);
        created = true;
      }
    } catch (e) {
      cutBack = true;
      throw e;
    }
    length += buf.length;
    records += batch.length;
  };

  const compact = async () => {
    const nowMs = now();
    const live = [...marks].filter(([, until]) => until > nowMs);
    const buf = Buffer.from(live.map(([key, until]) => lineOf(key, until)).join(""), "utf8");
    const tmp = await lfs.open(tmpFile, "w");
    try {
      await writeAll(tmp, buf);
      if (doSync) await tmp.datasync();
    } finally {
      await tmp.close();
    }
    await lfs.rename(tmpFile, file);
    if (doSync) await syncDir(lfs, dataDir);
    created = true;
    // The old handle points at the replaced file; the next append opens the new one.
    const old = fh;
    fh = undefined;
    cutBack = false;
    length = buf.length;
    records = live.length;
    await old?.close().catch(() => undefined);
  };

  const drain = async () => {
    try {
      while (queue.length > 0 || compactWanted) {
        if (compactWanted) {
          compactWanted = false;
          await compact().catch((e: unknown) => opts.onError?.(e));
          continue;
        }
        const batch = queue;
        queue = [];
        try {
          await append(batch);
          for (const p of batch) p.resolve(true);
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      running = false;
      for (const done of idle.splice(0)) done();
    }
  };

  const kick = () => {
    if (running) return;
    running = true;
    // After the requests the event loop has already taken in have queued their claims.
    setImmediate(() => void drain());
  };

  const log: UsedAssertionLog = {
    claim(instanceId, id, untilMs, nowMs) {
      if (closed) return Promise.reject(unavailable("STORE-unavail", "database unavailable"));
      if (nowMs - lastPrune >= pruneEveryMs) {
        lastPrune = nowMs;
        log.prune(nowMs).catch((e: unknown) => opts.onError?.(e));
      }
      const key = keyOf(instanceId, id);
      const until = marks.get(key);
      if (until !== undefined && until > nowMs) return Promise.resolve(false);
      marks.set(key, untilMs);
      return new Promise<boolean>((resolve, reject) => {
        queue.push({ line: lineOf(key, untilMs), resolve, reject });
        kick();
      });
    },
    async prune(nowMs) {
      let n = 0;
      for (const [key, until] of marks) if (until <= nowMs && marks.delete(key)) n++;
      if (!closed && records > 2 * marks.size + 10_000) {
        compactWanted = true;
        kick();
      }
      return n;
    },
    async close() {
      closed = true;
      if (running) await new Promise<void>((done) => idle.push(done));
      const last = fh;
      fh = undefined;
      await last?.close();
    },
  };
  return log;
}
