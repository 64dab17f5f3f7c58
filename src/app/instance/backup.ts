import { DomainError } from "../../domain/errors.js";
import type { Deps } from "../core/context.js";

/**
 * A consistent backup of the embedded store while the server runs (`portcullis backup` asks the
 * running server for it, since the server holds the data-directory lock). PostgreSQL is backed up
 * with pg_dump, not through the server.
 */
export async function embeddedBackup(deps: Deps): Promise<Buffer> {
  const sql = deps.store.sql;
  if (!sql.dump) throw new DomainError("FailedPrecondition", "BACKUP-pg", "this server uses PostgreSQL: back it up with pg_dump (README, Backup and restore)");
  deps.log.info("embedded backup requested");
  return sql.dump();
}
