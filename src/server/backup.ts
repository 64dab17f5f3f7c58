import fs from "node:fs";
import path from "node:path";
import type { Config } from "../config/schema.js";
import { deriveKeys } from "../crypto/keys.js";
import { BackupRefused, restoreEmbedded, type BackupKeyInfo } from "../store/backup.js";
import { DataDirLockedError } from "../store/data-dir-lock.js";
import { openPglite } from "../store/pglite-adapter.js";
import { StartupError } from "./system.js";

/**
 * `portcullis backup <file>` and `portcullis restore <file>` for the embedded store. A stopped store
 * is opened directly; a running server holds the data-directory lock, so the backup is asked of it
 * (GET /portcullis/v1/backup with an IAM_OWNER's token: --token, PORTCULLIS_TOKEN, or the first
 * instance's PAT file). Either way the snapshot is PGlite's dumpDataDir after a CHECKPOINT with no
 * statement running: consistent. PostgreSQL: pg_dump / pg_restore (README).
 */

export interface BackupOptions {
  /** The running server (default: this config's host and port on loopback). */
  serverUrl?: string;
  token?: string;
}

const PG_BACKUP = "this configuration uses PostgreSQL (databaseUrl): back up with pg_dump and restore with pg_restore, see the README (Backup and restore)";

function writeAtomically(file: string, data: Buffer) {
  const tmp = `${file}.partial`;
  fs.writeFileSync(tmp, data, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export async function backupCommand(config: Config, file: string, opts: BackupOptions = {}): Promise<string> {
  if (config.databaseUrl) throw new StartupError(PG_BACKUP);
  if (!fs.existsSync(path.join(config.dataDir, "pgdata"))) throw new StartupError(`no embedded store in ${config.dataDir} (set PORTCULLIS_DATA_DIR)`);
  let sql;
  try {
    sql = await openPglite(config.dataDir, { fsync: config.db.embeddedFsync });
  } catch (e) {
    if (!(e instanceof DataDirLockedError)) throw e;
    const data = await backupFromServer(config, opts);
    writeAtomically(file, data);
    return `backup of the running server written to ${file} (${data.length} bytes)`;
  }
  try {
    const data = await sql.dump!();
    writeAtomically(file, data);
    return `backup written to ${file} (${data.length} bytes)`;
  } finally {
    await sql.close();
  }
}

async function backupFromServer(config: Config, opts: BackupOptions): Promise<Buffer> {
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const base = opts.serverUrl ?? `${config.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${config.port}`;
  let token = opts.token ?? process.env.PORTCULLIS_TOKEN;
  if (!token && fs.existsSync(config.firstInstance.patPath)) token = fs.readFileSync(config.firstInstance.patPath, "utf8").trim();
  if (!token)
    throw new StartupError(`the server is running (data directory locked): pass an IAM_OWNER's token with --token or PORTCULLIS_TOKEN to back it up through ${base}`);
  let res: Response;
  try {
    res = await fetch(`${base}/portcullis/v1/backup`, { headers: { authorization: `Bearer ${token}` } });
  } catch (e) {
    throw new StartupError(`the data directory is locked by a running server, which did not answer at ${base} (${(e as Error).message}); pass --server-url`);
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { message?: string };
    throw new StartupError(`the running server refused the backup: HTTP ${res.status}${body.message ? ` ${body.message}` : ""}`);
  }
  return Buffer.from(await res.arrayBuffer());
}

/** The restore's master-key check: the key configured now must be the one the backup was made with. */
export function checkBackupKey(config: Config, info: BackupKeyInfo): void {
  if (!info.masterkeyCheck) throw new BackupRefused("restore refused: the backup holds no master-key fingerprint");
  if (config.masterkey) {
    const keys = deriveKeys(config.masterkey, config.masterkeyPrevious ?? []);
    if (info.masterkeyCheck !== keys.check && !keys.previous.some((k) => k.check === info.masterkeyCheck))
      throw new BackupRefused("restore refused: PORTCULLIS_MASTERKEY is not the master key this backup was made with (fingerprints differ); set that key to restore it");
  } else if (!info.storesMasterkey) {
    throw new BackupRefused("restore refused: this backup was made with PORTCULLIS_MASTERKEY; set the same key to restore it");
  }
}

export async function restoreCommand(config: Config, file: string): Promise<string> {
  if (config.databaseUrl) throw new StartupError(PG_BACKUP);
  if (!fs.existsSync(file)) throw new StartupError(`restore refused: ${file} does not exist`);
  try {
    const r = await restoreEmbedded(config.dataDir, fs.readFileSync(file), (info) => checkBackupKey(config, info));
    return `restored ${file} into ${config.dataDir}${r.keptAs ? `; the previous store is kept in ${r.keptAs} (delete it once the server runs)` : ""}`;
  } catch (e) {
    if (e instanceof BackupRefused) throw new StartupError(e.message);
    if (e instanceof DataDirLockedError) throw new StartupError(`restore refused: ${e.message}; stop the server first`);
    throw e;
  }
}
