import { performance } from "node:perf_hooks";
import { DomainError } from "../domain/errors.js";
import type { Writer } from "../store/event-store.js";
import { MIGRATION_LOCK_KEY } from "../store/migrations.js";
import type { SqlPort } from "../store/sql.js";
import { StartupError } from "./system.js";

/**
 * A process's node slot (0..1023): the middle of every id it mints (app/core/ids.ts) and the prefix
 * of its commit ids. On PostgreSQL the slot is leased: the `nodes` row's `last_seen` is renewed by
 * the cluster heartbeat, and a slot whose row has not been renewed for `db.nodeLeaseMs` may be
 * handed to a new process. Each registration has its own number (`lease`), so a process that stalled
 * past its lease (GC pause, SIGSTOP, a frozen VM) cannot go on as if nothing happened:
 *
 * - ids: `idNode()` refuses (Unavailable) once the last renewal was *sent* more than
 *   LOCAL_SHARE of the lease ago. A takeover needs the row to be older than the whole lease by the
 *   database's clock, so every id minted under the old registration is older than any id of the
 *   next holder of the slot (given host clocks that agree to within the remaining fifth).
 * - writes: every PostgreSQL write transaction starts with `portcullis_fence(slot, lease)`, which
 *   fails (SQLSTATE PCF01) once the slot was registered again: a stalled process's write is refused.
 * - the next heartbeat's renewal finds the row gone or someone else's and registers a new slot.
 *
 * PGlite is one process per data directory (the lock file): its slot never lapses.
 */
export interface NodeSlot extends Writer {
  readonly node: number;
  readonly lease: number;
  /** The slot for a new id; throws Unavailable (`ID-fenced`) while the lease may have lapsed. */
  idNode(): number;
  /** Renews the lease; registers a new slot when this one was handed to another process ("moved"). */
  renew(): Promise<"renewed" | "moved">;
  /** Deletes this registration's row (not a successor's). */
  release(): Promise<void>;
}

/** Ids are minted only during this share of the lease after a renewal was sent (the rest is margin). */
const LOCAL_SHARE = 0.8;

/**
 * Takes a slot no live process holds: under an advisory lock, skipping slots whose row was renewed
 * within the lease. A stale row is taken over only if it is still stale when its row lock is held
 * (`clock_timestamp()`: a renewal committed while this transaction waited keeps the slot its holder's).
 */
export async function allocateNode(sql: SqlPort, leaseMs = 10_000): Promise<{ node: number; lease: number }> {
  return sql.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY + 3]);
    const live = new Set(
      (await tx.query<{ node_id: number | string }>("SELECT node_id FROM nodes WHERE last_seen > clock_timestamp() - $1 * interval '1 millisecond'", [leaseMs])).map((r) =>
        Number(r.node_id),
      ),
    );
    if (live.size >= 1024) throw new StartupError("1024 Portcullis processes are already running on this database");
    for (;;) {
      const lease = Number((await tx.query<{ n: string | number }>("SELECT nextval('node_ids') AS n"))[0]!.n);
      const node = lease % 1024;
      if (live.has(node)) continue;
      const taken = await tx.query(
        `INSERT INTO nodes (node_id, lease) VALUES ($1, $2)
         ON CONFLICT (node_id) DO UPDATE SET last_seen = now(), started_at = now(), lease = EXCLUDED.lease
         WHERE nodes.last_seen < clock_timestamp() - $3 * interval '1 millisecond'
         RETURNING node_id`,
        [node, lease, leaseMs],
      );
      if (taken.length === 1) return { node, lease };
      live.add(node); // renewed while we looked
      if (live.size >= 1024) throw new StartupError("1024 Portcullis processes are already running on this database");
    }
  });
}

/** Registers this process's node slot (see NodeSlot). */
export async function registerNode(sql: SqlPort, leaseMs: number): Promise<NodeSlot> {
  const embedded = sql.dialect === "pglite";
  const valid = leaseMs * LOCAL_SHARE;
  let sentAt = performance.now();
  let current = await allocateNode(sql, leaseMs);
  let heldUntil = embedded ? Infinity : sentAt + valid;
  let renewing: Promise<"renewed" | "moved"> | undefined;

  const renewOnce = async (): Promise<"renewed" | "moved"> => {
    sentAt = performance.now();
    const rows = await sql.query("UPDATE nodes SET last_seen = now() WHERE node_id = $1 AND lease = $2 RETURNING node_id", [current.node, current.lease]);
    if (rows.length === 1) {
      heldUntil = Math.max(heldUntil, sentAt + valid);
      return "renewed";
    }
    // Deleted as abandoned, or handed to another process while this one stalled: a new slot.
    current = await allocateNode(sql, leaseMs);
    heldUntil = sentAt + valid;
    return "moved";
  };

  return {
    get node() {
      return current.node;
    },
    get lease() {
      return current.lease;
    },
    idNode() {
      if (performance.now() >= heldUntil)
        throw new DomainError("Unavailable", "ID-fenced", "this process's node slot lease lapsed; it renews its slot before minting ids again");
      return current.node;
    },
    renew() {
      if (embedded) return Promise.resolve("renewed");
      renewing ??= renewOnce().finally(() => (renewing = undefined));
      return renewing;
    },
    async release() {
      await sql.query("DELETE FROM nodes WHERE node_id = $1 AND lease = $2", [current.node, current.lease]).catch(() => undefined);
    },
  };
}
