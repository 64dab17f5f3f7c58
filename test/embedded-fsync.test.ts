import fs, { mkdtempSync, rmSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPglite } from "../src/store/pglite-adapter.js";

/**
 * The embedded store syncs every commit to disk by default (db.embeddedFsync): PostgreSQL's own
 * fsync reaches the file (fdatasync on the WAL) before the commit is acknowledged.
 */
describe("embedded store durability", () => {
  let syncs = 0;
  const original = fs.fdatasyncSync;
  beforeAll(() => {
    fs.fdatasyncSync = (fd: number) => {
      syncs++;
      original(fd);
    };
    syncBuiltinESMExports();
  });
  afterAll(() => {
    fs.fdatasyncSync = original;
    syncBuiltinESMExports();
  });

  for (const fsync of [true, false]) {
    it(`db.embeddedFsync=${fsync}: ${fsync ? "every commit is synced to disk before it resolves" : "no sync (written through to the OS only)"}`, async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), "portcullis-fsync-"));
      const sql = await openPglite(dir, fsync ? {} : { fsync: false });
      try {
        expect((await sql.query<{ fsync: string }>("SHOW fsync"))[0]!.fsync).toBe(fsync ? "on" : "off");
        await sql.query("CREATE TABLE t (v int)");
        syncs = 0;
        for (let i = 0; i < 20; i++) await sql.transaction(async (tx) => void (await tx.query("INSERT INTO t VALUES ($1)", [i])));
        if (fsync) expect(syncs).toBeGreaterThanOrEqual(20);
        else expect(syncs).toBe(0);
        // A transaction script (the event store's group commit) is synced before it resolves too.
        syncs = 0;
        for (let i = 20; i < 25; i++) await sql.script!([`INSERT INTO t VALUES (${i})`, `INSERT INTO t VALUES (${i + 100})`]);
        if (fsync) expect(syncs).toBeGreaterThanOrEqual(5);
        else expect(syncs).toBe(0);
        await sql.close();
        // Reopened, every committed row is there.
        const again = await openPglite(dir, { fsync });
        expect((await again.query<{ n: number }>("SELECT count(*)::int AS n FROM t"))[0]!.n).toBe(30);
        await again.close();
      } finally {
        await sql.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
