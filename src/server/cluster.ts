import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import { EVENTS_CHANNEL, OVERFLOW_NOTICE_PREFIX, commitPrefix, type CommitNotice, type EventStore } from "../store/event-store.js";
import type { SqlPort } from "../store/sql.js";
import { noMetrics, type Metrics } from "../telemetry/instruments.js";
import { noTracing, type Span, type Tracing } from "../telemetry/tracing.js";
import type { NodeSlot } from "./node-slot.js";

export const ACKS_CHANNEL = "portcullis_acks";

/** How often a process proves to itself that its LISTEN connection delivers. */
const HEARTBEAT_MS = 500;
/** A process trusts its caches only while its latest heartbeat echo was sent less than this ago. */
const FENCE_MS = 1_500;
/** A writer waits at most this long for acknowledgements; longer than FENCE_MS, so silent peers have fenced themselves. */
const ACK_TIMEOUT_MS = 2_000;
/** A node that has not heartbeaten for this long is no longer waited for. */
const PEER_ALIVE_MS = 3_000;
const PEER_ALIVE = `${PEER_ALIVE_MS / 1000} seconds`;
/**
 * A writer uses the peer list read by its heartbeat only while that read was sent less than this
 * ago; otherwise (the refresh failed or stalls) it waits the full ACK_TIMEOUT_MS.
 */
const PEERS_MAX_AGE_MS = 2 * HEARTBEAT_MS;
/**
 * A process trusts its cache only once its nodes row has been visible without a break for this long:
 * every writer whose peer list was read before the row became visible has used that list (at most
 * PEERS_MAX_AGE_MS) and its commit notice precedes the echo that makes this process trusted (a
 * further FENCE_MS). 500 ms margin.
 */
const VISIBLE_BEFORE_TRUST_MS = PEERS_MAX_AGE_MS + FENCE_MS + 500;
/** Consecutive row updates at most this far apart keep the row visible to every peer query (margin 500 ms). */
const VISIBLE_GAP_MS = PEER_ALIVE_MS - 500;

export interface Cluster {
  /** This process's node slot now (it changes when the process registers again after a stall). */
  readonly node: number;
  /** Whether this process's caches reflect every committed write (false: read from the database). */
  trusted(): boolean;
  /** The live processes on this database (this one included), as the latest heartbeat read them; 1 for PGlite. */
  peerCount(): number;
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
export async function joinCluster(
  sql: SqlPort,
  store: EventStore,
  slot: NodeSlot,
  hooks: ClusterHooks,
  log: Logger,
  telemetry: { metrics?: Metrics; tracing?: Tracing } = {},
): Promise<Cluster> {
  const metrics = telemetry.metrics ?? noMetrics;
  const tracing = telemetry.tracing ?? noTracing;
  if (sql.dialect === "pglite")
    return {
      get node() {
        return slot.node;
      },
      trusted: () => true,
      peerCount: () => 1,
      close: () => slot.release(),
    };
  /** Commit ids and heartbeat echoes carry the registration, not only the slot: a stalled former holder of the slot is someone else. */
  const me = () => commitPrefix(slot);

  let lastEchoSentAt = -Infinity;
  /** Since when (local time) this process's row has been visible to other writers without a break. */
  let visibleSince = Infinity;
  /** When the latest successful row update was sent. */
  let lastUpdateSentAt = -Infinity;
  /** The live peers, as read by the heartbeat, and when that read was sent. */
  let livePeers: string[] = [];
  let peersReadAt = -Infinity;
  /** Commit id → the registrations (commitPrefix) that acknowledged it. */
  const acks = new Map<string, Set<string>>();
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
    if (!commitId || !acker || !commitId.startsWith(`${me()}:`)) return;
    let set = acks.get(commitId);
    if (!set) acks.set(commitId, (set = new Set()));
    set.add(acker);
    ackTimes.set(commitId, performance.now());
    waiters.get(commitId)?.();
  });

  const unlistenEvents = await sql.listen(
    EVENTS_CHANNEL,
    (payload) => {
      let msg: Partial<CommitNotice> & { hb?: string; t?: number };
      // A commit that touched too many aggregates to name them: drop every cache (push.ts).
      const overflow = payload.startsWith(OVERFLOW_NOTICE_PREFIX);
      try {
        msg = JSON.parse(overflow ? payload.slice(OVERFLOW_NOTICE_PREFIX.length) : payload) as typeof msg;
      } catch {
        hooks.onGap();
        return;
      }
      if (msg.hb !== undefined) {
        if (msg.hb === me() && typeof msg.t === "number") lastEchoSentAt = Math.max(lastEchoSentAt, msg.t);
        return;
      }
      if (!msg.c || !msg.a || !msg.i) return;
      if (msg.c.startsWith(`${me()}:`)) return; // our own commit: evicted in-process already
      if (overflow) hooks.onGap();
      hooks.onNotice(msg as CommitNotice);
      sql.query("SELECT pg_notify($1, $2)", [ACKS_CHANNEL, `${msg.c}|${me()}`]).catch(() => undefined);
    },
    () => hooks.onGap(),
  );

  /** Reads the live peers; the list is used while less than PEERS_MAX_AGE_MS old, counted from before the read. */
  const readPeers = async (): Promise<string[]> => {
    const readAt = performance.now();
    const rows = await sql.query<{ node_id: string | number; lease: string | number }>(
      `SELECT node_id, lease FROM nodes WHERE node_id <> $1 AND last_seen > now() - interval '${PEER_ALIVE}'`,
      [slot.node],
    );
    const peers = rows.map((r) => commitPrefix({ node: Number(r.node_id), lease: Number(r.lease) }));
    if (readAt > peersReadAt) {
      livePeers = peers;
      peersReadAt = readAt;
    }
    return peers;
  };

  const heartbeat = async () => {
    const sentAt = performance.now();
    try {
      const before = slot.node;
      if ((await slot.renew()) === "moved") {
        // The row was deleted as abandoned, or the slot was handed to another process while this
        // one stalled: registered again under a new slot. Writers cannot have waited for this
        // process meanwhile, so it drops its caches and trusts only once the new row has been
        // visible long enough.
        visibleSince = Infinity;
        hooks.onGap();
        log.warn({ node: before, now: slot.node }, "cluster: this process's node slot lease had lapsed; registered again under a new slot");
      } else if (sentAt > lastUpdateSentAt) {
        // Committed by now. The row stays visible to peer queries without a break if the previous
        // update (live for PEER_ALIVE after it was sent) was recent enough; else it is visible from now.
        const doneAt = performance.now();
        if (visibleSince === Infinity || doneAt - lastUpdateSentAt > VISIBLE_GAP_MS) visibleSince = doneAt;
        lastUpdateSentAt = sentAt;
      }
      await readPeers();
      await sql.query("SELECT pg_notify($1, $2)", [EVENTS_CHANNEL, JSON.stringify({ hb: me(), t: sentAt })]);
    } catch (e) {
      log.debug({ err: e }, "cluster heartbeat failed");
    }
    forgetOldAcks();
  };
  await heartbeat();
  const timer = setInterval(() => void heartbeat(), HEARTBEAT_MS);
  timer.unref();

  const barrier = async (commitId: string, span: Span) => {
    // The peer list of the latest heartbeat. A peer that joined after the list was read does not
    // trust its cache until this write's wait is over (VISIBLE_BEFORE_TRUST_MS). Too old (the
    // heartbeat is late or failing): read it now, after the commit; if that fails too, wait the full
    // window, after which any peer that missed the commit is fenced.
    let peers: string[];
    if (performance.now() - peersReadAt < PEERS_MAX_AGE_MS) peers = livePeers;
    else {
      try {
        peers = await readPeers();
      } catch {
        peers = ["unknown"];
      }
    }
    span.setAttribute("portcullis.peers", peers.length);
    if (peers.length === 0) return;
    const done = () => peers.every((p) => acks.get(commitId)?.has(p));
    if (done()) return metrics.barrierWait.observe(0);
    const started = performance.now();
    const timedOut = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => finish(true), ACK_TIMEOUT_MS);
      function finish(timeout: boolean) {
        clearTimeout(t);
        waiters.delete(commitId);
        resolve(timeout);
      }
      waiters.set(commitId, () => {
        if (done()) finish(false);
      });
    });
    metrics.barrierWait.observe((performance.now() - started) / 1000);
    if (timedOut) {
      metrics.barrierTimeouts.inc();
      span.setAttribute("portcullis.barrier_timed_out", true);
    }
  };
  store.setBarrier((commitId) => tracing.inSpan("cluster.barrier", { "portcullis.commit": commitId }, (span) => barrier(commitId, span)));

  return {
    get node() {
      return slot.node;
    },
    trusted: () => {
      const now = performance.now();
      return now - lastEchoSentAt < FENCE_MS && now - visibleSince > VISIBLE_BEFORE_TRUST_MS;
    },
    peerCount: () => livePeers.length + 1,
    async close() {
      clearInterval(timer);
      await unlistenEvents();
      await unlistenAcks();
      await slot.release();
    },
  };
}
