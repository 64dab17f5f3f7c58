import type { Queryable } from "./sql.js";

/**
 * The RFC 7523 assertions already used (jwt-bearer grants, private_key_jwt client authentication),
 * shared by every process on the database: an assertion spent on one process is refused by all.
 * Each row is an id the app layer derives from the assertion (a digest, never the assertion) and
 * lives until the assertion could no longer be accepted anyway; rows that ended are deleted at most
 * once per `pruneEveryMs` per process. On PGlite (one process) the same table also outlives a restart.
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

export function createUsedAssertions(db: Queryable, opts: { pruneEveryMs?: number; onPruneError?: (e: unknown) => void } = {}): UsedAssertions {
  const pruneEveryMs = opts.pruneEveryMs ?? 60_000;
  let lastPrune = Number.NEGATIVE_INFINITY;
  const used: UsedAssertions = {
    async claim(instanceId, id, untilMs, nowMs) {
      if (nowMs - lastPrune >= pruneEveryMs) {
        lastPrune = nowMs;
        used.prune(nowMs).catch((e: unknown) => opts.onPruneError?.(e));
      }
      const rows = await db.query(
        `INSERT INTO used_assertions AS u (instance_id, id, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (instance_id, id) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE u.expires_at <= $4
         RETURNING 1 AS claimed`,
        [instanceId, id, new Date(untilMs), new Date(nowMs)],
      );
      return rows.length === 1;
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
