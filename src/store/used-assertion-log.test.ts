import * as fs from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createUsedAssertionLog, USED_ASSERTION_LOG, type LogFs, type LogHandle } from "./used-assertion-log.js";

const HOUR = 3600_000;

/** fs.promises, with the data syncs counted, and a way to hold them or make writes fail. */
function instrumentedFs() {
  const state = {
    datasyncs: 0,
    writes: 0,
    failWrites: false,
    /** While set, datasync waits for it. */
    hold: undefined as Promise<void> | undefined,
  };
  const wrap = (h: fs.promises.FileHandle): LogHandle => ({
    async write(buf, off, len) {
      state.writes++;
      if (state.failWrites) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
      return h.write(buf, off, len);
    },
    async datasync() {
      if (state.hold) await state.hold;
      state.datasyncs++;
      return h.datasync();
    },
    sync: () => h.sync(),
    truncate: (n) => h.truncate(n),
    close: () => h.close(),
  });
  const lfs: LogFs = {
    open: async (f, flags) => wrap(await fs.promises.open(f, flags)),
    readFile: (f) => fs.promises.readFile(f),
    rename: (a, b) => fs.promises.rename(a, b),
  };
  return { state, lfs };
}

// The embedded store's single-use marks: answers as the table gave them, each true only once durable.
describe("used assertion log", () => {
  let dir: string;
  const now = Date.now();
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "used-log-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const logFile = () => path.join(dir, USED_ASSERTION_LOG);

  it("answers a claim true only after its record is synced to disk", async () => {
    const { state, lfs } = instrumentedFs();
    const log = await createUsedAssertionLog(dir, { fs: lfs });
    let release!: () => void;
    state.hold = new Promise<void>((r) => (release = r));
    let answered: boolean | undefined;
    const p = log.claim("inst", "a", now + HOUR, now).then((c) => (answered = c));
    await new Promise((r) => setTimeout(r, 50));
    expect(state.writes).toBe(1);
    expect(answered).toBeUndefined();
    state.hold = undefined;
    release();
    await p;
    expect(answered).toBe(true);
    expect(state.datasyncs).toBeGreaterThanOrEqual(1);
    await log.close();
  });

  it("makes no file until the first claim, and a file that a reopen honours after it", async () => {
    const log = await createUsedAssertionLog(dir);
    expect(fs.existsSync(logFile())).toBe(false);
    expect(await log.claim("inst", "first", now + HOUR, now)).toBe(true);
    expect(fs.existsSync(logFile())).toBe(true);
    await log.close();
    const again = await createUsedAssertionLog(dir);
    expect(await again.claim("inst", "first", now + HOUR, now + 1)).toBe(false);
    await again.close();
  });

  it("gives exactly one true for the same id, in one batch and across batches, and per instance", async () => {
    const log = await createUsedAssertionLog(dir);
    const same = await Promise.all(Array.from({ length: 5 }, () => log.claim("inst", "x", now + HOUR, now)));
    expect(same.filter((c) => c)).toHaveLength(1);
    expect(await log.claim("inst", "x", now + HOUR, now + 1)).toBe(false);
    expect(await log.claim("other", "x", now + HOUR, now)).toBe(true);
    await log.close();
  });

  it("lets an ended mark be claimed again, not a live one", async () => {
    const log = await createUsedAssertionLog(dir, { pruneEveryMs: Number.POSITIVE_INFINITY });
    expect(await log.claim("inst", "ends", now + 1_000, now)).toBe(true);
    expect(await log.claim("inst", "ends", now + 60_000, now + 500)).toBe(false);
    expect(await log.claim("inst", "ends", now + 60_000, now + 2_000)).toBe(true);
    await log.close();
  });

  it("keeps marks across close and reopen, ids with tabs and newlines included", async () => {
    const log = await createUsedAssertionLog(dir);
    const ids = ["plain", "tab\there", "new\nline", 'quote"d', "ünï"];
    expect(await Promise.all(ids.map((id) => log.claim("inst", id, now + HOUR, now)))).toEqual(ids.map(() => true));
    expect(await log.claim("inst", "short", now + 10, now)).toBe(true);
    await log.close();
    const again = await createUsedAssertionLog(dir, { now: () => now + 100 });
    expect(await Promise.all(ids.map((id) => again.claim("inst", id, now + HOUR, now + 100)))).toEqual(ids.map(() => false));
    expect(await again.claim("inst", "short", now + HOUR, now + 100)).toBe(true);
    await again.close();
  });

  it("drops a torn last line at open, and the next append still reads back", async () => {
    const log = await createUsedAssertionLog(dir);
    expect(await log.claim("inst", "kept", now + HOUR, now)).toBe(true);
    await log.close();
    fs.appendFileSync(logFile(), '["inst","torn",17');
    const reopened = await createUsedAssertionLog(dir);
    expect(fs.readFileSync(logFile(), "utf8").endsWith("\n")).toBe(true);
    expect(await reopened.claim("inst", "torn", now + HOUR, now)).toBe(true);
    expect(await reopened.claim("inst", "next", now + HOUR, now)).toBe(true);
    await reopened.close();
    const third = await createUsedAssertionLog(dir);
    for (const id of ["kept", "torn", "next"]) expect(await third.claim("inst", id, now + HOUR, now)).toBe(false);
    await third.close();
    expect(fs.readFileSync(logFile(), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as unknown)).toHaveLength(3);
  });

  it("compacts the file to the live marks, and the result reopens", async () => {
    const log = await createUsedAssertionLog(dir, { pruneEveryMs: Number.POSITIVE_INFINITY });
    const ended = Array.from({ length: 12_000 }, (_, i) => `e-${i}`);
    await Promise.all(ended.map((id) => log.claim("inst", id, now + 1_000, now)));
    expect(await log.claim("inst", "live", now + HOUR, now)).toBe(true);
    expect(await log.prune(now + 2_000)).toBe(12_000);
    // The rewrite runs with the next file operation; a claim afterwards is appended to the new file.
    expect(await log.claim("inst", "after", now + HOUR, now + 2_000)).toBe(true);
    await log.close();
    const lines = fs.readFileSync(logFile(), "utf8").split("\n").filter(Boolean);
    // "after" is in the rewrite (it was in memory) and appended after it: a duplicate is harmless.
    expect(new Set(lines.map((l) => (JSON.parse(l) as string[])[1]))).toEqual(new Set(["live", "after"]));
    expect(lines.length).toBeLessThanOrEqual(3);
    expect(fs.existsSync(`${logFile()}.tmp`)).toBe(false);
    const again = await createUsedAssertionLog(dir, { now: () => now + 2_000 });
    expect(await again.claim("inst", "live", now + HOUR, now + 2_000)).toBe(false);
    expect(await again.claim("inst", "after", now + HOUR, now + 2_000)).toBe(false);
    expect(await again.claim("inst", "e-1", now + HOUR, now + 2_000)).toBe(true);
    await again.close();
  });

  it("rejects the claims of a batch whose write fails, and later appends still read back", async () => {
    const { state, lfs } = instrumentedFs();
    const log = await createUsedAssertionLog(dir, { fs: lfs });
    state.failWrites = true;
    const failed = await Promise.allSettled([log.claim("inst", "f1", now + HOUR, now), log.claim("inst", "f2", now + HOUR, now)]);
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    // Kept in memory: refused rather than accepted twice.
    expect(await log.claim("inst", "f1", now + HOUR, now)).toBe(false);
    state.failWrites = false;
    expect(await log.claim("inst", "ok", now + HOUR, now)).toBe(true);
    await log.close();
    const again = await createUsedAssertionLog(dir);
    expect(await again.claim("inst", "ok", now + HOUR, now)).toBe(false);
    await again.close();
  });

  it("answers 500 concurrent claims with far fewer than 500 syncs", async () => {
    const { state, lfs } = instrumentedFs();
    const log = await createUsedAssertionLog(dir, { fs: lfs });
    const before = state.datasyncs;
    const r = await Promise.all(Array.from({ length: 500 }, (_, i) => log.claim("inst", `c-${i}`, now + HOUR, now)));
    expect(r.every((c) => c)).toBe(true);
    expect(state.datasyncs - before).toBeLessThan(10);
    await log.close();
  });

  it("writes without syncing when db.embeddedFsync is off", async () => {
    const { state, lfs } = instrumentedFs();
    const log = await createUsedAssertionLog(dir, { fs: lfs, fsync: false });
    expect(await log.claim("inst", "a", now + HOUR, now)).toBe(true);
    expect(state.datasyncs).toBe(0);
    await log.close();
  });

  it("honours the live rows of the old used_assertions table", async () => {
    const sql = {
      query: async <T,>(text: string, params?: readonly unknown[]) => {
        expect(text).toContain("FROM used_assertions");
        const at = (params?.[0] as Date).getTime();
        const rows = [
          { instance_id: "inst", id: "old-live", expires_at: new Date(now + HOUR) },
          { instance_id: "inst", id: "old-ended", expires_at: new Date(now - 1) },
        ];
        return rows.filter((r) => r.expires_at.getTime() > at) as T[];
      },
    };
    const log = await createUsedAssertionLog(dir, { sql: sql as never, now: () => now });
    expect(await log.claim("inst", "old-live", now + HOUR, now)).toBe(false);
    expect(await log.claim("inst", "old-ended", now + HOUR, now)).toBe(true);
    await log.close();
  });

  it("refuses claims after close", async () => {
    const log = await createUsedAssertionLog(dir);
    const pending = log.claim("inst", "late", now + HOUR, now);
    await log.close();
    expect(await pending).toBe(true);
    await expect(log.claim("inst", "later", now + HOUR, now)).rejects.toThrow(/unavailable/);
  });
});
