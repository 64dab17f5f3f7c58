import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PROJECTION_TABLES } from "../src/store/migrations.js";
import { rebuildProjections } from "../src/store/rebuild.js";
import { startTestServer } from "./helpers/server.js";
import { rest } from "./helpers/clients.js";
import { runCli } from "./helpers/process.js";

/** A small tmpfs for the embedded store; needs root (as CI runs). */
function mountSmallDisk(): string | undefined {
  const dir = mkdtempSync(path.join(os.tmpdir(), "portcullis-full-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", dir], { stdio: "ignore" });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

const disk = mountSmallDisk();
afterAll(() => {
  if (!disk) return;
  execFileSync("umount", [disk]);
  rmSync(disk, { recursive: true, force: true });
});

describe.skipIf(!disk)("embedded store on a full disk", () => {
  it("refuses writes with a clear Unavailable, keeps answering reads, loses nothing and recovers", async () => {
    const s = await startTestServer({ dataDir: path.join(disk!, "data") });
    try {
      const filler = path.join(disk!, "filler");
      const created: string[] = [];
      const name = "n".repeat(190);
      let refused: Awaited<ReturnType<typeof rest>> | undefined;
      // Fill the disk, leaving the store to run into it.
      try {
        writeFileSync(filler, Buffer.alloc(64 * 1024 * 1024));
      } catch {
        /* ENOSPC: as intended, the file holds what fitted */
      }
      for (let i = 0; i < 5000 && !refused; i++) {
        const r = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: `full-${i}`, name, description: name.repeat(2) } });
        if (r.status === 200) created.push(r.json.userId as string);
        else refused = r;
      }
      expect(refused?.status).toBe(503);
      expect(refused?.json).toMatchObject({ code: 14, message: "storage is full; writes are refused until space is freed (STORE-full)" });
      // Reads still work.
      expect((await rest(s.url, "GET", "/management/v1/orgs/me", { token: s.pat })).status).toBe(200);
      for (const id of created.slice(-3)) expect((await rest(s.url, "GET", `/management/v1/users/${id}`, { token: s.pat })).status).toBe(200);
      // Space freed: writes work again without a restart.
      rmSync(filler);
      expect((await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "after-full", name: "A" } })).status).toBe(200);
      await s.stop();

      // Nothing acknowledged was lost and nothing half-written: a restart finds it all, and a rebuild agrees.
      const again = await startTestServer({ dataDir: path.join(disk!, "data") });
      try {
        const list = await rest(again.url, "POST", "/management/v1/users/_search", { token: again.pat, body: {} });
        expect(Number(list.json.details.totalResult)).toBe(created.length + 2); // + admin + after-full
        const snap = async () => {
          const out: Record<string, unknown[]> = {};
          for (const t of PROJECTION_TABLES) out[t] = await again.rt.sql.query(`SELECT * FROM ${t} ORDER BY 1, 2, 3`);
          return out;
        };
        const before = await snap();
        await rebuildProjections(again.rt.sql);
        expect(await snap()).toEqual(before);
      } finally {
        await again.stop();
      }
    } finally {
      await s.stop();
    }
  });
});

describe.skipIf(!disk)("embedded store on a read-only file system", () => {
  it("refuses to start on a read-only data directory with one clear line", async () => {
    const dir = path.join(disk!, "ro-start");
    execFileSync("mkdir", ["-p", dir]);
    execFileSync("mount", ["-o", "remount,ro", disk!]);
    try {
      const p = runCli(["start"], { PORTCULLIS_DATA_DIR: dir, PORTCULLIS_PORT: "0" });
      let stderr = "";
      p.stderr!.on("data", (d: Buffer) => (stderr += d));
      const code = await new Promise((r) => p.once("exit", r));
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(`portcullis: data directory ${dir} is not writable (EROFS); give Portcullis a writable PORTCULLIS_DATA_DIR`);
    } finally {
      execFileSync("mount", ["-o", "remount,rw", disk!]);
    }
  });
});
