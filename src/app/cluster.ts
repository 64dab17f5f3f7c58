import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import { EVENTS_CHANNEL, type CommitNotice, type EventStore } from "../store/event-store.js";
import type { SqlPort } from "../store/sql.js";

export const ACKS_CHANNEL = "portcullis_acks";

/** How often a process proves to itself that its LISTEN connection delivers. */
const HEARTBEAT_MS = 500;
/** A process trusts its caches only while its latest heartbeat echo was sent less than this ago. */
const FENCE_MS = 1_500;
/** A writer waits at most this long for acknowledgements; longer than FENCE_MS, so silent peers have fenced themselves. */
const ACK_TIMEOUT_MS = 2_000;
/** A node that has not heartbeaten for this long is no longer waited for. */
const PEER_ALIVE = "3 seconds";

export interface Cluster {
  readonly node: number;
  /** Whether this process's caches reflect every committed write (false: read from the database). */
  trusted(): boolean;
  close(): Promise<void>;
}

export interface ClusterHooks {
  /** Another process committed: evict what it touched (synchronously). */
  onNotice(notice: CommitNotice): void;
  /** Notifications may have been missed: drop every cache. */
  onGap(): void;
}

/**
 * Keeps the promise "once a write is acknowledged, no instance acts on the old state" across
 * processes sharing one PostgreSQL, without a database read per request:
 *
 * 1. Every commit NOTIFYs the aggregates it touched; every process evicts them and acknowledges.
 * 2. The writer does not answer until every live peer has acknowledged (or ACK_TIMEOUT_MS passed).
 * 3. A peer that cannot hear notifications stops trusting its cache: each process NOTIFYs itself a
 *    heartbeat every HEARTBEAT_MS and trusts its cache only while its latest echo was sent less than
 *    FENCE_MS ago. Notifications arrive in commit order, so a peer that missed a commit cannot
 *    have heard a heartbeat sent after it, and is fenced before the writer stops waiting.
 *
 * PGlite is one process: no peers, always trusted.
 */
export async function joinCluster(sql: SqlPort, store: EventStore, node: number, hooks: ClusterHooks, log: Logger): Promise<Cluster> {
  if (sql.dialect === "pglite") return { node, trusted: () => true, close: async () => undefined };

  let lastEchoSentAt = -Infinity;
  const acks = new Map<string, Set<number>>();
  const waiters = new Map<string, () => void>();
  const ackTimes = new Map<string, number>();

  const forgetOldAcks = () => {
    const cutoff = performance.now() - 10_000;
    for (const [c, t] of ackTimes) if (t < cutoff) {
      ackTimes.delete(c);
      acks.delete(c);
    }
  };

  await sql.query("DELETE FROM nodes WHERE last_seen < now() - interval '1 hour'");

  const unlistenAcks = await sql.listen(ACKS_CHANNEL, (payload) => {
    const [commitId, acker] = payload.split("|");
    if (!commitId || !acker || !commitId.startsWith(`${node}:`)) return;
    let set = acks.get(commitId);
    if (!set) acks.set(commitId, (set = new Set()));
    set.add(Number(acker));
    ackTimes.set(commitId, performance.now());
    waiters.get(commitId)?.();
  });

  const unlistenEvents = await sql.listen(
    EVENTS_CHANNEL,
    (payload) => {
      let msg: Partial<CommitNotice> & { hb?: number; t?: number };
      try {
        msg = JSON.parse(payload) as typeof msg;
      } catch {
        hooks.onGap();
        return;
      }
      if (msg.hb !== undefined) {
        if (msg.hb === node && typeof msg.t === "number") lastEchoSentAt = Math.max(lastEchoSentAt, msg.t);
        return;
      }
      if (!msg.c || !msg.a || !msg.i) return;
      if (msg.c.startsWith(`${node}:`)) return; // our own commit: evicted in-process already
      hooks.onNotice(msg as CommitNotice);
      sql.query("SELECT pg_notify($1, $2)", [ACKS_CHANNEL, `${msg.c}|${node}`]).catch(() => undefined);
    },
    () => hooks.onGap(),
  );

  const heartbeat = async () => {
    const sentAt = performance.now();
    try {
      await sql.query("UPDATE nodes SET last_seen = now() WHERE node_id = $1", [node]);
      await sql.query("SELECT pg_notify($1, $2)", [EVENTS_CHANNEL, JSON.stringify({ hb: node, t: sentAt })]);
    } catch (e) {
      log.debug({ err: e }, "cluster heartbeat failed");
    }
    forgetOldAcks();
  };
  await heartbeat();
  const timer = setInterval(() => void heartbeat(), HEARTBEAT_MS);
  timer.unref();

  store.setBarrier(async (commitId) => {
    let peers: number[];
    try {
      const rows = await sql.query<{ node_id: string | number }>(
        `SELECT node_id FROM nodes WHERE node_id <> $1 AND last_seen > now() - interval '${PEER_ALIVE}'`,
        [node],
      );
      peers = rows.map((r) => Number(r.node_id));
    } catch {
      // Cannot see the peers: wait the full window, after which any peer that missed the commit is fenced.
      peers = [-1];
    }
    if (peers.length === 0) return;
    const done = () => peers.every((p) => acks.get(commitId)?.has(p));
    if (done()) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(finish, ACK_TIMEOUT_MS);
      function finish() {
        clearTimeout(t);
        waiters.delete(commitId);
        resolve();
      }
      waiters.set(commitId, () => {
        if (done()) finish();
      });
    });
  });

  return {
    node,
    trusted: () => performance.now() - lastEchoSentAt < FENCE_MS,
    async close() {
      clearInterval(timer);
      await unlistenEvents();
      await unlistenAcks();
      await sql.query("DELETE FROM nodes WHERE node_id = $1", [node]).catch(() => undefined);
    },
  };
}
