import type { Queryable } from "./sql.js";

/**
 * The RFC 7523 assertions already used (jwt-bearer grants, private_key_jwt client authentication,
 * external tokens of workload federation). Where the marks live depends on the store:
 * - PostgreSQL: this file, the `used_assertions` table, shared by every process on the database: an
 *   assertion spent on one process is refused by all. Each row is an id the app layer derives from
 *   the assertion (a digest, never the assertion) and lives until the assertion could no longer be
 *   accepted anyway; rows that ended are deleted at most once per `pruneEveryMs` per process.
 * - Embedded store (one process per data directory): `used-assertion-log.ts`, the same interface
 *   over a map in memory and an append-only file in the data directory; the table is only read
 *   once at open (marks written by earlier versions).
 *
 * Claims are group-committed: the claims that arrive while one statement runs go together in the
 * next (one statement, one commit), each answered only once its statement has committed. A claim is never answered true before its mark is durable.
 */
export interface UsedAssertions {
  /**
   * Marks `id` used until `untilMs`; false when a mark still live at `nowMs` exists. One statement
   * (insert, or take over a mark that has ended; a live one conflicts and stays as it is), so of two
   * processes claiming the same id at once exactly one gets true.
   */
  claim(instanceId: string, id: string, untilMs: number, nowMs: number): Promise<boolean>;
  /** Deletes the marks that ended at or before `nowMs`; resolves to how many. */
  prune(nowMs: number): Promise<number>;
}

interface Pending {
  instanceId: string;
  id: string;
  untilMs: number;
  nowMs: number;
  resolve: (claimed: boolean) => void;
  reject: (e: unknown) => void;
}

/** Rows per statement (3 parameters each). */
const MAX_BATCH = 500;

export function createUsedAssertions(db: Queryable, opts: { pruneEveryMs?: number; onPruneError?: (e: unknown) => void } = {}): UsedAssertions {
  const pruneEveryMs = opts.pruneEveryMs ?? 60_000;
  let lastPrune = Number.NEGATIVE_INFINITY;
  let pending: Pending[] = [];
  let running = false;

  const schedule = () => {
    if (running) return;
    running = true;
    // After the requests the event loop has already taken in have queued their claims.
    setImmediate(() => void flush());
  };

  const flush = async () => {
    const batch = pending.slice(0, MAX_BATCH);
    pending = pending.slice(batch.length);
    // The same id twice in one batch (a replay racing itself): the first one decides, the rest lose.
    const first = new Map<string, Pending>();
    const losers: Pending[] = [];
    for (const p of batch) {
      const key = `${p.instanceId}\u0000${p.id}`;
      if (first.has(key)) losers.push(p);
      else first.set(key, p);
    }
    const rows = [...first.values()];
    // A mark is taken over only when it ended before the earliest claim of the batch (conservative).
    const nowMs = Math.min(...rows.map((p) => p.nowMs));
    const values = rows.map((_, i) => `($${i * 3 + 2}, $${i * 3 + 3}, $${i * 3 + 4})`).join(", ");
    const params: unknown[] = [new Date(nowMs)];
    for (const p of rows) params.push(p.instanceId, p.id, new Date(p.untilMs));
    try {
      const claimed = await db.query<{ instance_id: string; id: string }>(
        `INSERT INTO used_assertions AS u (instance_id, id, expires_at) VALUES ${values}
         ON CONFLICT (instance_id, id) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE u.expires_at <= $1
         RETURNING u.instance_id, u.id`,
        params,
      );
      const won = new Set(claimed.map((r) => `${r.instance_id}\u0000${r.id}`));
      for (const [key, p] of first) p.resolve(won.has(key));
      for (const p of losers) p.resolve(false);
    } catch (e) {
      for (const p of batch) p.reject(e);
    } finally {
      running = false;
      if (pending.length > 0) schedule();
    }
  };

  const used: UsedAssertions = {
    claim(instanceId, id, untilMs, nowMs) {
      if (nowMs - lastPrune >= pruneEveryMs) {
        lastPrune = nowMs;
        used.prune(nowMs).catch((e: unknown) => opts.onPruneError?.(e));
      }
      return new Promise<boolean>((resolve, reject) => {
        pending.push({ instanceId, id, untilMs, nowMs, resolve, reject });
        schedule();
      });
    },
    async prune(nowMs) {
      const rows = await db.query<{ n: number }>("WITH d AS (DELETE FROM used_assertions WHERE expires_at <= $1 RETURNING 1) SELECT count(*)::int AS n FROM d", [
        new Date(nowMs),
      ]);
      return Number(rows[0]?.n ?? 0);
    },
  };
  return used;
}
