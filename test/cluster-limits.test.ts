import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "./helpers/pg.js";
import { startServerProcess, type ServerProcess } from "./helpers/process.js";
import { tokenRequest } from "./helpers/clients.js";

/** Two processes on one PostgreSQL hold one rate limit between them: each enforces its share (issue #19). */
describe("rate limits across two processes on one PostgreSQL", () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let drop: () => Promise<void>;
  let dir: string;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    dir = mkdtempSync(path.join(os.tmpdir(), "portcullis-cluster-limits-"));
    const env = {
      PORTCULLIS_DATABASE_URL: db.url,
      PORTCULLIS_DATA_DIR: dir,
      ZITADEL_FIRSTINSTANCE_PATPATH: path.join(dir, "admin.pat"),
      PORTCULLIS_RATE_LIMIT_FAILURES_PER_MINUTE_PER_ADDRESS: "8",
    };
    [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    // Let a heartbeat (every 500 ms) of each process read the other as a live peer.
    await sleep(1500);
  });

  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it("accepts at most the configured failures per address in total", async () => {
    let failures = 0;
    let limited = 0;
    for (let i = 0; i < 24; i++) {
      const s = i % 2 === 0 ? a : b;
      const r = await tokenRequest(s.url, { grant_type: "client_credentials", scope: "openid" }, { id: `nobody-${i}`, secret: "wrong" });
      if (r.status === 401) failures++;
      if (r.status === 429) limited++;
    }
    // Per process, 8 each (16 in all); shared, 8 in all (4 each).
    expect(failures).toBeLessThanOrEqual(8);
    expect(failures).toBeGreaterThan(0);
    expect(limited).toBe(24 - failures);
  });
});
