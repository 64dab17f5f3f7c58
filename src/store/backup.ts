import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { lockDataDir } from "./data-dir-lock.js";
import { compiledModuleOption, pgliteStartParams } from "./pglite-cluster.js";

/**
 * Backup and restore of the embedded store. A backup is PGlite's `dumpDataDir` (a gzipped tar of the
 * whole cluster) taken after a CHECKPOINT while no other statement runs (SqlPort.dump), so it is a
 * consistent snapshot even while the server serves requests. A restore loads it into a new directory
 * beside the current one, reads what the caller must check (the master-key fingerprint), and only
 * then swaps the directories, under the data-directory lock (the server must be stopped).
 */

/** What a backup says about its master key (system_settings). */
export interface BackupKeyInfo {
  /** The fingerprint of the key it was made with. */
  masterkeyCheck: string | undefined;
  /** The generated master key is stored in it (no PORTCULLIS_MASTERKEY was set). */
  storesMasterkey: boolean;
}

const GZIP = Buffer.from([0x1f, 0x8b]);

export class BackupRefused extends Error {
  override readonly name = "BackupRefused";
}

/**
 * Replaces the embedded store in `root` (the data directory) by the backup. `accept` sees the
 * backup's key information before anything is replaced and throws to refuse. The previous store is
 * kept as `pgdata.before-restore-<time>` (delete it once the restored server runs).
 */
export async function restoreEmbedded(root: string, archive: Buffer, accept: (k: BackupKeyInfo) => void): Promise<{ keptAs: string | undefined }> {
  if (archive.length < 2 || !archive.subarray(0, 2).equals(GZIP)) throw new BackupRefused("restore refused: the file is not a Portcullis embedded backup (gzipped tar)");
  const lock = await lockDataDir(root, { maxWaitMs: 0 });
  const staging = path.join(root, `pgdata.restoring-${randomUUID().slice(0, 8)}`);
  try {
    const reuse = await compiledModuleOption(); // sets the baseline compiler flags too
    let db: PGlite;
    try {
      db = await PGlite.create({ dataDir: staging, loadDataDir: new Blob([archive], { type: "application/x-gzip" }), ...reuse, startParams: pgliteStartParams(PGlite) });
    } catch (e) {
      throw new BackupRefused(`restore refused: the backup does not open as a database (${(e as Error).message})`);
    }
    let info: BackupKeyInfo;
    try {
      const rows = await db
        .query<{ key: string; value: string }>("SELECT key, value FROM system_settings WHERE key IN ('masterkey', 'masterkey_check')")
        .catch(() => {
          throw new BackupRefused("restore refused: the backup holds no Portcullis database");
        });
      const m = new Map(rows.rows.map((r) => [r.key, r.value]));
      info = { masterkeyCheck: m.get("masterkey_check"), storesMasterkey: m.has("masterkey") };
    } finally {
      await db.close();
    }
    accept(info);
    const current = path.join(root, "pgdata");
    let keptAs: string | undefined;
    if (fs.existsSync(current)) {
      keptAs = path.join(root, `pgdata.before-restore-${new Date().toISOString().replace(/[:.]/g, "-")}`);
      fs.renameSync(current, keptAs);
    }
    fs.renameSync(staging, current);
    return { keptAs };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
    lock.release();
  }
}
